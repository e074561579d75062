"""Shared fixtures: real services when they are configured, eager Celery otherwise.

Tests marked `postgres`, `redis`, `worker` or `browser` need a real service.
On a laptop without it they skip with the reason; with CI=true a missing
service is a failure, never a skip.
"""

import contextlib
import functools
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from celery import _state as celery_state
from django.conf import settings
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright
from pytest_django import fixtures as pytest_django_fixtures
from pytest_django.plugin import blocking_manager_key

from config.celery import app as celery_app
from tests import flush_rows
from tests.once_per_run import made_once_per_run, made_once_per_run_beside

BASE_DIR = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _missing_service(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def _redis_up() -> bool:
    if not settings.REDIS_URL:
        return False
    parts = urlsplit(settings.REDIS_URL)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 6379), timeout=1
        ):
            return True
    except OSError:
        return False


# Tests that start servers, workers or a browser take seconds each.
SLOW_FIXTURES = {
    "fault_stack",
    "production_site",
    "hostile_site",
    "celery_worker_process",
    "live_server",
    "browser",
}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow tests first (in their order, then the rest in theirs): with
    pytest-xdist a slow test handed out last keeps one process busy while
    the others sit idle. Last of the hooks: pytest-django's own ordering is
    kept within each part."""
    _groups_are_kept(config, items)
    items.sort(
        key=lambda item: (
            not (
                SLOW_FIXTURES & set(getattr(item, "fixturenames", ()))
                or item.get_closest_marker("slow")
            )
        )
    )


def _groups_are_kept(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under `--dist loadgroup`, pytest-xdist marks a grouped test by adding
    "@group" to its node id, and hands out each group to one process. Some
    pytest releases drop that mark silently (9.2 with xdist 3.8: every test
    of a group then builds the group's costly fixture in every process), so
    a worker that sees a group not kept stops the run."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        marker = item.get_closest_marker("xdist_group")
        if marker is not None and "@" not in item.nodeid.rpartition("]")[2]:
            raise pytest.UsageError(
                f"--dist loadgroup lost the group of {item.nodeid}: this pytest and "
                "pytest-xdist do not keep xdist_group (see the pin in pyproject.toml)"
            )


def pytest_runtest_setup(item: pytest.Item) -> None:
    if (
        item.get_closest_marker("postgres")
        and settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql"
    ):
        _missing_service("this test needs PostgreSQL: set DATABASE_URL=postgres://...")
    if (item.get_closest_marker("redis") or item.get_closest_marker("worker")) and not _redis_up():
        _missing_service("this test needs Redis: set REDIS_URL=redis://...")
    if item.get_closest_marker("browser") and not Path(CHROMIUM).exists():
        _missing_service(f"this test needs Debian's chromium at {CHROMIUM}")


# The test databases need not survive a crash of PostgreSQL: a commit that
# returns before its WAL reaches the disk (synchronous_commit off) is as
# atomic and as visible to every other session, and no test crashes this
# server (the resilience tests run clusters of their own). Waiting for the
# disk cost 2.4-2.7 ms a commit here, measured, against 0.1 ms, for the
# thousands of commits of migrations, flushes, live servers and workers.
NOT_DURABLE = "-c synchronous_commit=off"


def _commits_not_durable() -> None:
    """This process's connections from now on, migrations included."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.postgresql":
        database.setdefault("OPTIONS", {})["options"] = NOT_DURABLE


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    _commits_not_durable()


@pytest.fixture(scope="session")
def django_db_setup(
    request: pytest.FixtureRequest,
    django_test_environment: None,
    django_db_blocker: Any,
    django_db_use_migrations: bool,
    django_db_keepdb: bool,
    django_db_createdb: bool,
    django_db_modify_db_settings: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    """This process's test database, as pytest-django's fixture makes it,
    but on PostgreSQL under pytest-xdist migrated once per run, into a
    template each process copies (CREATE DATABASE ... TEMPLATE copies the
    files) instead of each process migrating a database of its own: about
    3.5 CPU-seconds of Python and one of PostgreSQL a process, measured.
    Every process's connections (workers', servers') commit without waiting
    for the disk: the database's own setting."""
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    verbosity = request.config.option.verbose
    with django_db_blocker.unblock():
        if (
            connection.vendor == "postgresql"
            and os.environ.get("PYTEST_XDIST_WORKER")
            and django_db_use_migrations
            and not django_db_keepdb
        ):
            made_once_per_run(tmp_path_factory, "test-database", lambda _: _template_migrate())
            databases = _template_copy()
        else:
            if not django_db_use_migrations:
                pytest_django_fixtures._disable_migrations()
            databases = setup_databases(
                verbosity=verbosity,
                interactive=False,
                serialized_aliases=set(),
                keepdb=django_db_keepdb and not django_db_createdb,
            )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                name = connection.ops.quote_name(connection.settings_dict["NAME"])
                cursor.execute(f"ALTER DATABASE {name} SET synchronous_commit TO off")
    with _test_server_connections_tracked() as served:
        yield
        _test_server_connections_end(served)
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            if connection.vendor == "postgresql":
                _other_sessions_end(connection)
            teardown_databases(databases, verbosity=verbosity)


@contextlib.contextmanager
def _test_server_connections_tracked() -> Iterator[set[socket.socket]]:
    """The connections Django's test servers are serving, each in a thread
    of its own that holds a database connection until the client closes it
    (a browser's or a bot's pool keeps them open)."""
    from django.core.servers.basehttp import ThreadedWSGIServer

    served: set[socket.socket] = set()
    serve = ThreadedWSGIServer.process_request_thread

    def tracked(server: Any, request: socket.socket, client_address: Any) -> None:
        served.add(request)
        try:
            serve(server, request, client_address)
        finally:
            served.discard(request)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ThreadedWSGIServer, "process_request_thread", tracked)
        yield served


def _test_server_connections_end(served: set[socket.socket], timeout: float = 10) -> None:
    """Close, from the server's side, what Django's test servers still serve
    when the run is over: the test database cannot be dropped while their
    threads' database connections are open. Waiting for the clients to close
    them instead took up to ten seconds at the end of every process, by then
    the last thing it did (measured). Other servers' threads (the fake
    Telegram's, the SMTP sink's) hold no database connection."""
    for request in list(served):
        with contextlib.suppress(OSError):
            request.shutdown(socket.SHUT_RDWR)
    deadline = time.monotonic() + timeout
    while served and time.monotonic() < deadline:
        time.sleep(0.01)


def _other_sessions_end(connection: Any) -> None:
    """End every other session on this process's test database before it is
    dropped. Under Playwright's sync API an event loop counts as running in
    the main thread, and asgiref's Local then gives Django a second set of
    connections there (traced: each connection the main thread opened
    between browser calls was made with a loop running). Django closes the
    thread's own set at teardown, not that one: when the browser tests of
    tests/campaigns ran last in a process (also with -n 0), its session was
    left, and the drop failed ("being accessed by other users"), and with
    it a run that passed."""
    with connection._nodb_cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            [connection.settings_dict["NAME"]],
        )


@functools.cache
def template_database_name() -> str:
    """The run's migrated template: one name for the processes of a run and
    the controller that drops it when the run ends."""
    return f"test_{settings.DATABASES['default']['NAME']}_template"


def _template_migrate() -> None:
    """Create and migrate the template, as Django makes a test database, and
    leave this process pointing at the real database again."""
    from django.db import connection

    named = connection.settings_dict
    real, test = named["NAME"], named["TEST"]["NAME"]
    named["TEST"]["NAME"] = template_database_name()
    try:
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    finally:
        connection.close()  # a template may have no one connected to it
        named["NAME"] = settings.DATABASES["default"]["NAME"] = real
        named["TEST"]["NAME"] = test


def _template_copy() -> list[tuple[Any, str, bool]]:
    """This process's test database, a copy of the template; returned as
    setup_databases() returns what teardown_databases() drops."""
    from django.db import connection

    named = connection.settings_dict
    real, test = named["NAME"], named["TEST"]["NAME"]
    quote = connection.ops.quote_name
    with connection._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quote(test)}")
        cursor.execute(f"CREATE DATABASE {quote(test)} TEMPLATE {quote(template_database_name())}")
    connection.close()
    named["NAME"] = settings.DATABASES["default"]["NAME"] = test
    return [(connection, real, True)]


template_migration_key = pytest.StashKey[threading.Thread]()


def _controls_processes_on_postgresql(config: pytest.Config) -> bool:
    """This is the controller of an xdist run on PostgreSQL."""
    from django.db import connection

    return (
        not os.environ.get("PYTEST_XDIST_WORKER")
        and bool(getattr(config.option, "numprocesses", None))
        and connection.vendor == "postgresql"
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    """The controller of an xdist run migrates the template while its test
    processes start and collect, instead of one of them migrating it (3 s)
    while the other two wait with nothing to run: the first seconds of a
    run had a core idle. django_db_setup's made_once_per_run then finds it
    built, or waits for it."""
    config = session.config
    keepdb = config.getoption("reuse_db") and not config.getoption("create_db")
    if not _controls_processes_on_postgresql(config) or config.getoption("nomigrations") or keepdb:
        return

    def migrate(_: Path) -> None:
        _commits_not_durable()
        with config.stash[blocking_manager_key].unblock():
            _template_migrate()

    config.stash[template_migration_key] = made_once_per_run_beside(
        config._tmp_path_factory,  # type: ignore[attr-defined]  # the session's, before any fixture
        "test-database",
        migrate,
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller of an xdist run, once every process is done, drops the
    template they copied."""
    from django.db import connection

    if not _controls_processes_on_postgresql(session.config):
        return
    if migration := session.config.stash.get(template_migration_key, None):
        migration.join()
    with session.config.stash[blocking_manager_key].unblock(), connection._nodb_cursor() as cursor:
        cursor.execute(
            f"DROP DATABASE IF EXISTS {connection.ops.quote_name(template_database_name())}"
        )


@pytest.fixture(autouse=True, scope="session")
def _flush_by_delete() -> Iterator[None]:
    """Empty the tables after a transactional test with DELETE, not TRUNCATE.

    TRUNCATE gives each of the ~35 tables (and their indexes) new files:
    1.3 to 1.9 s a flush here, after each of ~150 transactional tests, for
    tables that hold a few rows. DELETE empties them in 0.5 s. Every foreign
    key Django makes on PostgreSQL is DEFERRABLE INITIALLY DEFERRED, so the
    order does not matter inside flush's transaction. A flush that resets
    sequences or cascades (available_apps) keeps Django's TRUNCATE."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(
        self: DatabaseOperations,
        style: Any,
        tables: list[str],
        *,
        reset_sequences: bool = False,
        allow_cascade: bool = False,
    ) -> list[str]:
        if reset_sequences or allow_cascade:
            return truncate(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        # Table names from Django's own introspection, quoted.
        return [f"DELETE FROM {self.quote_name(table)};" for table in tables]  # noqa: S608 # nosec B608

    DatabaseOperations.sql_flush = sql_flush  # type: ignore[method-assign,assignment]
    yield
    DatabaseOperations.sql_flush = truncate  # type: ignore[method-assign]


@pytest.fixture(autouse=True, scope="session")
def _flush_writes_post_migrate_rows_back() -> Iterator[None]:
    """After a flush, the rows post_migrate's receivers made at this
    process's first flush, written back instead of made again (see
    tests/flush_rows.py). The receivers take no input but the models, so the
    rows are the same; test_flush_rows shows that they find nothing missing."""
    from django.core.management.commands import flush
    from django.core.management.sql import emit_post_migrate_signal as receivers_run

    kept: dict[str, list[flush_rows.TableRows]] = {}

    def post_migrate_rows(verbosity: int, interactive: bool, database: str) -> None:
        if database in kept:
            flush_rows.rows_write(database, kept[database])
        else:
            receivers_run(verbosity, interactive, database)
            kept[database] = flush_rows.rows_read(database)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(flush, "emit_post_migrate_signal", post_migrate_rows)
        yield


@pytest.fixture(autouse=True, scope="session")
def _static_root() -> None:
    # whitenoise warns on every middleware start when STATIC_ROOT is missing
    # (nothing was collected on a fresh clone).
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


# Staff passwords made and checked in this process: PBKDF2's million rounds
# cost a third of a second of CPU each, hundreds of times in the suite (the
# way Django's documentation advises for tests). Production's hashers stay
# listed, so a password hashed by them still checks; no test is about the
# hashing itself. The production-stack tests run their own settings.
TEST_PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    *settings.PASSWORD_HASHERS,
]


@pytest.fixture(scope="session")
def _media_roots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A file store of its own for each test, made when a file is first
    saved there: a tmp_path per test cost pytest a directory listing that
    grows with every test (1,300 a run)."""
    base = tmp_path_factory.mktemp("media")
    return (base / str(number) for number in itertools.count())


@pytest.fixture(autouse=True)
def _isolated(settings: Any, _media_roots: Iterator[Path]) -> Iterator[None]:
    """Every test: eager Celery, a clean cache, mail kept in memory, plain
    HTTP, fast password hashing."""
    from django.core.cache import cache

    from campaigns.published import forget_published
    from signatures.policy import forget_rules
    from signatures.tallies import forget_kept_figures
    from transparency.tree import forget_trees

    forget_rules()
    forget_kept_figures()
    forget_published()
    forget_trees()  # a flushed database gives its leaf indices to new leaves
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    # Celery marks "inside a task" in one process-wide flag while an eager
    # task runs, and puts back what it found when it ends: two threads
    # running eager tasks at once (the concurrency tests' signers) can leave
    # it set, and every later result.get() in this process would then fail.
    celery_state._set_task_join_will_block(False)  # type: ignore[attr-defined]  # not in the stubs
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = next(_media_roots)
    settings.PASSWORD_HASHERS = TEST_PASSWORD_HASHERS
    cache.clear()
    yield
    celery_app.conf.task_always_eager = previous


# --- SMTP ---------------------------------------------------------------


@dataclass
class SmtpSink:
    """A real SMTP server on 127.0.0.1 that keeps what it receives."""

    host: str
    port: int
    received: list[EmailMessage] = field(default_factory=list)
    refuse: bool = False
    sessions: int = 0  # SMTP conversations opened (EHLO/HELO)
    close_at_next_mail: bool = False  # answer "421" once, as a server ending an idle session

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def wait_for(self, count: int, timeout: float = 30) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.received)


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_EHLO(  # noqa: N802 - aiosmtpd's name
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.sink.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's name
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.sink.close_at_next_mail:
            self.sink.close_at_next_mail = False
            return "421 Idle too long, closing connection"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        if self.sink.refuse:
            return "451 Try again later"
        self.sink.received.append(message_from_bytes(envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[SmtpSink]:
    """A local SMTP server; Django's mail goes to it for this test."""
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = SmtpSink(host="127.0.0.1", port=port)
    controller = Controller(_Handler(sink), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    from outbox.services import mail_connections_close

    mail_connections_close()
    controller.stop()


# --- A real Celery worker -----------------------------------------------

# What a test may give the shared worker per test rather than per process:
# the worker reads them before each task (below), so one worker serves every
# test of a pytest process. Anything else (or another concurrency) gets a
# worker of its own, as every test once did.
PER_TEST_WORKER_ENV = {"EMAIL_URL", "MEDIA_ROOT"}

# Runs `celery worker` with one addition: before each task the pool process
# reads the current test's settings from the file named by
# SITTHI_TEST_WORKER_SETTINGS. When the test changed since the last task, it
# forgets what the previous test left in this process (kept SMTP connections,
# the signing rules, content types: the test database was flushed in between),
# then applies the new test's queue (for tasks that queue tasks), e-mail
# server and media folder, read as settings.py reads CELERY_QUEUE, EMAIL_URL
# and MEDIA_ROOT from the environment.
WORKER_MAIN = """
import json, os, sys
from celery.signals import task_prerun

applied = {"text": None, "override": None}

def per_test_settings(**kwargs):
    if "SITTHI_TEST_WORKER_SETTINGS" not in os.environ:  # a test's own worker
        return
    with open(os.environ["SITTHI_TEST_WORKER_SETTINGS"]) as file:
        text = file.read()
    if text == applied["text"]:
        return
    import environ
    from celery import current_app
    from django.contrib.contenttypes.models import ContentType
    from django.test.utils import override_settings
    from outbox.services import mail_connections_close
    from signatures.policy import forget_rules

    if applied["override"] is not None:
        applied["override"].disable()
    mail_connections_close()
    forget_rules()
    ContentType.objects.clear_cache()
    current_test = json.loads(text)
    # Tasks queued by a task go to the test's queue, as with CELERY_QUEUE.
    current_app.conf.task_default_queue = current_test["queue"]
    env = current_test["env"]
    values = {}
    if env.get("EMAIL_URL"):
        values.update(environ.Env.email_url_config(env["EMAIL_URL"]))
    if env.get("MEDIA_ROOT"):
        values["MEDIA_ROOT"] = env["MEDIA_ROOT"]
    override = override_settings(**values)
    override.enable()
    applied.update(text=text, override=override)

task_prerun.connect(per_test_settings, weak=False)
from celery.__main__ import main
sys.argv = ["celery", *sys.argv[1:]]
main()
"""


def _start_worker(
    *, name: str, queue: str, env: dict[str, str], concurrency: int = 1
) -> subprocess.Popen:
    log_path = BASE_DIR / "var" / f"worker-{name}.log"
    log_path.parent.mkdir(exist_ok=True)
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER_MAIN,
                "-A",
                "config",
                "worker",
                "-Q",
                queue,
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
                f"{name}@localhost",
            ],
            cwd=BASE_DIR,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    _wait_for_worker(str(log_path), process)
    return process


def _stop_worker(process: subprocess.Popen) -> None:
    """Killed: a test's worker is stopped when its test is over (or a shared
    one when the run is), and what it still holds was queued on a queue of
    its own that nothing reads again. Celery's cold shutdown (SIGQUIT) took
    2.0 s and its warm one (SIGTERM) 2.8 s, against 0.01 s (measured). Its
    pool's processes die with it: Celery gives them SIGKILL as their
    parent-death signal."""
    if process.poll() is None:
        process.kill()
    process.wait(timeout=15)


@dataclass
class SharedWorker:
    """One Celery worker per pytest process, lent to one test at a time.

    It consumes only the queue of the test it is lent to (added and
    cancelled through Celery's remote control), so tasks a test queues wait
    in its own queue until the test starts "its" worker, as with a worker of
    its own, and a task left over from one test never reaches the next."""

    name: str
    settings_file: Path
    process: subprocess.Popen | None = None

    def running(self, env: dict[str, str]) -> subprocess.Popen:
        if self.process is None or self.process.poll() is not None:
            self.process = _start_worker(
                name=self.name,
                # A queue no task is sent to: the tests' queues are added one by one.
                queue=f"{self.name}-idle",
                env={**env, "SITTHI_TEST_WORKER_SETTINGS": str(self.settings_file)},
            )
        return self.process

    @property
    def destination(self) -> list[str]:
        return [f"{self.name}@localhost"]

    def lend(self, queue: str) -> None:
        for _attempt in range(3):
            if celery_app.control.add_consumer(
                queue, destination=self.destination, reply=True, timeout=5
            ):
                return
        raise RuntimeError(f"the shared celery worker never took queue {queue}")

    def take_back(self, queue: str) -> None:
        """Stop consuming the test's queue; a worker still holding one of its
        tasks (running, prefetched or waiting for a retry) after a few
        seconds is stopped, and the next test gets a fresh one."""
        if self.process is None or self.process.poll() is not None:
            self.process = None
            return
        cancelled = celery_app.control.cancel_consumer(
            queue, destination=self.destination, reply=True, timeout=5
        )
        deadline = time.monotonic() + 5
        while cancelled and not self._idle():
            if time.monotonic() > deadline:
                cancelled = []
                break
            time.sleep(0.05)
        if not cancelled:
            self.stop()

    def _idle(self) -> bool:
        inspect = celery_app.control.inspect(destination=self.destination, timeout=2, limit=1)
        for held in (inspect.active(), inspect.reserved(), inspect.scheduled()):
            if not held or any(held.values()):
                return False
        return True

    def stop(self) -> None:
        if self.process is not None:
            _stop_worker(self.process)
        self.process = None


@pytest.fixture(scope="session")
def _shared_celery_worker(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SharedWorker]:
    """Started by the first test that asks for a worker; stopped before the
    test database is dropped."""
    name = f"test-{os.getpid()}-{time.monotonic_ns()}"
    worker = SharedWorker(name=name, settings_file=tmp_path_factory.mktemp("worker") / "env.json")
    yield worker
    worker.stop()


@pytest.fixture
def celery_worker_process(
    transactional_db: None,
    settings: Any,
    request: pytest.FixtureRequest,
    _shared_celery_worker: SharedWorker,
) -> Iterator[Callable[..., subprocess.Popen]]:
    """A real Celery worker on the test database, through Redis.

    Tasks are no longer eager in this test. Each test gets its own queue, so
    a stray worker elsewhere never takes its tasks. Call the fixture to start
    a worker: `worker = celery_worker_process(env={"EMAIL_URL": smtp_server.url})`.
    With only EMAIL_URL and MEDIA_ROOT in `env` and one pool process, the
    worker is this pytest process's shared one (Django and Celery set up
    once, not per test); otherwise it is a worker of the test's own."""
    if not _redis_up():
        _missing_service("a Celery worker needs Redis: set REDIS_URL=redis://...")
    queue = f"test-{os.getpid()}-{time.monotonic_ns()}"
    base_env = {
        "DATABASE_URL": _database_url(settings.DATABASES["default"]),
        "REDIS_URL": settings.REDIS_URL,
    }
    own_workers: list[subprocess.Popen] = []
    lent = False
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    previous_routes = celery_app.amqp.queues
    celery_app.amqp.__dict__.pop("queues", None)

    def start(env: dict[str, str] | None = None, concurrency: int = 1) -> subprocess.Popen:
        nonlocal lent
        env = env or {}
        if not lent and concurrency == 1 and set(env) <= PER_TEST_WORKER_ENV:
            # Written before the worker takes the queue: no task of this test
            # runs with the previous test's settings.
            _shared_celery_worker.settings_file.write_text(
                json.dumps({"test": request.node.nodeid, "queue": queue, "env": env})
            )
            process = _shared_celery_worker.running(base_env)
            _shared_celery_worker.lend(queue)
            lent = True
            return process
        process = _start_worker(
            name=f"{queue}-{len(own_workers)}",
            queue=queue,
            env={**base_env, "CELERY_QUEUE": queue, **env},
            concurrency=concurrency,
        )
        own_workers.append(process)
        return process

    yield start
    if lent:
        _shared_celery_worker.take_back(queue)
    for process in own_workers:
        _stop_worker(process)
    celery_app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE
    celery_app.amqp.__dict__["queues"] = previous_routes


def _database_url(database: dict[str, Any]) -> str:
    if database["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{database['NAME']}"
    user = database.get("USER") or "postgres"
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    host = database.get("HOST") or "127.0.0.1"
    port = database.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{database['NAME']}"


def _wait_for_worker(log_path: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"celery worker exited: {Path(log_path).read_text()[-3000:]}")
        if "ready." in Path(log_path).read_text():
            return
        time.sleep(0.2)
    raise RuntimeError(
        f"celery worker not ready in {timeout}s: {Path(log_path).read_text()[-3000:]}"
    )


# --- Real Chromium ------------------------------------------------------


# Chromium's own form helpers, off: address and card autofill and the
# password manager parse every form of every page in the browser process,
# which was a third of Chromium's CPU on form-heavy pages (the admin crawl:
# 93-99 ms a page with them, 67-77 without, measured). The tests check what
# the page does, never what the browser would offer to fill in.
CHROMIUM_PREFERENCES = {
    "autofill": {"profile_enabled": False, "credit_card_enabled": False},
    "credentials_enable_service": False,
    "profile": {"password_manager_enabled": False},
}


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One Chromium per pytest process; tests open contexts of their own in it.

    Launched on a profile of our own (Playwright's launch() takes no
    preferences), through a persistent context whose browser then serves
    new contexts as launch()'s would."""
    if not Path(CHROMIUM).exists():
        _missing_service(f"browser tests need Debian's chromium at {CHROMIUM}")
    profile = tmp_path_factory.mktemp("chromium-profile")
    (profile / "Default").mkdir()
    (profile / "Default" / "Preferences").write_text(json.dumps(CHROMIUM_PREFERENCES))
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop
    with sync_playwright() as playwright:
        default_context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield default_context.browser
        default_context.close()


@dataclass
class BrowsedPage:
    """A Playwright page that records every request it makes."""

    page: Any
    requests: list[str]

    def foreign_requests(self, own_origin: str) -> list[str]:
        own = urlsplit(own_origin).netloc
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme in {"http", "https", "ws", "wss"}
            and urlsplit(url).netloc != own
        ]


class WarmContext:
    """A browser context kept for the whole pytest process, that hands each
    test a page as fresh as a new context's, without a new renderer process.

    Chromium starts a renderer process for every new context (and every new
    tab): about a second of CPU here, measured, against a tenth for a page
    that reuses one, and the browser tests open some fifty. So a test's page
    is a popup of a blank keeper page (popups share their opener's process);
    it is a new Page (no listeners, no history, no session storage of
    another test), and what a test leaves in the context (cookies,
    permissions, the origins' storage, the HTTP cache) is cleared after it,
    so the next test starts as in a new context."""

    def __init__(self, browser: Any, **context_options: Any) -> None:
        self.context = browser.new_context(**context_options)
        self.keeper = self.context.new_page()
        self.devtools = self.context.new_cdp_session(self.keeper)

    def fresh_page(self) -> BrowsedPage:
        with self.context.expect_page() as opened:
            self.keeper.evaluate("() => { window.open('about:blank'); }")
        recorded = BrowsedPage(page=opened.value, requests=[])
        recorded.page.on("request", lambda request: recorded.requests.append(request.url))
        return recorded

    def forget(self, recorded: BrowsedPage) -> None:
        """Everything the test's page left, gone."""
        recorded.page.close()
        self.context.clear_cookies()
        self.context.clear_permissions()
        origins = {
            f"{url.scheme}://{url.netloc}"
            for url in map(urlsplit, recorded.requests)
            if url.scheme in {"http", "https"}
        }
        for origin in origins:
            self.devtools.send(
                "Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"}
            )
        self.devtools.send("Network.clearBrowserCache")


WARM_CONTEXT_OPTIONS: dict[str, dict[str, Any]] = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}


class WarmContexts:
    """The process's warm contexts, each made when a test first asks for it."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.made: dict[str, WarmContext] = {}

    def __getitem__(self, kind: str) -> WarmContext:
        if kind not in self.made:
            self.made[kind] = WarmContext(self.browser, **WARM_CONTEXT_OPTIONS[kind])
        return self.made[kind]

    def fresh_page(self, kind: str) -> BrowsedPage:
        try:
            return self[kind].fresh_page()
        except PlaywrightError:
            # A test crashed the renderer the keeper shares with its popups.
            self.made.pop(kind).context.close()
            return self[kind].fresh_page()

    def forget(self, kind: str, recorded: BrowsedPage) -> None:
        try:
            self[kind].forget(recorded)
        except PlaywrightError:  # as above: the next test gets a new context
            self.made.pop(kind).context.close()

    def close(self) -> None:
        for warm in self.made.values():
            warm.context.close()


@pytest.fixture(scope="session")
def warm_contexts(browser: Any, django_db_setup: None) -> Iterator[WarmContexts]:
    """Needs django_db_setup so that it is torn down, its connections to the
    test servers closed, before the test database is dropped."""
    contexts = WarmContexts(browser)
    yield contexts
    contexts.close()


@pytest.fixture
def phone_page(warm_contexts: WarmContexts) -> Iterator[BrowsedPage]:
    """A fresh page in a phone-sized context (most signers are on phones)."""
    recorded = warm_contexts.fresh_page("phone")
    yield recorded
    warm_contexts.forget("phone", recorded)


@pytest.fixture
def desktop_page(warm_contexts: WarmContexts) -> Iterator[BrowsedPage]:
    recorded = warm_contexts.fresh_page("desktop")
    yield recorded
    warm_contexts.forget("desktop", recorded)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core (bundled with axe-playwright-python, nothing downloaded) on the page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        {"id": v["id"], "impact": v.get("impact"), "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in results.response["violations"]
    ]


def docker_compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None
