"""Benchmark: what the public count record (transparency/) costs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sitthi \\
    REDIS_URL=redis://127.0.0.1:6379/14 python -m bench record [--leaves 1000000]

1. Per signature: the record's one write (a CountEvent in the confirming
   transaction) in CPU per confirm, measured in-process as bench.requests
   measures requests, with the record and without it (the count's writes
   made without the CountEvent), in alternating blocks; printed as a share of a whole
   signature's CPU (sign POST, the worker's part, confirm) in the same run.
   Target (issue 15): at most 5%.
2. Publishing: a head for `--leaves` leaves (default 1,000,000) in a fresh
   process, its time and peak memory, beside a baseline measured in the
   same process (reading every leaf hash once and hashing it: the least any
   publisher must do); then a second head after 1,000 more leaves, and an
   inclusion proof in a cold and a warm process tree.
   Target: under 30 s and under 300 MB.

A database of the run's own (`<name>_record_<pid>`, dropped at the end).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

BLOCK = 50


def _campaign(slug: str) -> Any:
    from django.utils import timezone

    from campaigns.models import Campaign

    return Campaign.objects.create(
        slug=slug,
        status=Campaign.Status.OPEN,
        opens_at=timezone.now() - timedelta(days=1),
        title_km="ញត្តិទាមទារសិទ្ធិបោះឆ្នោត",
        title_en="The right to vote for Cambodians overseas",
        body_en="We ask for the right to vote.",
    )


def per_signature(signatures: int) -> dict[str, float]:
    """Median CPU ms of each step of a signature, and of confirm without the record."""
    from unittest import mock

    from django.test import Client

    from core.compiled import Write
    from signatures.forms import form_token
    from signatures.links import confirmation_link
    from signatures.models import CountEvent, Signature, Submission
    from signatures.services import submissions_process

    count_writes = Signature._count_writes

    def count_writes_without_record(self: Signature, delta: int, kind: str) -> list[Write]:
        # The count's delta alone: the CountEvent neither made (its hashes)
        # nor written.
        with mock.patch.object(CountEvent, "record_write", lambda **kwargs: None):
            return [write for write in count_writes(self, delta, kind) if write is not None]

    campaign = _campaign("bench-record")
    page = f"/en/campaigns/{campaign.slug}/"
    signer = Client()
    signer.get(page)
    sign_ms, worker_ms = [], []
    for number in range(2 * signatures):
        fields = {
            "full_name": "Sok Dara",
            "email": f"signer{number}@example.org",
            "country": "FR",
            "consent": "on",
            "form_token": form_token(),
        }
        started = time.process_time()
        signer.post(
            f"{page}sign/",
            urlencode(fields),
            content_type="application/x-www-form-urlencoded",
            REMOTE_ADDR=f"10.0.{number >> 8}.{number & 255}",
        )
        sign_ms.append((time.process_time() - started) * 1000)
    for _ in range(Submission.objects.count()):
        started = time.process_time()
        submissions_process(limit=1)
        worker_ms.append((time.process_time() - started) * 1000)
    pending = Signature.objects.filter(campaign=campaign, status=Signature.Status.PENDING)
    links = [urlsplit(confirmation_link(s)).path for s in pending.order_by("pk")]
    reader = Client()
    with_record, without_record = [], []
    for block_start in range(0, len(links), BLOCK):
        block = links[block_start : block_start + BLOCK]
        recording = (block_start // BLOCK) % 2 == 0
        patch = (
            contextlib.nullcontext()
            if recording
            else mock.patch.object(Signature, "_count_writes", count_writes_without_record)
        )
        with patch:
            for link in block:
                started = time.process_time()
                response = reader.get(link)
                elapsed = (time.process_time() - started) * 1000
                if response.status_code != 200:
                    raise SystemExit(f"confirm answered {response.status_code}")
                (with_record if recording else without_record).append(elapsed)
    return {
        "sign POST": statistics.median(sign_ms),
        "worker": statistics.median(worker_ms),
        "confirm (with the record)": statistics.median(with_record),
        "confirm (without)": statistics.median(without_record),
    }


def _leaves_load(campaign_id: int, count: int, first_day: date) -> None:
    """`count` unsequenced leaves over 100 days, written with COPY, and the
    count the site shows moved with them (a delta per country), as
    signatures' status changes move it: the head agrees with the count."""
    from collections import Counter

    from django.db import connection

    from core import countlog
    from signatures.models import CountEvent, TallyDelta

    table = CountEvent._meta.db_table
    columns = "(campaign_id, kind, day, country, delta, receipt_hash, leaf_hash)"
    countries = ["FR", "AU", "US", "CA", "JP", "KR", "TH", "DE", "NZ", "KH"]
    campaign = countlog.campaign_hash(campaign_id)
    shown: Counter[str] = Counter()
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} {columns} FROM STDIN") as copy:
        for number in range(count):
            day = (first_day + timedelta(days=number * 100 // count)).isoformat()
            withdrawn = number % 20 == 19
            fields = countlog.leaf_fields(
                campaign=campaign,
                kind="withdrawn" if withdrawn else "confirmed",
                day=day,
                country=countries[number % len(countries)],
                delta=-1 if withdrawn else 1,
                receipt=countlog.receipt_hash(f"R{number:015d}"),
            )
            copy.write_row(
                (
                    campaign_id,
                    fields["kind"],
                    day,
                    fields["country"],
                    fields["delta"],
                    bytes.fromhex(fields["receipt"]),
                    countlog.leaf_hash(fields),
                )
            )
            shown[fields["country"]] += fields["delta"]
    step = 30_000  # a delta is a small integer
    TallyDelta.objects.bulk_create(
        TallyDelta(campaign_id=campaign_id, country=country, delta=min(step, total - done))
        for country, total in shown.items()
        for done in range(0, total, step)
    )


def publish_in_this_process(campaign_id: int) -> dict[str, float]:
    """Run in a fresh process: the baseline, then the head, then proofs."""
    from campaigns.models import Campaign
    from signatures.models import CountEvent
    from transparency import services
    from transparency.tree import forget_trees

    campaign = Campaign.objects.get(pk=campaign_id)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    started = time.perf_counter()
    digest = hashlib.sha256()
    for value in (
        CountEvent.objects.filter(campaign_id=campaign_id)
        .values_list("leaf_hash", flat=True)
        .iterator(chunk_size=20000)
    ):
        digest.update(b"\x00" + bytes(value))
    baseline = time.perf_counter() - started

    started = time.perf_counter()
    head = services.head_publish(campaign)
    publish = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert head is not None

    forget_trees()
    started = time.perf_counter()
    services.inclusion_proof(head, head.size // 3)
    cold_proof = time.perf_counter() - started
    started = time.perf_counter()
    services.inclusion_proof(head, head.size // 3 + 12345)
    warm_proof = time.perf_counter() - started
    return {
        "leaves": head.size,
        "baseline_s": baseline,
        "publish_s": publish,
        "rss_before_mb": rss_before,
        "rss_peak_mb": peak,
        "cold_proof_s": cold_proof,
        "warm_proof_s": warm_proof,
    }


def publishing(leaves: int) -> dict[str, float]:
    from signatures.models import CountEvent
    from transparency.models import Leaf

    campaign = _campaign("bench-record-large")
    started = time.perf_counter()
    _leaves_load(campaign.pk, leaves, date(2026, 1, 1))
    load = time.perf_counter() - started
    child = subprocess.run(
        [sys.executable, "-m", "bench.record", "--publish-only", str(campaign.pk)],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ.copy(),
    )
    if child.returncode != 0:
        raise SystemExit(child.stdout + child.stderr)
    first = json.loads(child.stdout.strip().splitlines()[-1])
    _leaves_load(campaign.pk, 1000, date(2026, 4, 11))
    from transparency import services

    started = time.perf_counter()
    services.head_publish(campaign)
    second = time.perf_counter() - started
    assert (
        Leaf.objects.filter(campaign=campaign).count()
        == CountEvent.objects.filter(campaign=campaign).count()
    )
    return first | {"load_s": load, "second_head_s": second}


def _setup(database_url: str, static_root: str) -> None:
    from bench.requests import _setup_django

    _setup_django(database_url, static_root)
    from django.conf import settings

    settings.ROOT_URLCONF = "config.urls"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signatures", type=int, default=300)
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--publish-only", type=int, default=0, help=argparse.SUPPRESS)
    args, _unknown = parser.parse_known_args(argv)

    if args.publish_only:  # the child process of `publishing`, settings inherited
        import django

        django.setup()
        print(json.dumps(publish_in_this_process(args.publish_only)))
        return 0

    from bench.databases import database_create, database_drop, run_database

    admin_url, database_url, name = run_database("record")
    static_root = tempfile.TemporaryDirectory(prefix="bench-record-static-")
    database_create(admin_url, name)
    try:
        _setup(database_url, static_root.name)
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        call_command("collectstatic", verbosity=0, interactive=False)
        steps = per_signature(args.signatures)
        whole = steps["sign POST"] + steps["worker"] + steps["confirm (with the record)"]
        cost = steps["confirm (with the record)"] - steps["confirm (without)"]
        print("1. The record's CPU per signature (median ms, in-process)")
        for step, ms in steps.items():
            print(f"   {step:28} {ms:7.2f}")
        print(f"   {'a whole signature':28} {whole:7.2f}")
        print(
            f"   the record adds {cost:+.2f} ms per signature = {100 * cost / whole:+.1f}% "
            f"of a signature's CPU (target ≤ 5%: {'met' if cost <= 0.05 * whole else 'NOT met'})"
        )
        figures = publishing(args.leaves)
        print(f"2. Publishing a head for {int(figures['leaves']):,} leaves (a fresh process)")
        print(f"   loading the leaves (COPY, not timed as publishing) {figures['load_s']:.1f} s")
        print(f"   baseline: read and hash every leaf once          {figures['baseline_s']:.1f} s")
        print(
            f"   publishing the head                               {figures['publish_s']:.1f} s"
            f" = {figures['publish_s'] / figures['baseline_s']:.1f}× the baseline"
            f" (target < 30 s: {'met' if figures['publish_s'] < 30 else 'NOT met'})"
        )
        print(
            f"   peak memory (RSS) {figures['rss_peak_mb']:.0f} MB, of which Django and the"
            f" app {figures['rss_before_mb']:.0f} MB"
            f" (target < 300 MB: {'met' if figures['rss_peak_mb'] < 300 else 'NOT met'})"
        )
        print(
            f"   the next head, 1,000 leaves later                  {figures['second_head_s']:.1f} s"
        )
        print(
            f"   an inclusion proof: cold process {figures['cold_proof_s']:.2f} s,"
            f" then {figures['warm_proof_s'] * 1000:.0f} ms"
        )
    finally:
        from django.db import connections

        connections.close_all()
        if not database_drop(admin_url, name):
            print(f"database {name} still in use: left in place")
        static_root.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
