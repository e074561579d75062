"""The layers of the project, checked on every import in the code (module
level and inside functions alike): apps import downward only, and no two
modules of one app import each other in a circle. README.md draws the layers."""

from __future__ import annotations

import ast
import functools
import re
from collections import defaultdict
from importlib import import_module
from pathlib import Path

import pytest
from celery import current_app

ROOT = Path(__file__).resolve().parent.parent

# Each app and the apps it may import: the drawing in README.md, as data.
# `config` is the project itself: it wires everything together.
MAY_IMPORT: dict[str, set[str]] = {
    "core": set(),
    "campaigns": {"core"},
    "outbox": {"core"},
    "signatures": {"core", "campaigns", "outbox"},
    "transparency": {"core", "campaigns", "outbox", "signatures"},
    "statements": {"core", "campaigns", "outbox", "signatures"},
    "organisers": {"core", "campaigns", "outbox", "signatures", "transparency", "statements"},
    "config": {
        "core",
        "campaigns",
        "outbox",
        "signatures",
        "transparency",
        "statements",
        "organisers",
    },
}


def _modules() -> dict[str, Path]:
    modules = {}
    for app in MAY_IMPORT:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue  # a migration may name where a class lived when it was written
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Project modules `name` imports anywhere in its file."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


# Read once per process (the checks share it; parsing every module is most
# of their time) and the checks kept on one process.
pytestmark = pytest.mark.xdist_group("layers")


@functools.cache
def _graph() -> dict[str, frozenset[str]]:
    modules = _modules()
    return {name: frozenset(_imports(name, path, set(modules))) for name, path in modules.items()}


def _app(module: str) -> str:
    return module.split(".")[0]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for neighbour in graph.get(node, ()):
            if neighbour not in index:
                visit(neighbour)
                low[node] = min(low[node], low[neighbour])
            elif neighbour in on_stack:
                low[node] = min(low[node], index[neighbour])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_apps_import_only_the_layers_below_them() -> None:
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for target in targets
        if _app(target) != _app(module) and _app(target) not in MAY_IMPORT[_app(module)]
    )
    assert upward == []


def test_no_app_imports_another_in_a_circle() -> None:
    apps: dict[str, set[str]] = defaultdict(set)
    for module, targets in _graph().items():
        apps[_app(module)] |= {_app(target) for target in targets} - {_app(module)}
    assert _cycles(apps) == []


def test_no_two_modules_of_one_app_import_each_other_in_a_circle() -> None:
    graph = _graph()
    within = {
        module: {target for target in targets if _app(target) == _app(module)}
        for module, targets in graph.items()
    }
    assert _cycles(within) == []


def test_the_checker_sees_imports_inside_functions(tmp_path: Path) -> None:
    # Hiding a circle in a function, the old trick, must not fool the check.
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from signatures import services\n")
    assert _imports("campaigns.probe", probe, {"signatures.services"}) == {"signatures.services"}


QUEUED_BY_NAME = re.compile(r"""(?:after_commit|task_queue)\(\s*["']([\w.]+)["']""")


@pytest.mark.parametrize(
    "name",
    sorted(
        {name for path in _modules().values() for name in QUEUED_BY_NAME.findall(path.read_text())}
        | {"outbox.tasks.messages_drain", "signatures.tasks.submissions_drain"}
    ),
)
def test_every_task_queued_by_name_exists(name: str) -> None:
    import_module(name.rpartition(".")[0])
    assert name in current_app.tasks
