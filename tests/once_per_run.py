"""Things a test run builds once, however many pytest-xdist processes it has."""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest


def _run_folder(factory: pytest.TempPathFactory) -> Path:
    """The folder the controller and every pytest-xdist process of this run share."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def made_once_per_run(
    factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """A folder built once per test run: the first test process to ask builds
    it, the other pytest-xdist processes of the run wait for it and reuse it."""
    base = _run_folder(factory)
    with open(base / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        return _built(base, name, build)


def _built(base: Path, name: str, build: Callable[[Path], None]) -> Path:
    """The folder, built now unless a process of the run built it already;
    called with the run's lock for it held."""
    folder = base / name
    if not (base / f"{name}.ready").exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        build(folder)
        (base / f"{name}.ready").touch()
    return folder


def made_once_per_run_beside(
    factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> threading.Thread:
    """As made_once_per_run, built in a thread of the caller (the controller
    of an xdist run) while the test processes start: its lock is taken
    before this returns, so a process that asks for the folder waits for
    this build rather than starting one of its own. If the build fails, the
    first process to ask builds it again and reports the error."""
    base = _run_folder(factory)
    lock = open(base / f"{name}.lock", "w")  # noqa: SIM115 - closed by the thread
    fcntl.flock(lock, fcntl.LOCK_EX)

    def build_then_unlock() -> None:
        try:
            _built(base, name, build)
        finally:
            lock.close()

    thread = threading.Thread(target=build_then_unlock, name=f"once-per-run-{name}", daemon=True)
    thread.start()
    return thread
