"""Benchmarks a person can rerun: `make bench` or `python -m bench [name ...]`.

Each benchmark is a module with `main(argv: list[str]) -> int`. Register one
with a line in BENCHMARKS; options after the names go to every benchmark run.
"""

BENCHMARKS: dict[str, str] = {
    "signing": "bench.signing",
    "exports": "bench.exports",
    "statements": "bench.statements",
    "faults": "bench.faults",
    "requests": "bench.requests",
    "hosts": "bench.hosts",
    "record": "bench.record",
}
