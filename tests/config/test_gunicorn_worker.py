"""Production's gunicorn worker (config/gunicorn.py) takes a connection only
while it has a free thread: a client that arrives while one worker's threads
are all busy is served by another worker, not queued behind them."""

import http.client
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gunicorn_process import gunicorn_start


@pytest.fixture
def two_workers_of_one_thread(tmp_path: Path) -> Iterator[int]:
    log = (tmp_path / "gunicorn.log").open("w")
    process, port = gunicorn_start(
        "tests.config.pid_app:app",
        "--workers",
        "2",
        "--threads",
        "1",
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        pids: set[int] = set()
        deadline = time.monotonic() + 30
        while len(pids) < 2 and time.monotonic() < deadline:  # both workers up
            assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
            pids.add(_served_by(port, hold=0.05))
        assert len(pids) == 2, "gunicorn's two workers never both answered"
        yield port
    finally:
        process.kill()
        process.wait(timeout=15)
        log.close()


def _served_by(port: int, hold: float) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", f"/?hold={hold}")
    pid = int(connection.getresponse().read())
    connection.close()
    return pid


def test_a_client_arriving_while_a_workers_thread_is_busy_goes_to_the_other_worker(
    two_workers_of_one_thread: int,
) -> None:
    # Five times, so that chance cannot pass it: a worker that accepted
    # whatever it reached first would take the second client half the time.
    port = two_workers_of_one_thread
    for _attempt in range(5):
        first: list[int] = []
        holding = threading.Thread(
            target=lambda held=first: held.append(_served_by(port, hold=1.0))
        )
        holding.start()
        time.sleep(0.3)  # the first request is in its worker's only thread
        second = _served_by(port, hold=0)
        holding.join()
        assert second != first[0]
