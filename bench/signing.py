"""Benchmark: a flood of signatures, then their confirmations, on the real stack.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    REDIS_URL=redis://127.0.0.1:6379/1 python -m bench signing [--clients 64] [--signatures 3000]

Everything runs on this machine: gunicorn (gthread, DEBUG off) on PostgreSQL
(its own database, sitthi_bench, recreated and migrated each run), Redis for
the cache, rate limits and the Celery broker, a real Celery worker with beat
embedded (the tally fold), and a local aiosmtpd sink that receives the
confirmation e-mails. Clients are threads with keep-alive connections; each
simulated signer has its own address (X-Forwarded-For behind one trusted
proxy), so the per-IP rate limits run for real. About one submission in ten
repeats an earlier e-mail (signing twice).

Phases: submit (measured: signatures/s, p50/p99 latency, errors), wait for
every confirmation e-mail, open every confirm link (some twice), then check
that the public figure, the stored tallies and a true COUNT all equal the
number of distinct signers. Target (issue 3): 333 signatures/s, p99 < 300 ms
at 64 clients, zero errors, exact count.

For fault benchmarks, `run(..., on_running=callback)` calls `callback(stack)`
in its own thread once submissions are under way; `stack` can stop and start
the worker and gunicorn (see `Stack`).
"""

from __future__ import annotations

import argparse
import email
import http.client
import ipaddress
import json
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "sitthi_bench"
CAMPAIGN_SLUG = "bench-right-to-vote"
TARGET_RATE = 333.0
TARGET_P99_MS = 300.0
COUNTRIES = ["FR", "US", "AU", "CA", "KR", "JP", "TH", "NZ", "DE", "GB", "KH"]
CONFIRM_LINK = re.compile(rb"https?://[^/\s]+(/(?:km|en)/sign/confirm/[^\s/]+/)")


# --- Services -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_urls() -> tuple[str, str]:
    """(admin URL to create the database, the bench database's URL)."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(base)
    if not parts.scheme.startswith("postgres"):
        raise SystemExit("bench signing needs PostgreSQL: set DATABASE_URL=postgres://...")
    return (
        urlunsplit(parts._replace(path="/postgres")),
        urlunsplit(parts._replace(path="/" + BENCH_DATABASE)),
    )


class SmtpSink:
    """A local SMTP server that keeps each recipient's confirm links."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.links: dict[str, list[str]] = {}
        self.received = 0
        self.lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

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
    http_port: int
    smtp: SmtpSink
    log_dir: Path
    gunicorn_workers: int = 3
    gunicorn_threads: int = 8
    worker_concurrency: int = 2
    gunicorn: subprocess.Popen | None = None
    worker: subprocess.Popen | None = None
    started: list[subprocess.Popen] = field(default_factory=list)

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "a")  # noqa: SIM115 - kept open for the process
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append(process)
        return process

    def start_gunicorn(self) -> None:
        self.gunicorn = self._spawn(
            "gunicorn",
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--config",
                "config/gunicorn.py",  # production's settings (JSON access log), then ours
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{self.http_port}",
                "--worker-class",
                "gthread",
                "--workers",
                str(self.gunicorn_workers),
                "--threads",
                str(self.gunicorn_threads),
                "--backlog",
                "2048",
                "--keep-alive",
                "30",
            ],
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=5)
                connection.request("GET", "/healthz")
                if connection.getresponse().status < 500:
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not start: see var/bench/gunicorn.log")

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
                "--beat",
                "--schedule",
                str(self.log_dir / "beat-schedule"),
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
                f"bench-{os.getpid()}@%h",
            ],
        )

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


def _bench_env(database_url: str, redis_url: str, http_port: int, smtp_port: int) -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": f"http://127.0.0.1:{http_port}",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "SIGNER_DATA_KEYS": Fernet.generate_key().decode(),
        "SIGNER_HASH_KEY": secrets.token_urlsafe(32),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": f"bench-{os.getpid()}",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "STATIC_ROOT": str(BASE_DIR / "var" / "bench" / "static"),
        "TRUSTED_PROXY_COUNT": "1",
        "SIGNATURE_MIN_FILL_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def _prepare_database(admin_url: str, env: dict[str, str]) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {BENCH_DATABASE}")
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
    errors: list[str] = field(default_factory=list)


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

    def sign(self, person: dict[str, str]) -> int:
        # Each person's own page load: a form token works once (a replayed
        # one is held for review), so the token is minted here, as the page
        # would have, with the server's SECRET_KEY (after _setup_django).
        from signatures.forms import form_token

        self.form_token = form_token()
        body = urlencode(
            {
                "csrfmiddlewaretoken": self.csrf,
                "full_name": person["name"],
                "email": person["email"],
                "country": person["country"],
                "consent": "on",
                "form_token": self.form_token,
            }
        )
        status, _body, _response = self.request(
            "POST",
            f"/{person['lang']}/campaigns/{CAMPAIGN_SLUG}/sign/",
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Forwarded-For": person["ip"],
            },
        )
        return status


def _people(count: int, duplicate_share: float, seed: int = 2014) -> list[dict[str, str]]:
    """Signers in submission order; some repeat an earlier e-mail.

    Each signer has an address of their own in the benchmarking range
    198.18.0.0/15, at an offset new for every run: the rate-limit windows in
    Redis (up to an hour) outlive a run, and a signer who kept the same
    address over a dozen runs was held as suspect and spoilt the count."""
    rng = random.Random(seed)
    first_address = ipaddress.ip_address("198.18.0.0") + secrets.randbelow(2**17 - count)
    people: list[dict[str, str]] = []
    for number in range(count):
        if people and rng.random() < duplicate_share:
            people.append(dict(rng.choice(people)))
            continue
        people.append(
            {
                "name": rng.choice(["សុខ ដារ៉ា", "Chan Sophea", "ចាន់ សុភា", "Keo Bopha"])
                + f" {number}",
                "email": f"signer{number}@bench.example",
                "country": rng.choice(COUNTRIES),
                "lang": rng.choice(["km", "en"]),
                "ip": str(first_address + number),
            }
        )
    return people


def _drive(
    port: int,
    clients: int,
    jobs: list[Any],
    work: Callable[[Client, Any], int],
    expected: set[int],
    progress: Callable[[int], None] | None = None,
) -> tuple[Outcome, float]:
    """Run `work(client, job)` for every job on `clients` threads. Returns the
    outcome and the wall time."""
    outcome = Outcome()
    lock = threading.Lock()
    position = iter(range(len(jobs)))
    done = [0]

    def client_loop() -> None:
        client = Client(port)
        try:
            client.open_campaign()
        except Exception as failure:  # counted once; the other clients carry on
            with lock:
                outcome.errors.append(f"open: {failure}")
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
    return outcome, time.perf_counter() - started


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


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
    mails_received: int
    mail_seconds: float
    confirm_seconds: float
    confirm_p99_ms: float
    confirm_errors: list[str]
    public_count: int
    true_count: int
    stored_count: int
    exact: bool

    @property
    def errors(self) -> int:
        return len(self.submit_errors) + len(self.confirm_errors)

    def meets_target(self) -> bool:
        return (
            self.signatures_per_second >= TARGET_RATE
            and self.p99_ms < TARGET_P99_MS
            and self.errors == 0
            and self.exact
        )


def run(
    clients: int = 64,
    signatures: int = 3000,
    duplicate_share: float = 0.1,
    gunicorn_workers: int = 3,
    gunicorn_threads: int = 8,
    worker_concurrency: int = 2,
    on_running: Callable[[Stack], None] | None = None,
    log: Callable[[str], None] = print,
) -> Result:
    """Start the stack, drive the load, check the count, stop the stack."""
    admin_url, database_url = database_urls()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    http_port = free_port()
    smtp = SmtpSink()
    env = _bench_env(database_url, redis_url, http_port, smtp.port)
    log_dir = BASE_DIR / "var" / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    log(f"preparing database {BENCH_DATABASE} (migrate, collectstatic)...")
    _prepare_database(admin_url, env)
    _setup_django(env)
    _create_campaign()
    stack = Stack(
        env=env,
        http_port=http_port,
        smtp=smtp,
        log_dir=log_dir,
        gunicorn_workers=gunicorn_workers,
        gunicorn_threads=gunicorn_threads,
        worker_concurrency=worker_concurrency,
    )
    smtp.start()
    try:
        stack.start_worker()
        stack.start_gunicorn()
        return _measure(stack, clients, signatures, duplicate_share, on_running, log)
    finally:
        stack.stop_all()
        smtp.stop()


def _measure(
    stack: Stack,
    clients: int,
    signatures: int,
    duplicate_share: float,
    on_running: Callable[[Stack], None] | None,
    log: Callable[[str], None],
) -> Result:
    from django.db import connection

    from campaigns.models import Campaign
    from signatures import tallies
    from signatures.models import Signature

    people = _people(signatures, duplicate_share)
    distinct = {person["email"] for person in people}
    fault_thread: threading.Thread | None = None

    def progress(finished: int) -> None:
        nonlocal fault_thread
        if on_running and fault_thread is None and finished >= len(people) // 3:
            fault_thread = threading.Thread(target=on_running, args=(stack,))
            fault_thread.start()

    log(f"submitting {len(people)} signatures ({len(distinct)} distinct) from {clients} clients...")
    submitted, submit_seconds = _drive(
        stack.http_port,
        clients,
        people,
        lambda client, person: client.sign(person),
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
    log(f"confirming {len(links)} links...")
    confirmed, confirm_seconds = _drive(
        stack.http_port,
        clients,
        links,
        lambda client, path: client.request("GET", path)[0],
        {200},
    )

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
        if stored == len(distinct):
            break
        time.sleep(1)
    public = _public_total(stack.http_port)
    true_count = Signature.objects.counted().filter(campaign=campaign).count()
    computed = tallies.figures_compute(campaign).total
    connection.close()

    latencies = submitted.latencies
    return Result(
        clients=clients,
        submissions=len(people),
        distinct_signers=len(distinct),
        submit_seconds=submit_seconds,
        signatures_per_second=len(latencies) / submit_seconds if submit_seconds else 0.0,
        p50_ms=1000 * statistics.median(latencies) if latencies else float("nan"),
        p99_ms=1000 * _percentile(latencies, 0.99),
        submit_errors=submitted.errors,
        mails_received=stack.smtp.received,
        mail_seconds=mail_seconds,
        confirm_seconds=confirm_seconds,
        confirm_p99_ms=1000 * _percentile(confirmed.latencies, 0.99),
        confirm_errors=confirmed.errors,
        public_count=public,
        true_count=true_count,
        stored_count=stored,
        exact=public == true_count == stored == computed == len(distinct),
    )


def _public_total(port: int) -> int:
    time.sleep(3.5)  # let the few seconds of figure caching expire
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", f"/en/campaigns/{CAMPAIGN_SLUG}/figures.json")
    return int(json.loads(connection.getresponse().read())["total"])


def report(result: Result) -> str:
    def summary(errors: list[str]) -> str:
        if not errors:
            return "0"
        kinds: dict[str, int] = {}
        for error in errors:
            kinds[error] = kinds.get(error, 0) + 1
        return f"{len(errors)} ({', '.join(f'{k}: {n}' for k, n in sorted(kinds.items()))})"

    lines = [
        f"clients                 {result.clients}",
        f"submissions             {result.submissions} ({result.distinct_signers} distinct signers)",
        f"signatures/s            {result.signatures_per_second:.0f} (target >= {TARGET_RATE:.0f})",
        f"latency p50 / p99       {result.p50_ms:.0f} ms / {result.p99_ms:.0f} ms"
        f" (target p99 < {TARGET_P99_MS:.0f} ms)",
        f"submit errors           {summary(result.submit_errors)}",
        f"e-mails received        {result.mails_received} (all in {result.mail_seconds:.1f} s"
        " after the last submission)",
        f"confirmations           {result.confirm_seconds:.1f} s, p99"
        f" {result.confirm_p99_ms:.0f} ms, errors {summary(result.confirm_errors)}",
        f"count public/true/stored {result.public_count} / {result.true_count} /"
        f" {result.stored_count}, expected {result.distinct_signers}:"
        f" {'EXACT' if result.exact else 'WRONG'}",
        f"target met              {'yes' if result.meets_target() else 'no'}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench signing", description=__doc__)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--signatures", type=int, default=3000)
    parser.add_argument("--duplicates", type=float, default=0.1)
    parser.add_argument("--gunicorn-workers", type=int, default=3)
    parser.add_argument("--gunicorn-threads", type=int, default=8)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the result as JSON too")
    options, _unknown = parser.parse_known_args(argv)
    result = run(
        clients=options.clients,
        signatures=options.signatures,
        duplicate_share=options.duplicates,
        gunicorn_workers=options.gunicorn_workers,
        gunicorn_threads=options.gunicorn_threads,
        worker_concurrency=options.worker_concurrency,
    )
    print(report(result), flush=True)
    if options.json:
        print(json.dumps({**result.__dict__, "meets_target": result.meets_target()}, default=str))
    return 0 if result.errors == 0 and result.exact else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
