"""Benchmark: a flood of signatures, then their confirmations, on the real stack.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    REDIS_URL=redis://127.0.0.1:6379/1 python -m bench signing [--clients 64] [--signatures 3000]

Everything runs on this machine: gunicorn (gthread, DEBUG off) on PostgreSQL
(a database of the run's own, `<DATABASE_URL's name>_signing_<pid>`, created
and migrated at the start, dropped at the end), Redis for the cache (a key
prefix of the run's own), rate limits and the Celery broker (a queue of the
run's own), a real Celery worker with beat embedded (the tally fold), and a
local aiosmtpd sink that receives the confirmation e-mails. Two runs on one
machine do not meet: gunicorn and the sink listen on sockets this process
bound to a port the system chose, and gunicorn's control socket is off. Clients are threads with keep-alive connections; each
simulated signer has its own address (X-Forwarded-For behind one trusted
proxy), so the per-IP rate limits run for real. About one submission in ten
repeats an earlier e-mail (signing twice).

Phases: requests per second of the bare one-INSERT view (bench/bare.py,
served by the same gunicorn: bench/settings.py mounts it), of the campaign
page and of figures.json, each from the same clients; then submit
(measured: signatures/s, p50/p99 latency, errors), wait for
every confirmation e-mail, open every confirm link (some twice), then check
that the public figure, the stored tallies and a true COUNT all equal the
number of distinct signers. Failed requests, clients that never got their
first page (and so never sent their share of the load) and counts that
disagree are reported apart. The PostgreSQL connections the stack holds
are sampled throughout (pg_stat_activity) and the peak printed. Target
(issue 3): 333 signatures/s, p99 < 300 ms at 64 clients, zero errors, no
client lost, exact count; and (issue 14) signatures/s at least 25% of the
bare view's requests/s, the campaign page at least 50%, figures.json 100%.

`--telegram-share` (0.2; `run()`'s default is 0, as bench.faults runs it):
that share of the signers confirm through Telegram instead, with a fake Bot
API for the run and its figures reported apart (bench/telegram_load.py).

For fault benchmarks, `run(..., on_running=callback)` calls `callback(stack)`
in its own thread once submissions are under way; `stack` can stop and start
the worker and gunicorn (see `Stack`).
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import email
import http.client
import ipaddress
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bench.databases import database_create, database_drop, run_database
from bench.telegram_load import (
    TELEGRAM,
    TelegramFigures,
    TelegramLoad,
    report_lines,
    user_id,
)

BASE_DIR = Path(__file__).resolve().parent.parent
# This run's database is `<DATABASE_URL's name>_<label>_<pid>`; bench.faults
# sets its own label.
DATABASE_LABEL = "signing"
CAMPAIGN_SLUG = "bench-right-to-vote"
TARGET_RATE = 333.0
TARGET_P99_MS = 300.0
# Each as a share of the bare view's requests per second in the same run.
TARGET_SHARES = {"signatures": 0.25, "campaign page": 0.5, "figures.json": 1.0}
RATE_REQUESTS = 2000  # per yardstick phase
COUNTRIES = ["FR", "US", "AU", "CA", "KR", "JP", "TH", "NZ", "DE", "GB", "KH"]
CONFIRM_LINK = re.compile(rb"https?://[^/\s]+(/(?:km|en)/sign/confirm/[^\s/]+/)")
# What `drive` hands each thread: a Client here, a pair of them in bench.hosts.
ClientT = TypeVar("ClientT")


# --- Services -----------------------------------------------------------------


def free_port() -> int:
    """A port that was free a moment ago. Only for a server that cannot be
    handed a bound socket (bench.faults's redis-server, which retries)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening_socket(backlog: int = 2048) -> socket.socket:
    """A socket bound to a port the system chose, already listening, to be
    handed to the server: no window in which another process could take the
    port between choosing and binding it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(backlog)
    return listener


def with_application_name(database_url: str, name: str) -> str:
    """The URL with `?application_name=`: pg_stat_activity then tells which
    part of the stack holds each connection."""
    parts = urlsplit(database_url)
    query = {**dict(parse_qsl(parts.query)), "application_name": name}
    return urlunsplit(parts._replace(query=urlencode(query)))


class SmtpSink:
    """A local SMTP server that keeps each recipient's confirm links. It
    serves on a socket bound here (see `listening_socket`)."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        listener = listening_socket(backlog=100)
        self.port = int(listener.getsockname()[1])
        self.links: dict[str, list[str]] = {}
        self.received = 0
        self.lock = threading.Lock()

        class OnBoundSocket(Controller):
            def _create_server(self) -> Any:
                return self.loop.create_server(self._factory_invoker, sock=listener)

        self.controller = OnBoundSocket(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content)
        found = []
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                if not isinstance(payload, bytes):
                    continue
                found += [link.decode() for link in CONFIRM_LINK.findall(payload)]
        with self.lock:
            self.received += 1
            for recipient in envelope.rcpt_tos:
                self.links.setdefault(recipient, []).extend(found)
        return "250 Message accepted"

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@dataclass
class Stack:
    """The running services. A fault benchmark may stop and start them."""

    env: dict[str, str]
    http_listener: socket.socket
    smtp: SmtpSink
    log_dir: Path
    gunicorn_workers: int = 3
    gunicorn_threads: int = 8
    # "gthread" (production's: config/gunicorn.py) or "sync" (one request at
    # a time per process, no keep-alive), to compare the two.
    gunicorn_worker_class: str = "gthread"
    worker_concurrency: int = 2
    # One beat per deployment (production runs it as a service of its own):
    # embedded in this stack's worker, or in none (bench.hosts: host B).
    worker_beat: bool = True
    # A name for this stack's processes when several stacks share one run
    # (bench.hosts: "hostA", "hostB"): their logs, their application_name in
    # pg_stat_activity and their Celery node name. Empty: "gunicorn", "worker".
    host: str = ""
    gunicorn: subprocess.Popen | None = None
    worker: subprocess.Popen | None = None
    started: list[subprocess.Popen] = field(default_factory=list)

    @property
    def http_port(self) -> int:
        return int(self.http_listener.getsockname()[1])

    def label(self, name: str) -> str:
        """A process's name: its log file and its application_name."""
        return f"{self.host}-{name}" if self.host else name

    def _spawn(
        self, name: str, command: list[str], pass_fds: tuple[int, ...] = ()
    ) -> subprocess.Popen:
        name = self.label(name)
        log = open(self.log_dir / f"{name}.log", "a")  # noqa: SIM115 - kept open for the process
        env = {**self.env, "DATABASE_URL": with_application_name(self.env["DATABASE_URL"], name)}
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=pass_fds,
        )
        self.started.append(process)
        return process

    def start_gunicorn(self) -> None:
        # gunicorn serves on the socket this process bound and keeps (fd://),
        # so a restarted gunicorn gets the same port; its control socket,
        # by default one path for every gunicorn of the user, is off.
        listener_fd = self.http_listener.fileno()
        self.gunicorn = self._spawn(
            "gunicorn",
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--config",
                "config/gunicorn.py",  # production's settings (JSON access log), then ours
                "config.wsgi",
                "--bind",
                f"fd://{listener_fd}",
                "--no-control-socket",
                "--workers",
                str(self.gunicorn_workers),
                # gthread and keep-alive as config/gunicorn.py sets them; a
                # sync worker with threads would be made a gthread one.
                *(
                    ["--threads", str(self.gunicorn_threads)]
                    if self.gunicorn_worker_class == "gthread"
                    else ["--worker-class", "sync", "--threads", "1"]
                ),
            ],
            pass_fds=(listener_fd,),
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.gunicorn.poll() is not None:
                break
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=5)
                connection.request("GET", "/healthz")
                if connection.getresponse().status < 500:
                    return
            except OSError:
                time.sleep(0.3)
        log = self.log_dir / f"{self.label('gunicorn')}.log"
        raise RuntimeError(f"gunicorn did not start: see {log}")

    def start_worker(self) -> None:
        self.worker = self._spawn(
            "worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                *(
                    ["--beat", "--schedule", str(self.log_dir / f"{self.label('beat')}-schedule")]
                    if self.worker_beat
                    else []
                ),
                "-Q",
                self.env["CELERY_QUEUE"],
                "--concurrency",
                str(self.worker_concurrency),
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                self.node_name,
            ],
        )

    @property
    def node_name(self) -> str:
        """The worker's Celery node name (-n): this run's pid, so that two
        runs' workers never share one."""
        return f"{self.host or 'bench'}-{os.getpid()}@%h"

    def stop(self, process: subprocess.Popen | None, hard: bool = False) -> None:
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGKILL if hard else signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop_all(self) -> None:
        for process in self.started:
            self.stop(process)


def _bench_env(
    database_url: str,
    redis_url: str,
    http_port: int,
    smtp_port: int,
    static_root: str,
    telegram: dict[str, str] | None = None,
) -> dict[str, str]:
    """The stack's environment; `telegram`: the bot's settings (TelegramLoad.env),
    None for none (the form then offers e-mail only)."""
    from cryptography.fernet import Fernet

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": f"http://127.0.0.1:{http_port}",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "SIGNER_DATA_KEYS": Fernet.generate_key().decode(),
        "SIGNER_HASH_KEY": secrets.token_urlsafe(32),
        # The count record's Ed25519 key (transparency/): 32 random bytes.
        "RECORD_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": f"bench-{os.getpid()}",
        "CACHE_KEY_PREFIX": f"bench-{os.getpid()}",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "STATIC_ROOT": static_root,
        "TRUSTED_PROXY_COUNT": "1",
        "SIGNATURE_MIN_FILL_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        **(telegram or {}),
    }


def _prepare_database(env: dict[str, str]) -> None:
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=BASE_DIR, env=env, check=True)
    subprocess.run(
        [*manage, "collectstatic", "--noinput", "-v0"], cwd=BASE_DIR, env=env, check=True
    )


def _setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def _create_campaign() -> int:
    from datetime import timedelta

    from django.utils import timezone

    from campaigns.models import Campaign

    campaign = Campaign.objects.create(
        slug=CAMPAIGN_SLUG,
        status=Campaign.Status.OPEN,
        opens_at=timezone.now() - timedelta(days=1),
        title_km="ញត្តិទាមទារសិទ្ធិបោះឆ្នោត",
        title_en="The right to vote for Cambodians overseas",
        body_km="យើងទាមទារ **សិទ្ធិបោះឆ្នោត**។",
        body_en="We ask for **the right to vote**.",
        summary_en="Sign for the right to vote.",
    )
    return campaign.pk


# --- Clients --------------------------------------------------------------------


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: list[str] = field(default_factory=list)  # one per failed request
    # Clients whose first page failed: they sent nothing, so the load was
    # lighter than asked (the others took their share, at fewer at a time).
    dropped_clients: list[str] = field(default_factory=list)
    not_run: int = 0  # jobs no client took (every client dropped)


class Client:
    """One keep-alive HTTP connection, as a browser would hold."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie = ""
        self.csrf = ""
        self.form_token = ""

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, http.client.HTTPResponse]:
        all_headers = {"Cookie": self.cookie, **(headers or {})} if self.cookie else headers or {}
        for attempt in range(2):
            try:
                self.connection.request(method, path, body=body, headers=all_headers)
                response = self.connection.getresponse()
                return response.status, response.read(), response
            except (http.client.HTTPException, OSError):
                # The server closed a kept-alive connection: reconnect once.
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def open_campaign(self) -> None:
        """Load the campaign page once: its CSRF cookie and form token."""
        status, page, response = self.request("GET", f"/km/campaigns/{CAMPAIGN_SLUG}/")
        if status != 200:
            raise RuntimeError(f"campaign page answered {status}")
        cookie = response.getheader("Set-Cookie") or ""
        match = re.search(r"csrftoken=([^;]+)", cookie)
        self.csrf = match.group(1) if match else ""
        self.cookie = f"csrftoken={self.csrf}"
        token = re.search(rb'name="form_token" value="([^"]+)"', page)
        self.form_token = token.group(1).decode() if token else ""

    def page_form_token(self, lang: str = "km") -> str:
        """Open the campaign page as a new reader would, and return the
        form token it carries (a fresh one on every page)."""
        status, page, _response = self.request("GET", f"/{lang}/campaigns/{CAMPAIGN_SLUG}/")
        token = re.search(rb'name="form_token" value="([^"]+)"', page)
        if status != 200 or not token:
            raise RuntimeError(f"campaign page answered {status} without a signing form")
        return token.group(1).decode()

    def sign(self, person: dict[str, str], form_token: str | None = None) -> int:
        """POST the signing form; `form_token` from a page this person
        opened (`page_form_token`), or None to mint one here."""
        return self.sign_response(person, form_token)[0]

    def sign_response(
        self, person: dict[str, str], form_token: str | None = None
    ) -> tuple[int, http.client.HTTPResponse]:
        """`sign`, with the response (its Location: the page after signing).
        A person with a "channel" chooses it (confirm_by), as on a form that
        offers Telegram; their e-mail is empty when it is Telegram."""
        if form_token is None:
            # Each person's own page load: a form token works once (a replayed
            # one is held for review), so the token is minted here, as the page
            # would have, with the server's SECRET_KEY (after _setup_django).
            from signatures.forms import form_token as minted

            form_token = minted()
        self.form_token = form_token
        channel = {"confirm_by": person["channel"]} if "channel" in person else {}
        body = urlencode(
            {
                "csrfmiddlewaretoken": self.csrf,
                "full_name": person["name"],
                **channel,
                "email": person["email"],
                "country": person["country"],
                "consent": "on",
                "form_token": self.form_token,
            }
        )
        status, _body, response = self.request(
            "POST",
            f"/{person['lang']}/campaigns/{CAMPAIGN_SLUG}/sign/",
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Forwarded-For": person["ip"],
            },
        )
        return status, response


def _people(
    count: int, duplicate_share: float, seed: int = 2014, telegram_share: float = 0.0
) -> list[dict[str, str]]:
    """Signers in submission order; some repeat an earlier e-mail.

    Each signer has an address of their own in the benchmarking range
    198.18.0.0/15, at an offset new for every run: the rate-limit windows in
    Redis (up to an hour) outlive a run, and a signer who kept the same
    address over a dozen runs was held as suspect and spoilt the count.

    With a `telegram_share`, every signer has a "channel": that share
    confirm by Telegram, each with a Telegram user id and no e-mail (one who
    signs again is the same user); the others by e-mail. The channels are
    drawn apart: the signers, their repeats and their order are the same
    whatever the share, and with none there is no "channel" at all."""
    rng = random.Random(seed)
    channel_rng = random.Random(seed + 1)
    first_address = ipaddress.ip_address("198.18.0.0") + secrets.randbelow(2**17 - count)
    people: list[dict[str, str]] = []
    for number in range(count):
        if people and rng.random() < duplicate_share:
            people.append(dict(rng.choice(people)))
            continue
        person = {
            "name": rng.choice(["សុខ ដារ៉ា", "Chan Sophea", "ចាន់ សុភា", "Keo Bopha"]) + f" {number}",
            "email": f"signer{number}@bench.example",
            "country": rng.choice(COUNTRIES),
            "lang": rng.choice(["km", "en"]),
            "ip": str(first_address + number),
        }
        if telegram_share > 0:
            if channel_rng.random() < telegram_share:
                person.update(channel=TELEGRAM, email="", telegram_user=str(user_id(number)))
            else:
                person["channel"] = "email"
        people.append(person)
    return people


def signer(person: dict[str, str]) -> str:
    """Who signs, once however often: the e-mail, or the Telegram user."""
    if person.get("channel") == TELEGRAM:
        return f"telegram:{person['telegram_user']}"
    return person["email"]


def _opened_client(port: int) -> Client:
    """A client on `port` that has loaded the campaign page once."""
    client = Client(port)
    client.open_campaign()
    return client


def _drive(
    port: int,
    clients: int,
    jobs: list[Any],
    work: Callable[[Client, Any], int],
    expected: set[int],
    progress: Callable[[int], None] | None = None,
) -> tuple[Outcome, float]:
    """Run `work(client, job)` for every job on `clients` threads, each with
    its own client on `port`. Returns the outcome and the wall time."""
    return drive(lambda: _opened_client(port), clients, jobs, work, expected, progress)


def drive(
    open_client: Callable[[], ClientT],
    clients: int,
    jobs: list[Any],
    work: Callable[[ClientT, Any], int],
    expected: set[int],
    progress: Callable[[int], None] | None = None,
) -> tuple[Outcome, float]:
    """Run `work(client, job)` for every job on `clients` threads, each with
    the client `open_client()` made for it (bench.hosts: one per host). A
    thread whose `open_client()` fails is a dropped client. Returns the
    outcome and the wall time."""
    outcome = Outcome()
    lock = threading.Lock()
    position = iter(range(len(jobs)))
    done = [0]

    def client_loop() -> None:
        try:
            client = open_client()
        except Exception as failure:  # the other clients carry on
            with lock:
                outcome.dropped_clients.append(f"{type(failure).__name__}: {failure}")
            return
        while True:
            with lock:
                index = next(position, None)
            if index is None:
                return
            started = time.perf_counter()
            problem: str | None
            try:
                status = work(client, jobs[index])
                problem = None if status in expected else f"HTTP {status}"
            except Exception as failure:
                problem = f"{type(failure).__name__}: {failure}"
            elapsed = time.perf_counter() - started
            with lock:
                if problem:
                    outcome.errors.append(problem)
                else:
                    outcome.latencies.append(elapsed)
                done[0] += 1
                finished = done[0]
            if progress:
                progress(finished)

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcome.not_run = len(jobs) - done[0]
    return outcome, time.perf_counter() - started


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# --- Connections held --------------------------------------------------------------


class ConnectionSampler:
    """Samples pg_stat_activity for the run's database a few times a second,
    on a connection to the admin database (so not counted itself), and keeps
    the peak with who held it then (application_name: gunicorn, worker,
    driver), and the most each one held at any sample."""

    def __init__(self, admin_url: str, database: str, interval: float = 0.25) -> None:
        self.admin_url = admin_url
        self.database = database
        self.interval = interval
        self.peak = 0
        self.peak_by_holder: dict[str, int] = {}
        self.most_by_holder: dict[str, int] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            while not self.stopping.is_set():
                rows = connection.execute(
                    "SELECT application_name, count(*) FROM pg_stat_activity"
                    " WHERE datname = %s GROUP BY application_name",
                    (self.database,),
                ).fetchall()
                total = sum(count for _name, count in rows)
                for name, count in rows:
                    holder = name or "?"
                    self.most_by_holder[holder] = max(count, self.most_by_holder.get(holder, 0))
                if total > self.peak:
                    self.peak = total
                    self.peak_by_holder = {name or "?": count for name, count in rows}
                self.stopping.wait(self.interval)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():  # not when the run failed before starting it
            self.thread.join(timeout=10)


# --- The benchmark ----------------------------------------------------------------


@dataclass
class Result:
    clients: int
    submissions: int
    distinct_signers: int
    submit_seconds: float
    signatures_per_second: float
    p50_ms: float
    p99_ms: float
    submit_errors: list[str]
    submit_dropped_clients: list[str]
    submit_not_run: int
    mails_received: int
    mail_seconds: float
    confirm_seconds: float
    confirm_p99_ms: float
    confirm_errors: list[str]
    confirm_dropped_clients: list[str]
    confirm_not_run: int
    public_count: int
    true_count: int
    stored_count: int
    computed_count: int
    database: str = ""
    # Requests per second of the bare view, the campaign page and figures.json,
    # and the failures among them (empty when not measured: a fault run).
    rates: dict[str, float] = field(default_factory=dict)
    rate_errors: list[str] = field(default_factory=list)
    peak_connections: int = 0
    peak_connections_by_holder: dict[str, int] = field(default_factory=dict)
    most_connections_by_holder: dict[str, int] = field(default_factory=dict)
    # The Telegram share (bench.telegram_load); None when it is 0.
    telegram: TelegramFigures | None = None

    @property
    def errors(self) -> int:
        """Requests that failed (a dropped client's first page is not one)."""
        return len(self.submit_errors) + len(self.confirm_errors)

    @property
    def dropped_clients(self) -> int:
        return len(self.submit_dropped_clients) + len(self.confirm_dropped_clients)

    @property
    def counts_agree(self) -> bool:
        """The public figure, the stored tallies, the tally SQL and a true
        COUNT all say the same: the counting itself is sound."""
        return self.public_count == self.true_count == self.stored_count == self.computed_count

    @property
    def exact(self) -> bool:
        """The counts agree and equal the number of distinct signers (by
        e-mail and by Telegram)."""
        return self.counts_agree and self.true_count == self.distinct_signers

    @property
    def telegram_exact(self) -> bool:
        """Every Telegram signer counted and confirmed by one reply, each
        update answered once (true without a Telegram share)."""
        return self.telegram is None or (self.telegram.replies_exact and self.telegram.count_exact)

    def meets_target(self) -> bool:
        return (
            self.signatures_per_second >= TARGET_RATE
            and self.p99_ms < TARGET_P99_MS
            and self.errors == 0
            and self.dropped_clients == 0
            and self.exact
            and self.telegram_exact
            and not self.rate_errors
            and all(share >= TARGET_SHARES[name] for name, share in _shares(self).items())
        )


def run(
    clients: int = 64,
    signatures: int = 3000,
    duplicate_share: float = 0.1,
    gunicorn_workers: int = 3,
    gunicorn_threads: int = 4,
    worker_concurrency: int = 2,
    gunicorn_worker_class: str = "gthread",
    on_running: Callable[[Stack], None] | None = None,
    log: Callable[[str], None] = print,
    telegram_share: float = 0.0,
) -> Result:
    """Create the run's database, start the stack, drive the load, check the
    count, stop the stack, drop the database. With a `telegram_share`, that
    share of the signers confirm through Telegram, one fake Bot API for the
    run (bench.telegram_load)."""
    admin_url, database_url, database = run_database(DATABASE_LABEL)
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    http_listener = listening_socket()
    smtp = SmtpSink()
    telegram = TelegramLoad(telegram_share).start() if telegram_share > 0 else None
    static_root = tempfile.mkdtemp(prefix=f"{database}-static-")
    env = _bench_env(
        with_application_name(database_url, "driver"),
        redis_url,
        int(http_listener.getsockname()[1]),
        smtp.port,
        static_root,
        telegram=telegram.env() if telegram else None,
    )
    log_dir = BASE_DIR / "var" / "bench" / database  # kept after the run: the services' logs
    log_dir.mkdir(parents=True, exist_ok=True)
    log(f"preparing database {database} (migrate, collectstatic); logs in {log_dir}...")
    database_create(admin_url, database)
    sampler = ConnectionSampler(admin_url, database)
    stack = Stack(
        env=env,
        http_listener=http_listener,
        smtp=smtp,
        log_dir=log_dir,
        gunicorn_workers=gunicorn_workers,
        gunicorn_threads=gunicorn_threads,
        gunicorn_worker_class=gunicorn_worker_class,
        worker_concurrency=worker_concurrency,
    )
    try:
        _prepare_database(env)
        _setup_django(env)
        _create_campaign()
        from bench.bare import table_create

        table_create()
        from django.db import connections

        connections.close_all()  # the driver holds no connection during the load
        sampler.start()
        smtp.start()
        stack.start_worker()
        stack.start_gunicorn()
        # A fault run measures the faults alone.
        rates, rate_errors = _rates(stack, clients, log) if on_running is None else ({}, [])
        result = _measure(
            stack, clients, signatures, duplicate_share, on_running, log, telegram=telegram
        )
        result.rates, result.rate_errors = rates, rate_errors
        sampler.stop()
        result.database = database
        result.peak_connections = sampler.peak
        result.peak_connections_by_holder = sampler.peak_by_holder
        result.most_connections_by_holder = sampler.most_by_holder
        return result
    finally:
        sampler.stop()
        stack.stop_all()
        smtp.stop()
        if telegram is not None:
            telegram.stop()
        http_listener.close()
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if database_drop(admin_url, database):
            log(f"database {database} dropped")
        else:
            log(f"database {database} is still in use: left in place")
        shutil.rmtree(static_root, ignore_errors=True)


def _rates(
    stack: Stack, clients: int, log: Callable[[str], None]
) -> tuple[dict[str, float], list[str]]:
    """Requests per second of the yardstick and of the two pages readers
    open most, each from `clients` keep-alive clients, one after another."""
    paths = {
        "bare view": ("POST", "/bench/bare"),
        "campaign page": ("GET", f"/km/campaigns/{CAMPAIGN_SLUG}/"),
        "figures.json": ("GET", f"/km/campaigns/{CAMPAIGN_SLUG}/figures.json"),
    }
    rates: dict[str, float] = {}
    errors: list[str] = []
    for name, (method, path) in paths.items():
        log(f"{name}: {RATE_REQUESTS} requests from {clients} clients...")
        outcome, seconds = _drive(
            stack.http_port,
            clients,
            list(range(RATE_REQUESTS)),
            _requester(method, path),
            {200},
        )
        rates[name] = len(outcome.latencies) / seconds if seconds else 0.0
        errors += [f"{name}: {problem}" for problem in outcome.errors + outcome.dropped_clients]
    return rates, errors


def _requester(method: str, path: str) -> Callable[[Client, Any], int]:
    """Work for `_drive`: one request, its status."""
    return lambda client, _job: client.request(method, path)[0]


def _measure(
    stack: Stack,
    clients: int,
    signatures: int,
    duplicate_share: float,
    on_running: Callable[[Stack], None] | None,
    log: Callable[[str], None],
    telegram: TelegramLoad | None = None,
) -> Result:
    from django.db import connection

    from campaigns.models import Campaign
    from signatures import tallies
    from signatures.models import Signature

    people = _people(signatures, duplicate_share, telegram_share=telegram.share if telegram else 0)
    signers = {signer(person) for person in people}
    distinct = {person["email"] for person in people if person.get("channel") != TELEGRAM}
    fault_thread: threading.Thread | None = None
    # Each signing POST answered 302 (the Telegram page after it is timed apart).
    sign_latencies: list[float] = []
    latency_lock = threading.Lock()

    def submit(client: Client, job: tuple[int, dict[str, str]]) -> int:
        index, person = job
        started = time.perf_counter()
        status, response = client.sign_response(person)
        elapsed = time.perf_counter() - started
        if status == 302:
            with latency_lock:
                sign_latencies.append(elapsed)
            if telegram is not None and person.get("channel") == TELEGRAM:
                telegram.follow(client, index, response.getheader("Location") or "")
        return status

    def progress(finished: int) -> None:
        nonlocal fault_thread
        if on_running and fault_thread is None and finished >= len(people) // 3:
            fault_thread = threading.Thread(target=on_running, args=(stack,))
            fault_thread.start()

    by_telegram = (
        f", {sum(person.get('channel') == TELEGRAM for person in people)} by Telegram"
        if telegram
        else ""
    )
    log(
        f"submitting {len(people)} signatures ({len(signers)} distinct{by_telegram})"
        f" from {clients} clients..."
    )
    submitted, submit_seconds = _drive(
        stack.http_port,
        clients,
        list(enumerate(people)),
        submit,
        {302},
        progress if on_running else None,
    )
    if fault_thread:
        fault_thread.join()

    log("waiting for the confirmation e-mails...")
    mail_started = time.perf_counter()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        with stack.smtp.lock:
            missing = [address for address in distinct if not stack.smtp.links.get(address)]
        if not missing:
            break
        time.sleep(0.5)
    mail_seconds = time.perf_counter() - mail_started

    links = []
    for address in sorted(distinct):
        found = stack.smtp.links.get(address) or []
        if found:
            links.append(found[-1])
    links += links[: len(links) // 20]  # a few people click twice: harmless
    jobs: list[tuple[str, Any]] = [("email", link) for link in links]
    if telegram is not None:
        telegram.wait_for_signatures()
        presses = telegram.start_jobs(people)
        log(f"confirming {len(links)} links and pressing Start {len(presses)} times...")
        jobs += presses
        random.Random(2014).shuffle(jobs)  # both channels at once, as people do
        telegram.phase_started = time.perf_counter()
    else:
        log(f"confirming {len(links)} links...")
    confirm_latencies: list[float] = []  # the e-mail links' (the webhook's: telegram_load)

    def confirm(client: Client, job: tuple[str, Any]) -> int:
        kind, payload = job
        if kind == TELEGRAM:
            assert telegram is not None
            return telegram.deliver(client, payload)
        started = time.perf_counter()
        status = client.request("GET", payload)[0]
        if status == 200:
            elapsed = time.perf_counter() - started
            with latency_lock:
                confirm_latencies.append(elapsed)
        return status

    confirmed, confirm_seconds = _drive(stack.http_port, clients, jobs, confirm, {200})
    if telegram is not None:
        log("waiting for the bot's replies...")
        telegram.wait_for_replies()

    # The public figure is exact before folding; wait for the fold anyway, so
    # the stored tallies are checked too.
    campaign = Campaign.objects.get(slug=CAMPAIGN_SLUG)
    deadline = time.monotonic() + 30
    stored = -1
    while time.monotonic() < deadline:
        from signatures.models import CountryTally

        stored = sum(
            CountryTally.objects.filter(campaign=campaign).values_list("confirmed", flat=True)
        )
        if stored == len(signers):
            break
        time.sleep(1)
    public = _public_total(stack.http_port)
    true_count = Signature.objects.counted().filter(campaign=campaign).count()
    computed = tallies.figures_compute(campaign).total
    # Read last: a reply sent late, or twice, is in it.
    telegram_figures = telegram.figures(people, campaign) if telegram else None
    connection.close()

    latencies = sign_latencies
    return Result(
        clients=clients,
        submissions=len(people),
        distinct_signers=len(signers),
        submit_seconds=submit_seconds,
        signatures_per_second=len(submitted.latencies) / submit_seconds if submit_seconds else 0.0,
        p50_ms=1000 * statistics.median(latencies) if latencies else float("nan"),
        p99_ms=1000 * _percentile(latencies, 0.99),
        submit_errors=submitted.errors,
        submit_dropped_clients=submitted.dropped_clients,
        submit_not_run=submitted.not_run,
        mails_received=stack.smtp.received,
        mail_seconds=mail_seconds,
        confirm_seconds=confirm_seconds,
        confirm_p99_ms=1000 * _percentile(confirm_latencies, 0.99),
        confirm_errors=confirmed.errors,
        confirm_dropped_clients=confirmed.dropped_clients,
        confirm_not_run=confirmed.not_run,
        public_count=public,
        true_count=true_count,
        stored_count=stored,
        computed_count=computed,
        telegram=telegram_figures,
    )


def _public_total(port: int) -> int:
    time.sleep(3.5)  # let the few seconds of figure caching expire
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", f"/en/campaigns/{CAMPAIGN_SLUG}/figures.json")
    return int(json.loads(connection.getresponse().read())["total"])


def _kinds(problems: list[str]) -> str:
    if not problems:
        return "0"
    kinds: dict[str, int] = {}
    for problem in problems:
        kinds[problem] = kinds.get(problem, 0) + 1
    return f"{len(problems)} ({', '.join(f'{k}: {n}' for k, n in sorted(kinds.items()))})"


def _shares(result: Result) -> dict[str, float]:
    """Signatures/s, the campaign page's and figures.json's requests/s, each
    over the bare view's in the same run (empty when not measured)."""
    bare = result.rates.get("bare view", 0.0)
    if not bare:
        return {}
    return {
        "signatures": result.signatures_per_second / bare,
        "campaign page": result.rates["campaign page"] / bare,
        "figures.json": result.rates["figures.json"] / bare,
    }


def report(result: Result) -> str:
    def dropped(clients: list[str], not_run: int) -> str:
        if not clients:
            return "0"
        lost = f", {not_run} never sent" if not_run else ", the others took their share"
        return f"{_kinds(clients)}{lost}"

    agreement = "agree" if result.counts_agree else "DISAGREE (a counting fault)"
    if result.true_count == result.distinct_signers:
        against_expected = "EXACT" if result.counts_agree else "true count exact"
    elif result.errors or result.dropped_clients:
        against_expected = (
            f"short by {result.distinct_signers - result.true_count}, with requests failed"
            " or clients dropped (see above): not in itself a counting fault"
        )
    else:
        against_expected = "WRONG, with no request failed (a counting fault)"
    shortfalls = []
    if result.signatures_per_second < TARGET_RATE:
        shortfalls.append(f"{result.signatures_per_second:.0f} signatures/s")
    if not result.p99_ms < TARGET_P99_MS:
        shortfalls.append(f"p99 {result.p99_ms:.0f} ms")
    if result.errors:
        shortfalls.append(f"{result.errors} requests failed")
    if result.dropped_clients:
        shortfalls.append(f"{result.dropped_clients} clients dropped: fewer at a time than asked")
    if not result.exact:
        shortfalls.append("count not exact")
    if not result.telegram_exact:
        shortfalls.append("Telegram replies or count not exact")
    shares = _shares(result)
    for name, share in shares.items():
        if share < TARGET_SHARES[name]:
            shortfalls.append(f"{name} {share:.2f} of the bare view")

    def holders(counts: dict[str, int]) -> str:
        return ", ".join(f"{holder} {count}" for holder, count in sorted(counts.items()))

    lines = [
        f"database                {result.database} (this run's own)",
        *(
            [
                "requests/s (same run)   "
                + ", ".join(f"{name} {rate:.0f}" for name, rate in result.rates.items()),
                "as a share of bare      "
                + ", ".join(
                    f"{name} {share:.2f} (target >= {TARGET_SHARES[name]:.2f})"
                    for name, share in shares.items()
                ),
                f"yardstick errors        {_kinds(result.rate_errors)}",
            ]
            if result.rates
            else []
        ),
        f"clients                 {result.clients}",
        f"submissions             {result.submissions} ({result.distinct_signers} distinct signers)",
        f"signatures/s            {result.signatures_per_second:.0f} (target >= {TARGET_RATE:.0f})",
        f"latency p50 / p99       {result.p50_ms:.0f} ms / {result.p99_ms:.0f} ms"
        f" (target p99 < {TARGET_P99_MS:.0f} ms)",
        f"submit errors           {_kinds(result.submit_errors)}",
        f"submit clients dropped  {dropped(result.submit_dropped_clients, result.submit_not_run)}",
        f"e-mails received        {result.mails_received} (all in {result.mail_seconds:.1f} s"
        " after the last submission)",
        f"confirmations           {result.confirm_seconds:.1f} s, p99"
        f" {result.confirm_p99_ms:.0f} ms, errors {_kinds(result.confirm_errors)}",
        f"confirm clients dropped "
        f"{dropped(result.confirm_dropped_clients, result.confirm_not_run)}",
        *(
            report_lines(result.telegram, result.submit_errors + result.confirm_errors)
            if result.telegram
            else []
        ),
        f"failed requests         {result.errors}",
        f"counts agree            public/true/stored/computed {result.public_count} /"
        f" {result.true_count} / {result.stored_count} / {result.computed_count}: {agreement}",
        f"counted vs expected     {result.true_count} / {result.distinct_signers}:"
        f" {against_expected}",
        f"PostgreSQL connections  peak {result.peak_connections} at once"
        f" ({holders(result.peak_connections_by_holder) or 'none seen'}); most held by each:"
        f" {holders(result.most_connections_by_holder) or 'none seen'}",
        f"target met              {'yes' if result.meets_target() else 'no'}"
        + (f" ({'; '.join(shortfalls)})" if shortfalls else ""),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench signing", description=__doc__)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--signatures", type=int, default=3000)
    parser.add_argument("--duplicates", type=float, default=0.1)
    parser.add_argument("--gunicorn-workers", type=int, default=3)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--gunicorn-worker-class", choices=["gthread", "sync"], default="gthread")
    parser.add_argument(
        "--telegram-share",
        type=float,
        default=0.2,
        help="share of the signers who confirm through Telegram (a fake Bot API); 0: none",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON too")
    options, _unknown = parser.parse_known_args(argv)
    result = run(
        clients=options.clients,
        signatures=options.signatures,
        duplicate_share=options.duplicates,
        gunicorn_workers=options.gunicorn_workers,
        gunicorn_threads=options.gunicorn_threads,
        worker_concurrency=options.worker_concurrency,
        gunicorn_worker_class=options.gunicorn_worker_class,
        telegram_share=options.telegram_share,
    )
    print(report(result), flush=True)
    if options.json:
        figures = {
            **{k: v for k, v in result.__dict__.items() if k != "telegram"},
            **(
                {
                    "telegram": {
                        **dataclasses.asdict(result.telegram),
                        "exact": result.telegram_exact,
                    }
                }
                if result.telegram
                else {}
            ),
            "errors": result.errors,
            "dropped_clients": result.dropped_clients,
            "counts_agree": result.counts_agree,
            "exact": result.exact,
            "meets_target": result.meets_target(),
        }
        print(json.dumps(figures, default=str))
    ok = (
        result.errors == 0
        and result.dropped_clients == 0
        and result.exact
        and result.telegram_exact
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
