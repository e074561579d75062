"""Shared fixtures: real services when they are configured, eager Celery otherwise.

Tests marked `postgres`, `redis`, `worker` or `browser` need a real service.
On a laptop without it they skip with the reason; with CI=true a missing
service is a failure, never a skip.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from config.celery import app as celery_app

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
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first (in their order, then the rest in theirs): with
    pytest-xdist a slow test handed out last keeps one process busy while
    the others sit idle. Last of the hooks: pytest-django's own ordering is
    kept within each part."""
    items.sort(
        key=lambda item: (
            not (
                SLOW_FIXTURES & set(getattr(item, "fixturenames", ()))
                or item.get_closest_marker("slow")
            )
        )
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


@pytest.fixture(autouse=True, scope="session")
def _static_root() -> None:
    # whitenoise warns on every middleware start when STATIC_ROOT is missing
    # (nothing was collected on a fresh clone).
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _isolated(settings: Any, tmp_path: Path) -> Iterator[None]:
    """Every test: eager Celery, a clean cache, mail kept in memory, plain HTTP."""
    from django.core.cache import cache

    from signatures.policy import forget_rules

    forget_rules()
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = tmp_path / "media"
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


@pytest.fixture
def celery_worker_process(
    transactional_db: None, settings: Any
) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start real `celery worker` processes on the test database, through Redis.

    Tasks are no longer eager in this test. Each test gets its own queue so a
    stray worker elsewhere never takes its tasks. Call the fixture to start a
    worker: `worker = celery_worker_process(env={"EMAIL_URL": smtp_server.url})`.
    """
    if not _redis_up():
        _missing_service("a Celery worker needs Redis: set REDIS_URL=redis://...")
    queue = f"test-{os.getpid()}-{time.monotonic_ns()}"
    database = settings.DATABASES["default"]
    started: list[subprocess.Popen] = []
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    previous_routes = celery_app.amqp.queues
    celery_app.amqp.__dict__.pop("queues", None)

    def start(env: dict[str, str] | None = None, concurrency: int = 1) -> subprocess.Popen:
        worker_env = {
            **os.environ,
            "DATABASE_URL": _database_url(database),
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_QUEUE": queue,
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        log = open(BASE_DIR / "var" / f"worker-{queue}-{len(started)}.log", "w")  # noqa: SIM115
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
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
                f"{queue}-{len(started)}@%h",
            ],
            cwd=BASE_DIR,
            env=worker_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        _wait_for_worker(log.name, process)
        return process

    (BASE_DIR / "var").mkdir(exist_ok=True)
    yield start
    # The test is over: a cold shutdown (SIGQUIT) stops at once, where a warm
    # one (SIGTERM) takes seconds to wind the pool down.
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT)
    for process in started:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
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


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        _missing_service(f"browser tests need Debian's chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


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


def _new_page(browser: Any, **context_options: Any) -> tuple[Any, BrowsedPage]:
    context = browser.new_context(**context_options)
    page = context.new_page()
    recorded = BrowsedPage(page=page, requests=[])
    page.on("request", lambda request: recorded.requests.append(request.url))
    return context, recorded


@pytest.fixture
def phone_page(browser: Any) -> Iterator[BrowsedPage]:
    """A phone-sized page (most signers are on phones)."""
    context, recorded = _new_page(
        browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    yield recorded
    context.close()


@pytest.fixture
def desktop_page(browser: Any) -> Iterator[BrowsedPage]:
    context, recorded = _new_page(browser, viewport={"width": 1280, "height": 900})
    yield recorded
    context.close()


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
