"""`python -m bench [name ...] [options]`: run the named benchmarks (all by default).

Each benchmark sets up Django for itself (its own database, settings and
environment), so when several run, each runs in a process of its own.
"""

import importlib
import subprocess
import sys

from bench import BENCHMARKS


def main(argv: list[str]) -> int:
    if any(arg in {"-h", "--help"} for arg in argv) and not any(a in BENCHMARKS for a in argv):
        print(__doc__)
        print("benchmarks:", ", ".join(BENCHMARKS))
        return 0
    names = [arg for arg in argv if arg in BENCHMARKS]
    options = [arg for arg in argv if arg not in BENCHMARKS]
    unknown = [arg for arg in options if not arg.startswith("-") and arg.isidentifier()]
    if unknown and not names:
        print(f"unknown benchmark {unknown[0]!r}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    names = names or list(BENCHMARKS)
    if len(names) == 1:
        print(f"== bench {names[0]}", flush=True)
        return 1 if importlib.import_module(BENCHMARKS[names[0]]).main(options) else 0
    failed = [
        name
        for name in names
        if subprocess.run([sys.executable, "-m", "bench", name, *options], check=False).returncode
    ]
    if failed:
        print(f"== benchmarks that failed: {', '.join(failed)}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
