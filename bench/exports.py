"""Benchmark: the full CSV export of 1,000,000 signatures and the delivery
document for 100,000 signatures, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python -m bench exports

The rows go into their own database (sitthi_bench_exports, or the name in
BENCH_DATABASE so that two runs on one machine never meet; recreated each
run) with COPY. Each measurement runs in a fresh process, so its peak memory
(ru_maxrss) is the export's own, not the loading's. Targets (issue 5): export
under 20 s and 200 MB; delivery document under 90 s and 1 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "sitthi_bench_exports")
TARGETS = {"export": (20.0, 200.0), "delivery": (90.0, 1024.0)}


def _bench_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + BENCH_DATABASE))


def _setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def _recreate_database(admin_url: str) -> None:
    import psycopg

    parts = urlsplit(admin_url)
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}"')
        connection.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')


def _load(signatures: int, named: int) -> dict[str, int]:
    """Two campaigns: `signatures` rows for the export, `named` public rows
    for the delivery document. COPY, with a pool of real ciphertexts."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from campaigns.models import Campaign
    from core.crypto import encrypt
    from signatures.models import Signature

    call_command("migrate", verbosity=0)
    export_campaign = Campaign.objects.create(
        slug="bench-export", status="open", title_en="Export benchmark", title_km="ញត្តិ"
    )
    delivery_campaign = Campaign.objects.create(
        slug="bench-delivery",
        status="open",
        title_en="The right to vote for Cambodians overseas",
        title_km="ញត្តិទាមទារសិទ្ធិបោះឆ្នោតសម្រាប់ពលរដ្ឋខ្មែរនៅក្រៅប្រទេស",
        body_km="យើងទាមទារ **សិទ្ធិបោះឆ្នោត** សម្រាប់ពលរដ្ឋខ្មែររស់នៅក្រៅប្រទេស។ " * 20,
        body_en="We ask for **the right to vote** for Cambodians living overseas. " * 20,
        target_km="គណៈកម្មាធិការជាតិរៀបចំការបោះឆ្នោត",
        target_en="The National Election Committee",
    )
    # Each row is decrypted by the export; 2,000 distinct ciphertexts cost
    # the same to decrypt as a million and load 500 times faster.
    emails = [encrypt(f"signer{n}@example.org") for n in range(2000)]
    phones = [encrypt(f"+3361234{n:04d}") for n in range(2000)]
    countries = ["FR", "US", "AU", "CA", "DE", "KR", "JP", "TH", "GB", "NZ"]
    provinces = ["kampot", "takeo", "phnom-penh", "battambang", "siem-reap", ""]
    names = ["សុខ ដារ៉ា", "ចាន់ ធីតា", "Sophan Seng", "កែវ សុភា", "Dara Chan"]
    now = timezone.now().isoformat()
    table = Signature._meta.db_table
    columns = (
        "campaign_id, status, source, event, full_name, name_key, email, email_hash, phone, "
        "country, city, province, answers, show_publicly, wants_updates, language, referrer, "
        "utm, suspect_reason, invalidation_reason, link_secret, confirmation_sends, "
        "created_at, confirmed_at, receipt, channel, telegram_chat"
    )
    for campaign, count, public in (
        (export_campaign, signatures, False),
        (delivery_campaign, named, True),
    ):
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for n in range(count):
                name = f"{names[n % 5]} {n}"
                copy.write_row(
                    (
                        campaign.pk,
                        "confirmed",
                        "online",
                        "",
                        name,
                        name.casefold(),
                        emails[n % 2000],
                        f"{campaign.pk:08x}{n:056x}",
                        phones[n % 2000] if n % 3 == 0 else "",
                        countries[n % 10],
                        "",
                        provinces[n % 6],
                        "{}",
                        public or n % 2 == 0,
                        n % 2 == 0,
                        "km",
                        "https://facebook.com/" if n % 4 == 0 else "",
                        '{"utm_source": "facebook"}' if n % 4 == 0 else "{}",
                        "",
                        "",
                        f"s{n}",
                        1,
                        now,
                        now,
                        f"{n:016d}",
                        "email",
                        "",
                    )
                )
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")
    return {"export": export_campaign.pk, "delivery": delivery_campaign.pk}


def _measure(kind: str, campaign_id: int) -> dict[str, Any]:
    """Runs in its own process: time and peak memory of one export."""
    from campaigns.models import Campaign
    from organisers import delivery, exports

    campaign = Campaign.objects.get(pk=campaign_id)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    if kind == "export":
        size = rows = 0
        with open(os.devnull, "wb") as sink:
            for chunk in exports.export_lines(campaign):
                sink.write(chunk)
                size += len(chunk)
                rows += chunk.count(b"\n")
        result: dict[str, Any] = {"rows": rows - 1, "bytes": size}
    else:
        out = BASE_DIR / "var" / "bench-delivery.pdf"
        out.parent.mkdir(exist_ok=True)
        with open(out, "wb") as handle:
            listed = delivery.delivery_write(campaign, handle, with_names=True, language="km")
        from pypdf import PdfReader

        result = {"names": listed, "bytes": out.stat().st_size, "pages": len(PdfReader(out).pages)}
    result["seconds"] = round(time.perf_counter() - started, 2)
    # CPU time of this process: on a shared machine wall time includes waiting.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_seconds"] = round(usage.ru_utime + usage.ru_stime - cpu_before, 2)
    result["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench exports")
    parser.add_argument("--signatures", type=int, default=1_000_000)
    parser.add_argument("--named", type=int, default=100_000)
    parser.add_argument(
        "--reuse", action="store_true", help="measure on the rows loaded by the last run"
    )
    parser.add_argument(
        "--only", choices=["export", "delivery"], help="measure one of the two (both by default)"
    )
    parser.add_argument("--measure", choices=["export", "delivery"], help=argparse.SUPPRESS)
    parser.add_argument("--campaign", type=int, help=argparse.SUPPRESS)
    options, _others = parser.parse_known_args(argv)  # options meant for other benchmarks
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        print("Set DATABASE_URL=postgres://... (a PostgreSQL server; a database is created).")
        return 2

    if options.measure:
        _setup_django(database_url)
        print(json.dumps(_measure(options.measure, options.campaign)))
        return 0

    bench_url = _bench_url(database_url)
    if options.reuse:
        _setup_django(bench_url)
        from campaigns.models import Campaign

        campaigns = {
            "export": Campaign.objects.get(slug="bench-export").pk,
            "delivery": Campaign.objects.get(slug="bench-delivery").pk,
        }
    else:
        _recreate_database(database_url)
        _setup_django(bench_url)
        started = time.perf_counter()
        campaigns = _load(options.signatures, options.named)
        print(
            f"loaded {options.signatures:,} + {options.named:,} signatures "
            f"in {time.perf_counter() - started:.1f} s"
        )
    failed = False
    for kind in [options.only] if options.only else ["export", "delivery"]:
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.exports",
                "--measure",
                kind,
                "--campaign",
                str(campaigns[kind]),
            ],
            cwd=BASE_DIR,
            env={**os.environ, "DATABASE_URL": bench_url},
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        seconds, megabytes = TARGETS[kind]
        ok = result["seconds"] < seconds and result["peak_mb"] < megabytes
        failed |= not ok
        print(
            f"{kind}: {json.dumps(result)} "
            f"(target < {seconds:.0f} s, < {megabytes:.0f} MB: {'met' if ok else 'MISSED'})"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
