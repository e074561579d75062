"""Benchmark: CPU per request, in-process, beside a bare one-INSERT view.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sitthi \\
    REDIS_URL=redis://127.0.0.1:6379/14 python -m bench requests [--repeats 400]

Each request goes through Django's whole handler and middleware with the
production settings that matter (DEBUG off, Redis cache and broker,
PostgreSQL), driven by Django's test client in this process, and its CPU
time (`time.process_time`, so PostgreSQL's and Redis's own work is not
counted, as it is not on a web process) and queries are measured. The bare
view (bench.bare) is measured in the same run and every figure is also
printed as a ratio to it: absolute figures on a shared 2-core machine are
noisy, the ratios much less so.

Isolation, so that two runs on one machine never touch each other: a
database of the run's own (`<DATABASE_URL's name>_requests_<pid>`, dropped
at the end), a cache key prefix and a Celery queue of its own (the queued
tasks are deleted at the end; the worker's part is run and measured here).

Targets (issue 14): sign POST <= 2.5 ms, confirm <= 2.5 ms, thanks <= 1.5 ms,
campaign page for an anonymous reader <= 1.5 ms. The Telegram start page
(after signing to confirm by Telegram) is measured beside them.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import os
import pstats
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
# `--profile NAME [--order cumulative]`: also print where that request's CPU
# time goes (cProfile on process time, by own time unless told); its CPU
# figures are then the profiler's, not the app's.
PROFILED = ""
PROFILE_ORDER = "tottime"
TARGETS_MS = {"sign POST": 2.5, "confirm": 2.5, "thanks page": 1.5, "campaign page": 1.5}


def _setup_django(database_url: str, static_root: str) -> None:
    from cryptography.fernet import Fernet

    if not os.environ.get("REDIS_URL"):
        raise SystemExit("bench requests needs Redis: set REDIS_URL=redis://...")
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url,
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "testserver",
            "SITE_URL": "https://testserver",
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_HSTS_SECONDS": "0",
            "SIGNER_DATA_KEYS": Fernet.generate_key().decode(),
            "SIGNER_HASH_KEY": secrets.token_urlsafe(32),
            "RECORD_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "CELERY_QUEUE": f"bench-requests-{os.getpid()}",
            "SIGNATURE_MIN_FILL_SECONDS": "0",
            "LOG_LEVEL": "WARNING",
            "STATIC_ROOT": static_root,
            # Telegram offered (its start page is measured); nothing calls its API.
            "TELEGRAM_BOT_TOKEN": "123456:bench",
            "TELEGRAM_BOT_USERNAME": "sitthi_bench_bot",
            "TELEGRAM_WEBHOOK_SECRET": "bench-webhook-secret",
        }
    )
    sys.path.insert(0, str(BASE_DIR))
    import django
    from django.conf import settings

    django.setup()
    settings.CACHES["default"]["KEY_PREFIX"] = f"bench-requests-{os.getpid()}"
    settings.ROOT_URLCONF = "bench.urls"
    # The test client speaks plain HTTP; production's secure cookies would be dropped.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False


# The last requests of each measure are not timed but profiled, to count
# the Python function calls a request makes: a figure the machine's speed
# does not move, beside the CPU time it does.
CALL_SAMPLES = 10


@dataclass
class Row:
    name: str
    cpu_ms: list[float]
    queries: int
    calls: float  # Python function calls per request (test client included)

    @property
    def median(self) -> float:
        return statistics.median(self.cpu_ms)


def _measure(
    name: str, request: Callable[[int], Any], repeats: int, check: Callable[[Any], None]
) -> Row:
    """CPU per call of `request(i)`, after a few warm-up calls."""
    from django.db import connection, reset_queries

    for number in range(5):
        check(request(-1 - number))
    samples = []
    connection.force_debug_cursor = True
    reset_queries()
    request(-100)
    queries = len(connection.queries)
    connection.force_debug_cursor = False
    profiler = cProfile.Profile(time.process_time) if name == PROFILED else None
    counted = min(CALL_SAMPLES, repeats - 1)  # at least one request is timed
    timed = repeats - counted
    for number in range(timed):
        started = time.process_time()
        if profiler:
            profiler.enable()
        response = request(number)
        if profiler:
            profiler.disable()
        samples.append((time.process_time() - started) * 1000)
        check(response)
    counter = cProfile.Profile()
    for number in range(timed, repeats):
        counter.enable()
        response = request(number)
        counter.disable()
        check(response)
    calls = sum(entry.callcount for entry in counter.getstats()) / max(counted, 1)
    if profiler:
        pstats.Stats(profiler).sort_stats(PROFILE_ORDER).print_stats(40)
        if os.environ.get("BENCH_PROFILE_DUMP"):
            profiler.dump_stats(os.environ["BENCH_PROFILE_DUMP"])
    return Row(name=name, cpu_ms=samples, queries=queries, calls=calls)


def _processed_one(processed: int) -> None:
    if processed != 1:
        raise SystemExit(f"expected one submission processed, got {processed}")


def _status(expected: int) -> Callable[[Any], None]:
    def check(response: Any) -> None:
        if response.status_code != expected:
            raise SystemExit(f"expected {expected}, got {response.status_code}")

    return check


def run(repeats: int) -> list[Row]:
    from django.test import Client
    from django.utils import timezone

    from bench.bare import table_create
    from campaigns.models import Campaign
    from signatures.forms import form_token
    from signatures.links import confirmation_link
    from signatures.models import Signature, Submission
    from signatures.services import submissions_process

    table_create()
    campaign = Campaign.objects.create(
        slug="bench-right-to-vote",
        status=Campaign.Status.OPEN,
        opens_at=timezone.now() - timedelta(days=1),
        title_km="ញត្តិទាមទារសិទ្ធិបោះឆ្នោត",
        title_en="The right to vote for Cambodians overseas",
        body_km="យើងទាមទារ **សិទ្ធិបោះឆ្នោត**។",
        body_en="We ask for **the right to vote**.",
        summary_en="Sign for the right to vote.",
    )
    page = f"/en/campaigns/{campaign.slug}/"
    reader = Client()
    signer = Client(enforce_csrf_checks=True)
    signer.get(page)
    csrf = signer.cookies["csrftoken"].value

    def address(number: int) -> str:
        return f"signer{number + 1000}@example.org"

    def sign(number: int) -> Any:
        # Encoded as a browser sends the form (urlencoded, not the test
        # client's multipart, whose parsing costs more than the form's).
        fields = {
            "full_name": "Sok Dara",
            "email": address(number),
            "country": "FR",
            "consent": "on",
            "confirm_by": "email",
            "form_token": form_token(),
            "csrfmiddlewaretoken": csrf,
        }
        return signer.post(
            f"{page}sign/",
            urlencode(fields),
            content_type="application/x-www-form-urlencoded",
            # One address each, as people are: the per-IP rate limits stay out of it.
            REMOTE_ADDR=f"10.{(number >> 16) & 255}.{(number >> 8) & 255}.{number & 255}",
        )

    rows = [
        _measure("bare view (1 INSERT)", lambda n: reader.post("/bench/bare"), repeats, _status(200)),
        _measure("campaign page", lambda n: reader.get(page), repeats, _status(200)),
        _measure("campaign page (km)", lambda n: reader.get(page.replace("/en/", "/km/")), repeats, _status(200)),
        _measure("figures.json", lambda n: reader.get(f"{page}figures.json"), repeats, _status(200)),
        _measure("sign POST", sign, repeats, _status(302)),
        _measure("thanks page", lambda n: reader.get(f"{page}thanks/"), repeats, _status(200)),
        # A start token of its own each time, as each signer has.
        _measure("Telegram start page", lambda n: reader.get(f"{page}telegram/benchstart{n + 100:012d}/"), repeats, _status(200)),
    ]  # fmt: skip

    # The worker's part, then the links it mailed.
    rows.append(
        _measure(
            "worker: submission → signature",
            lambda n: submissions_process(limit=1),
            Submission.objects.count() - 6,  # the warm-up and the query count take six
            _processed_one,
        )
    )
    pending = list(Signature.objects.filter(status=Signature.Status.PENDING).order_by("pk"))
    links = [urlsplit(confirmation_link(signature)).path for signature in pending]
    rows.append(
        _measure("confirm", lambda n: reader.get(links[n + 6]), len(links) - 6, _status(200))
    )
    return rows


def report(rows: list[Row]) -> str:
    bare = rows[0].median
    lines = [
        f"{'request':34} {'CPU ms (median)':>16} {'p90':>7} {'× bare':>7} {'queries':>8}"
        f" {'calls':>7} {'× bare':>7}  target",
    ]
    for row in rows:
        p90 = sorted(row.cpu_ms)[int(len(row.cpu_ms) * 0.9)]
        target = TARGETS_MS.get(row.name)
        verdict = ""
        if target is not None:
            verdict = f"≤ {target} ms: {'met' if row.median <= target else 'NOT met'}"
        lines.append(
            f"{row.name:34} {row.median:16.2f} {p90:7.2f} {row.median / bare:7.2f} "
            f"{row.queries:8} {row.calls:7.0f} {row.calls / rows[0].calls:7.2f}  {verdict}"
        )
    return "\n".join(lines)


def _queued_tasks_delete() -> None:
    import redis
    from django.conf import settings

    with redis.Redis.from_url(settings.CELERY_BROKER_URL) as client:
        client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=400)
    parser.add_argument("--profile", default="", help="a request's name, e.g. 'campaign page'")
    parser.add_argument("--order", default="tottime", help="the profile's order (pstats keys)")
    args, _unknown = parser.parse_known_args(argv)
    global PROFILED, PROFILE_ORDER
    PROFILED = args.profile
    PROFILE_ORDER = args.order
    from bench.databases import database_create, database_drop, run_database

    admin_url, database_url, name = run_database("requests")
    static_root = tempfile.TemporaryDirectory(prefix="bench-requests-static-")
    database_create(admin_url, name)
    try:
        _setup_django(database_url, static_root.name)
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        call_command("collectstatic", verbosity=0, interactive=False)
        rows = run(args.repeats)
        print(report(rows), flush=True)
        _queued_tasks_delete()
    finally:
        from django.db import connections

        connections.close_all()
        if not database_drop(admin_url, name):
            print(f"database {name} is still in use: left in place", flush=True)
        static_root.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
