"""`python -m bench [name ...] [options]`: run the named benchmarks (all by default)."""

import importlib
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
    failures = 0
    for name in names or list(BENCHMARKS):
        print(f"== bench {name}", flush=True)
        module = importlib.import_module(BENCHMARKS[name])
        failures += 1 if module.main(options) else 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
