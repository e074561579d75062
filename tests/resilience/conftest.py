"""Throwaway services that fault tests are allowed to break.

The shared PostgreSQL (5432) and Redis (6379) serve everybody else: a fault
test never touches them. Instead it starts its own PostgreSQL cluster (initdb
into a temporary folder, run as the `postgres` user when we are root), its own
`redis-server`, a gunicorn serving Sitthi with production settings and real
Celery workers, all pointed at those throwaway services, and an SMTP sink that
can refuse, stall or accept mail. Each piece can be stopped, killed and
restarted by the test.

Without the binaries the tests skip with the reason; with CI=true they fail.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.gunicorn_process import gunicorn_start
from tests.once_per_run import made_once_per_run

BASE_DIR = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() == "true"
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"

# Production settings (DEBUG off) for every process under test.
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "fault-tests-secret-" + "k" * 40,
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "SITE_URL": "http://127.0.0.1",
    "SIGNER_DATA_KEYS": "rQ6_ePK2D6yA3kXqKZgT2m8vO1w4ykVm7hQ3bF9sLxE=",
    "SIGNER_HASH_KEY": "fault-tests-hash-" + "h" * 30,
    "RECORD_SIGNING_KEY": "jJXkQrjcX8gu9w41WlUCE7dUic9Urm7/eekvhjPHMKY",
    # Behind a TLS proxy, as in production: requests carry X-Forwarded-Proto.
    "SECURE_PROXY_SSL_HEADER": "true",
    "DEFAULT_FROM_EMAIL": "Sitthi <noreply@sitthi.test>",
    "EMAIL_TIMEOUT": "3",
    "PYTHONUNBUFFERED": "1",
    "LOG_LEVEL": "INFO",
}
HTTPS = {"X-Forwarded-Proto": "https"}


def missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(check: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _clean_environ() -> dict[str, str]:
    # The test run's own settings (the shared services) must not leak into
    # the processes under test. Each of them is a new Python importing
    # Django, Celery and the apps: where PYTHONDONTWRITEBYTECODE is set (this
    # machine) the apps' bytecode would be compiled again in every one of
    # them (the libraries' comes compiled from `make install`).
    drop = {"DATABASE_URL", "REDIS_URL", "EMAIL_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "DEBUG",
            "PYTHONDONTWRITEBYTECODE"}  # fmt: skip
    return {k: v for k, v in os.environ.items() if k not in drop}


# --- PostgreSQL -------------------------------------------------------------


@dataclass
class ThrowawayPostgres:
    """A PostgreSQL cluster of our own, on a free port, in a temporary folder."""

    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}")
        return result

    def initdb(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-sync", "--no-instructions")  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c max_connections=60"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "-t", "60", "start")  # fmt: skip

    def stop(self) -> None:
        """Fast shutdown, as for maintenance: open connections are cut."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop",
                  check=False)  # fmt: skip

    def restart(self) -> None:
        self.stop()
        self.start()

    def is_up(self) -> bool:
        return self._run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port), check=False
                         ).returncode == 0  # fmt: skip

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def sql(self, query: str, params: tuple = (), database: str = "postgres") -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(query, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []


def _migrated_cluster(golden: Path) -> None:
    """initdb, and migrate the template database: the data folder every
    cluster of the run starts from, built where `postgres` may write and
    moved into `golden` (pytest's temporary folders are root's alone)."""
    root = Path(tempfile.mkdtemp(prefix="sitthi-fault-pg-"))
    try:
        _give_to_postgres(root)
        cluster = ThrowawayPostgres(root=root, port=free_port())
        cluster.initdb()
        cluster.start()
        try:
            cluster.sql("CREATE DATABASE sitthi_template")
            result = subprocess.run(
                [sys.executable, "manage.py", "migrate", "--noinput"],
                cwd=BASE_DIR,
                env={
                    **_clean_environ(),
                    **PRODUCTION_ENV,
                    "DATABASE_URL": cluster.url("sitthi_template"),
                },
                capture_output=True,
                text=True,
                timeout=300,
            )
            if result.returncode != 0:
                raise RuntimeError(f"migrate failed: {result.stdout}{result.stderr}")
        finally:
            cluster.stop()
        shutil.move(cluster.data, golden / "data")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _give_to_postgres(folder: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    folder.chmod(0o755)


@pytest.fixture(scope="session")
def fault_run_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The migrated cluster and the collected static files, built once a run
    and side by side: migrate and collectstatic are separate processes of
    many seconds each, and neither needs the other."""
    tmp_path_factory.getbasetemp()  # created once, before the threads ask for it
    with ThreadPoolExecutor(max_workers=2) as pool:
        golden = pool.submit(
            made_once_per_run, tmp_path_factory, "fault-pg-golden", _migrated_cluster
        )
        static = pool.submit(made_once_per_run, tmp_path_factory, "fault-static", _collect_static)
        return {"golden": golden.result() / "data", "static": static.result()}


@pytest.fixture(scope="session")
def fault_postgres(request: pytest.FixtureRequest) -> Iterator[ThrowawayPostgres]:
    """One throwaway cluster per test process, with a migrated template database.

    Tests stop and restart it, so test processes never share one; they share
    only the migrated files it starts from."""
    if not (PG_BIN / "initdb").exists():
        missing(f"fault tests need PostgreSQL binaries in {PG_BIN}")
    if os.geteuid() == 0 and not shutil.which("runuser"):
        missing("fault tests run as root need `runuser` to start PostgreSQL as postgres")
    golden: Path = request.getfixturevalue("fault_run_files")["golden"]
    root = Path(tempfile.mkdtemp(prefix="sitthi-fault-pg-"))
    _give_to_postgres(root)
    cluster = ThrowawayPostgres(root=root, port=free_port())
    # cp -a keeps the owner (postgres) and the 0700 mode PostgreSQL insists on.
    subprocess.run(["cp", "-a", str(golden), str(cluster.data)], check=True, timeout=120)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def cloned_database(cluster: ThrowawayPostgres) -> Iterator[str]:
    """A fresh database cloned from the migrated template: its URL."""
    name = f"sitthi_{os.getpid()}_{time.monotonic_ns()}"
    if not cluster.is_up():  # a failed test may have left it stopped
        cluster.start()
    cluster.sql(f'CREATE DATABASE "{name}" TEMPLATE sitthi_template')
    yield cluster.url(name)
    if not cluster.is_up():
        cluster.start()
    cluster.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fault_database(fault_postgres: ThrowawayPostgres) -> Iterator[str]:
    with cloned_database(fault_postgres) as url:
        yield url


# --- Redis ------------------------------------------------------------------


@dataclass
class ThrowawayRedis:
    """A `redis-server` of our own with no persistence: a restart empties it."""

    port: int
    process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--loglevel",
                "warning",
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.is_up, 15, "redis to accept connections")

    def stop(self, kill: bool = False) -> None:
        """SIGKILL (a crash) or SIGTERM; either way what was queued in it is gone."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            self.process.wait(timeout=15)
        self.process = None

    def restart(self) -> None:
        self.stop(kill=True)
        self.start()

    def is_up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


@contextmanager
def running_redis() -> Iterator[ThrowawayRedis]:
    if not Path(REDIS_SERVER).exists():
        missing("fault tests need `redis-server` (apt-get install redis-server)")
    server = ThrowawayRedis(port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop(kill=True)


@pytest.fixture
def fault_redis() -> Iterator[ThrowawayRedis]:
    with running_redis() as server:
        yield server


# --- SMTP -------------------------------------------------------------------


@dataclass
class FaultySmtp:
    """A real SMTP server that can accept, refuse (451) or stall mail.

    `stall` keeps a client waiting after RCPT (before any data) until
    `release()`: a test can kill the worker in the middle of sending.
    `silent` never answers DATA in time: the client times out.
    Mail to `SETTLED_TO` (see `settled()`) is kept apart, in `markers`.
    """

    host: str
    port: int
    mode: str = "accept"  # accept | refuse | silent | stall
    received: list[EmailMessage] = field(default_factory=list)
    markers: list[EmailMessage] = field(default_factory=list)
    attempts: int = 0
    stalled: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def release(self) -> None:
        self.released.set()

    def message_ids(self) -> list[str]:
        return [str(message["Message-ID"]) for message in self.received]

    def wait_for(self, count: int, timeout: float = 120) -> list[EmailMessage]:
        wait_until(lambda: len(self.received) >= count, timeout, f"{count} e-mails")
        return list(self.received)


class _FaultyHandler:
    def __init__(self, sink: FaultySmtp) -> None:
        self.sink = sink

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:  # fmt: skip
        self.sink.attempts += 1
        if self.sink.mode == "stall":
            self.sink.stalled.set()
            while not self.sink.released.is_set():
                await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.sink.mode == "refuse":
            return "451 4.3.0 Try again later"
        if self.sink.mode == "silent":
            await asyncio.sleep(30)
            return "451 4.3.0 Too slow"
        message = message_from_bytes(envelope.content)
        if envelope.rcpt_tos == [SETTLED_TO]:
            self.sink.markers.append(message)
        else:
            self.sink.received.append(message)
        return "250 Message accepted"


# The address of the mail `settled()` sends behind everything else.
SETTLED_TO = "settled@sitthi.test"
QUEUE_MARKER = """
from django.db import transaction
from outbox.services import message_queue
with transaction.atomic():
    message_queue(key={key!r}, to={to!r}, subject="Settled", text="Settled")
"""


def settled(stack: FaultStack, smtp: FaultySmtp, *, idle: bool = False) -> None:
    """Wait until everything queued so far has been handled, a duplicate
    included, were one coming: instead of sleeping "long enough", queue one
    more mail and wait for it. One worker takes one task at a time (prefetch
    1, concurrency 1, late acknowledgement), in the order they were queued,
    so when this mail arrives every task queued before it has finished.
    With several workers alive, `idle` also waits until no task is left in
    the queue or taken and unacknowledged (one ahead of the marker may still
    be running on another worker)."""
    before = len(smtp.markers)
    stack.python(QUEUE_MARKER.format(key=f"test:settled-{time.monotonic_ns()}", to=SETTLED_TO))
    wait_until(lambda: len(smtp.markers) > before, 120, "the marker mail queued behind the rest")
    if idle:
        wait_until(lambda: stack.tasks_waiting() == 0, 120, "no task queued or running")


@contextmanager
def running_smtp() -> Iterator[FaultySmtp]:
    from aiosmtpd.controller import Controller

    sink = FaultySmtp(host="127.0.0.1", port=free_port())
    controller = Controller(_FaultyHandler(sink), hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        sink.release()
        controller.stop()


@pytest.fixture
def fault_smtp() -> Iterator[FaultySmtp]:
    with running_smtp() as sink:
        yield sink


# --- Sitthi itself: environment, gunicorn, workers, one-off Python -----------


def _collect_static(root: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=BASE_DIR,
        env={
            **_clean_environ(),
            **PRODUCTION_ENV,
            "STATIC_ROOT": str(root),
            "DJANGO_SETTINGS_MODULE": "tests.resilience.collect_static_settings",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"collectstatic failed: {result.stdout}{result.stderr}")


@pytest.fixture(scope="session")
def collected_static(fault_run_files: dict[str, Path]) -> Path:
    """collectstatic once a run: production settings serve hashed files through WhiteNoise."""
    return fault_run_files["static"]


# Reads snippets ("<bytes>\n<code>", UTF-8) from stdin, runs each, and answers
# "<ok|error> <bytes>\n<what it printed, or the traceback>". Answers go to a
# copy of the original stdout; whatever else writes to file descriptor 1 ends
# up in the log with stderr, not in the answers.
SNIPPET_RUNNER = """
import contextlib, io, os, sys, traceback
answers = os.fdopen(os.dup(1), "wb")
os.dup2(2, 1)
commands = sys.stdin.buffer
import django
django.setup()
from django.core.cache import caches
from django.db import connections

while header := commands.readline():
    code = commands.read(int(header)).decode()
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(code, "<snippet>", "exec"), {"__name__": "__snippet__"})
        status = "ok"
    except BaseException:
        status = "error"
        printed.write(traceback.format_exc())
    finally:
        connections.close_all()
        for cache in caches.all(initialized_only=True):
            cache.close()
    output = printed.getvalue().encode()
    answers.write(f"{status} {len(output)}\\n".encode() + output)
    answers.flush()
"""


def _runner_answer(runner: subprocess.Popen) -> tuple[str, str] | None:
    assert runner.stdout
    header = runner.stdout.readline()
    if not header:
        return None
    status, length = header.decode().split()
    return status, runner.stdout.read(int(length)).decode()


@dataclass
class FaultStack:
    """Environment and processes of one Sitthi under test."""

    env: dict[str, str]
    logs: Path
    processes: list[subprocess.Popen] = field(default_factory=list)
    web_url: str = ""
    _booting: list[tuple[Callable[[], Any], str]] = field(default_factory=list)
    _runner: subprocess.Popen | None = None
    _runner_env: dict[str, str] = field(default_factory=dict)

    def python(self, code: str, timeout: float = 120) -> str:
        """Run Python with Django set up against the throwaway services; its stdout.

        One long-lived process runs every snippet (setting Django up costs
        seconds); it starts again when the environment changed. Between
        snippets it drops its database and cache connections, as a web
        process does between requests; its broker connection lives on, as a
        web process's does, and reconnects after a Redis restart."""
        runner = self.warm_python()
        assert runner.stdin and runner.stdout
        encoded = code.encode()
        runner.stdin.write(f"{len(encoded)}\n".encode() + encoded)
        runner.stdin.flush()
        answer: list[tuple[str, str] | None] = []
        reader = threading.Thread(target=lambda: answer.append(_runner_answer(runner)))
        reader.start()
        reader.join(timeout)
        if reader.is_alive():
            self._stop_runner()
            raise RuntimeError(f"python timed out after {timeout}s: {code}")
        if not answer or answer[0] is None:
            self._stop_runner()
            raise RuntimeError(f"python died: {self.log_text('python')[-3000:]}")
        status, output = answer[0]
        if status != "ok":
            raise RuntimeError(f"python failed: {output}")
        return output

    def warm_python(self) -> subprocess.Popen:
        """Start the snippet process for the current environment, if it is not
        running yet, without waiting for it: it sets Django up while the test
        starts other processes, and reads its first snippet once it is ready."""
        env = {**self.env, "DJANGO_SETTINGS_MODULE": "config.settings"}
        if self._runner is None or self._runner.poll() is not None or self._runner_env != env:
            self._stop_runner()
            self._runner = subprocess.Popen(
                [sys.executable, "-c", SNIPPET_RUNNER],
                cwd=BASE_DIR,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._log("python"),
            )
            self._runner_env = env
        return self._runner

    def _stop_runner(self) -> None:
        if self._runner is not None and self._runner.poll() is None:
            self._runner.kill()
            self._runner.wait(timeout=10)
        self._runner = None

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        """Read the stack's database directly: a poll costs a query, not a
        Python process that sets Django up."""
        import psycopg

        with psycopg.connect(self.env["DATABASE_URL"], autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(query, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def _log(self, name: str) -> Any:
        return open(self.logs / f"{name}.log", "w")  # noqa: SIM115 - closed with the process

    def start_web(self, workers: int = 2, *, wait: bool = True) -> subprocess.Popen:
        """gunicorn with `workers` workers. With `wait=False` it boots while
        the test goes on; `wait_ready()` waits for it (and for every other
        process started so)."""
        process, port = gunicorn_start(
            "config.wsgi",
            "--workers",
            str(workers),
            # Production's worker, with fewer threads: each holds a
            # PostgreSQL connection, and three pytest processes share one
            # server (max_connections 100) with the concurrency tests.
            "--threads",
            "2",
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            env=self.env,
            stdout=self._log("web"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        self.web_url = f"http://127.0.0.1:{port}"

        def answering() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_text('web')[-3000:]}")
            return get(self.web_url + "/healthz")[0] in {200, 503}

        self._booting.append((answering, "gunicorn to answer"))
        if wait:
            self.wait_ready()
        return process

    def start_worker(
        self, name: str = "worker", concurrency: int = 1, *, wait: bool = True
    ) -> subprocess.Popen:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                self.env["CELERY_QUEUE"],
                "--pool",
                "prefork",
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"{name}-{os.getpid()}@%h",
            ],  # fmt: skip
            cwd=BASE_DIR,
            env=self.env,
            stdout=self._log(name),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill it with its pool children
        )
        self.processes.append(process)
        self._booting.append(
            (lambda: _worker_ready(self, name, process), f"celery worker {name} to be ready")
        )
        if wait:
            self.wait_ready()
        return process

    def wait_ready(self) -> None:
        """Wait until every process started is ready. They boot side by side,
        and the snippet process with them: each sets Django up, for seconds."""
        self.warm_python()
        while self._booting:
            check, what = self._booting[0]
            wait_until(check, 60, what)
            self._booting.pop(0)

    def tasks_waiting(self) -> int:
        """Tasks in the stack's queue, or taken by a worker and not acknowledged
        yet (the broker's `unacked` set: with late acknowledgement, a task is
        there until it has finished)."""
        import redis

        with redis.Redis.from_url(self.env["REDIS_URL"], socket_timeout=5) as client:
            return int(client.llen(self.env["CELERY_QUEUE"])) + int(client.hlen("unacked"))

    def log_text(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        """Kill every process at once: their database, broker and mail server
        are thrown away with them, so a warm shutdown (seconds of waiting for
        gunicorn's and Celery's graceful timeouts) would protect nothing."""
        self._stop_runner()
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        for process in self.processes:
            process.wait(timeout=15)


def _worker_ready(stack: FaultStack, name: str, process: subprocess.Popen) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"celery worker exited: {stack.log_text(name)[-3000:]}")
    return "ready." in stack.log_text(name)


def pool_children(process: subprocess.Popen) -> list[int]:
    """Process ids of a worker's pool children (the processes running tasks)."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def get(url: str, headers: dict[str, str] | None = None, timeout: float = 15) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={**HTTPS, **(headers or {})})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


@contextmanager
def stack_on(
    database: str, redis: ThrowawayRedis, smtp: FaultySmtp, static: Path, folder: Path
) -> Iterator[FaultStack]:
    """Sitthi on throwaway PostgreSQL, Redis and SMTP; start web and workers from it."""
    env = {
        **_clean_environ(),
        **PRODUCTION_ENV,
        "DATABASE_URL": database,
        "REDIS_URL": redis.url(0),
        "EMAIL_URL": smtp.url,
        "STATIC_ROOT": str(static),
        "MEDIA_ROOT": str(folder / "media"),
        "CELERY_QUEUE": f"fault-{os.getpid()}-{time.monotonic_ns()}",
    }
    stack = FaultStack(env=env, logs=folder)
    try:
        yield stack
    finally:
        stack.stop_all()
    # Shown by pytest only when the test failed.
    for log in sorted(folder.glob("*.log")):
        print(f"--- {log.name} (last 6000 characters)\n{log.read_text(errors='replace')[-6000:]}")


@pytest.fixture
def fault_stack(
    fault_database: str,
    fault_redis: ThrowawayRedis,
    fault_smtp: FaultySmtp,
    collected_static: Path,
    tmp_path: Path,
) -> Iterator[FaultStack]:
    with stack_on(fault_database, fault_redis, fault_smtp, collected_static, tmp_path) as stack:
        yield stack


# --- Signing through the real pages -------------------------------------------

CREATE_CAMPAIGN = """
from datetime import timedelta
from django.utils import timezone
from campaigns.models import Campaign
Campaign.objects.create(
    slug={slug!r}, status=Campaign.Status.OPEN, opens_at=timezone.now() - timedelta(days=1),
    title_km="ញត្តិទាមទារសិទ្ធិបោះឆ្នោត", title_en="The right to vote for Cambodians overseas",
    body_en="We ask for **the right to vote**.", body_km="យើងទាមទារ **សិទ្ធិបោះឆ្នោត**។",
)
"""
# Signing as fast as a test does is not a flood: the limits are tested elsewhere.
SIGNING_ENV = {
    "SIGNATURE_MIN_FILL_SECONDS": "0",
    "SIGNATURE_RATE_BURST": "100000/m",
    "SIGNATURE_RATE_SUSTAINED": "100000/h",
    "TRUSTED_PROXY_COUNT": "1",
}
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CONFIRM_LINK = re.compile(r"https?://[^\s\"<>]+?(/(?:km|en)/sign/confirm/[^\s\"<>]+?/)")


def http(
    url: str,
    *,
    data: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> tuple[int, dict[str, str], str]:
    """One request as a browser behind our TLS proxy would send it; no redirects followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={**HTTPS, **(headers or {})})  # noqa: S310
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode(errors="replace")
    except OSError:
        return 0, {}, ""


def sign_through_pages(
    web_url: str, slug: str, *, email: str, full_name: str, ip: str, lang: str = "en",
    extra: dict[str, str] | None = None,
) -> int:  # fmt: skip
    """Open the campaign page and submit its form, as a signer's browser does.
    Returns the status of the submission (302 to the thanks page when accepted)."""
    status, headers, page = http(
        f"{web_url}/{lang}/campaigns/{slug}/", headers={"X-Forwarded-For": ip}
    )
    if status != 200:
        return status
    cookie = re.search(r"csrftoken=([^;]+)", headers.get("Set-Cookie", ""))
    csrf = CSRF_FIELD.search(page)
    token = FORM_TOKEN.search(page)
    assert cookie and csrf and token, "the campaign page has no signing form"
    data = {
        "csrfmiddlewaretoken": csrf.group(1),
        "form_token": token.group(1),
        "full_name": full_name,
        "email": email,
        "country": "FR",
        "consent": "on",
        **(extra or {}),
    }
    status, _, _ = http(
        f"{web_url}/{lang}/campaigns/{slug}/sign/",
        data=data,
        headers={
            "X-Forwarded-For": ip,
            "Cookie": f"csrftoken={cookie.group(1)}",
            "Referer": web_url.replace("http:", "https:") + f"/{lang}/campaigns/{slug}/",
        },
    )
    return status


def confirmation_path(message: EmailMessage) -> str:
    """The confirm link of a confirmation e-mail, as a path on the site."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            match = CONFIRM_LINK.search(payload.decode())
            if match:
                return match.group(1)
    raise AssertionError("no confirmation link in the e-mail")


def recipient(message: EmailMessage) -> str:
    return str(message["To"])
