from __future__ import annotations

import csv
import ctypes
import gc
import io
import tracemalloc
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from core import roles
from core.models import AuditEntry
from organisers import exports
from organisers.models import GeneratedFile
from signatures.models import Signature
from tests.factories import make_campaign, make_signature, make_staff, sign_in

Status = Signature.Status


def _signed_in(role: str, *, two_factor: bool = True) -> Client:
    client = Client()
    sign_in(client, make_staff(role, two_factor=two_factor))
    return client


def _csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # Excel reads Khmer only with the BOM
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def _xlsx_rows(content: bytes) -> list[list[Any]]:
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    # An empty cell reads back as None: compare it as the empty text it was.
    return [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]


def _seed_figures(campaign: Any) -> None:
    now = timezone.now()
    spread = [
        ("FR", "kampot", 0, Status.CONFIRMED),
        ("FR", "kampot", 0, Status.CONFIRMED),
        ("FR", "takeo", 1, Status.CONFIRMED),
        ("US", "takeo", 1, Status.CONFIRMED),
        ("AU", "", 3, Status.CONFIRMED),
        ("FR", "kampot", 0, Status.PENDING),
        ("US", "kampot", 0, Status.SUSPECT),
        ("AU", "takeo", 0, Status.INVALIDATED),
    ]
    for country, province, days_ago, status in spread:
        make_signature(
            campaign,
            status=status,
            country=country,
            province=province,
            confirmed_at=now - timedelta(days=days_ago) if status != Status.PENDING else None,
        )


@pytest.mark.postgres
@pytest.mark.django_db
def test_count_exports_equal_the_dashboard_figures() -> None:
    campaign = make_campaign()
    _seed_figures(campaign)
    client = _signed_in(roles.VIEWER, two_factor=False)
    dashboard = client.get(reverse("organisers:dashboard", args=[campaign.slug]))
    assert dashboard.status_code == 200
    figures = dashboard.context["figures"]
    assert (figures.confirmed, figures.pending, figures.suspect) == (5, 1, 1)
    on_screen = {
        "country": [[code, name, n] for code, name, n in dashboard.context["by_country"]],
        "province": [[code, name, n] for code, name, n in dashboard.context["by_province"]],
        "day": [[day.isoformat(), n] for day, n in dashboard.context["days"]],
    }
    assert sum(row[-1] for row in on_screen["country"]) == 5
    assert sum(row[-1] for row in on_screen["day"]) == 5
    assert len(on_screen["day"]) == 4  # zero days in between are listed too
    for by, rows in on_screen.items():
        as_csv = client.get(reverse("organisers:count_export", args=[campaign.slug, by, "csv"]))
        as_xlsx = client.get(reverse("organisers:count_export", args=[campaign.slug, by, "xlsx"]))
        csv_rows = _csv_rows(as_csv.content)[1:]
        assert csv_rows == [[str(value) for value in row] for row in rows], by
        if by == "day":  # a date cell in XLSX (reads back as a datetime), text in CSV
            rows = [[datetime.fromisoformat(day), n] for day, n in rows]
        assert _xlsx_rows(as_xlsx.content)[1:] == rows, by
    assert AuditEntry.objects.filter(action=AuditEntry.Action.EXPORTED).count() == 6


@pytest.mark.django_db
def test_a_name_starting_with_equals_arrives_as_text() -> None:
    campaign = make_campaign()
    make_signature(campaign, full_name='=HYPERLINK("http://evil.example","click")')
    make_signature(campaign, full_name="@SUM(1+1)", city="-2+3")
    make_signature(campaign, full_name="សុខ ដារ៉ា")
    client = _signed_in(roles.ORGANISER)
    response = client.post(reverse("organisers:signature_export", args=[campaign.slug]))
    assert response.status_code == 200
    rows = _csv_rows(b"".join(response.streaming_content))  # type: ignore[attr-defined]
    names = {row[4] for row in rows[1:]}
    assert names == {'\'=HYPERLINK("http://evil.example","click")', "'@SUM(1+1)", "សុខ ដារ៉ា"}
    assert "'-2+3" in {row[8] for row in rows[1:]}
    assert "signer" in {row[5].split("@")[0].rstrip("0123456789") for row in rows[1:]}


@pytest.mark.django_db
def test_a_full_export_is_refused_without_two_factor_and_recorded_with_it() -> None:
    campaign = make_campaign()
    make_signature(campaign)
    url = reverse("organisers:signature_export", args=[campaign.slug])
    assert _signed_in(roles.ORGANISER, two_factor=False).post(url).status_code == 403
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.EXPORTED).exists()
    assert _signed_in(roles.ORGANISER).post(url).status_code == 200
    assert AuditEntry.objects.filter(action=AuditEntry.Action.EXPORTED).count() == 1


@pytest.mark.django_db
def test_a_large_export_becomes_a_job_with_an_expiring_download_for_its_owner_only(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    monkeypatch.setattr(exports, "EXPORT_STREAM_MAX_ROWS", 2)
    campaign = make_campaign()
    for _n in range(3):
        make_signature(campaign)
    owner = make_staff(roles.ORGANISER, two_factor=True)
    client = Client()
    sign_in(client, owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("organisers:signature_export", args=[campaign.slug]))
    assert response["Location"] == reverse("organisers:files")
    job = GeneratedFile.objects.get()
    assert (job.status, job.rows) == ("done", 3)
    download = reverse("organisers:file_download", args=[job.pk, job.token])
    assert download in client.get(reverse("organisers:files")).content.decode()
    got = client.get(download)
    assert got.status_code == 200
    assert len(_csv_rows(b"".join(got.streaming_content))) == 4  # type: ignore[attr-defined]

    another_organiser = Client()
    sign_in(another_organiser, make_staff(roles.ORGANISER, two_factor=True))
    assert another_organiser.get(download).status_code == 403

    GeneratedFile.objects.filter(pk=job.pk).update(expires_at=timezone.now())
    assert client.get(download).status_code == 404
    assert exports.generated_files_expire() == 1
    assert not GeneratedFile.objects.exists()


def _copy_signatures(campaign: Any, count: int) -> None:
    """Many confirmed signatures at PostgreSQL's COPY speed, each e-mail
    encrypted on its own (the export decrypts every row)."""
    from django.db import connection

    from core.crypto import encrypt

    now = timezone.now().isoformat()
    columns = (
        "campaign_id, status, source, event, full_name, name_key, email, email_hash, phone, "
        "country, city, province, answers, show_publicly, wants_updates, language, referrer, "
        "utm, suspect_reason, invalidation_reason, link_secret, confirmation_sends, created_at, "
        "receipt, channel, telegram_chat"
    )
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {Signature._meta.db_table} ({columns}) FROM STDIN") as copy,
    ):
        for number in range(count):
            name = f"សុខ ដារ៉ា {number}"
            copy.write_row(
                (
                    campaign.pk,
                    "confirmed",
                    "online",
                    "",
                    name,
                    name,
                    encrypt(f"signer{number}@example.org"),
                    f"{number:064x}",
                    "",
                    "FR",
                    "",
                    "kampot",
                    "{}",
                    False,
                    False,
                    "km",
                    "",
                    "{}",
                    "",
                    "",
                    f"s{number}",
                    1,
                    now,
                    f"{number:016d}",
                    "email",
                    "",
                )
            )


def _process_memory(field: str) -> int:
    """A size from /proc/self/status (Linux), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise LookupError(field)


def _resident_peak_reset() -> int | None:
    """Reset the kernel's peak resident size of this process (Linux) and
    return the resident size it starts from, freed memory handed back first
    so that the start is what is really held; None where that cannot be done."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
        Path("/proc/self/clear_refs").write_text("5")  # 5: reset the peak (VmHWM)
        return _process_memory("VmRSS")
    except (AttributeError, OSError, LookupError):
        return None


def _read_with_peak_memory(chunks: Iterable[bytes]) -> tuple[int, int, int]:
    """Lines and bytes of a streamed body, and the most memory held above the
    start while reading it.

    The kernel's figure costs nothing per allocation and also counts libpq's
    C buffers; tracemalloc (where the kernel's cannot be reset) hooks each of
    the millions of allocations of 100,000 rows: 15 s of CPU instead of 1.5 s."""
    start = _resident_peak_reset()
    if start is None:
        tracemalloc.start()
    lines = size = 0
    try:
        for chunk in chunks:
            lines += chunk.count(b"\n")
            size += len(chunk)
        if start is None:
            return lines, size, tracemalloc.get_traced_memory()[1]
        return lines, size, _process_memory("VmHWM") - start
    finally:
        tracemalloc.stop()


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db
def test_the_full_export_of_100000_rows_streams_with_bounded_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(exports, "EXPORT_STREAM_MAX_ROWS", 1_000_000)
    campaign = make_campaign()
    _copy_signatures(campaign, 100_000)
    client = _signed_in(roles.ORGANISER)
    response = client.post(reverse("organisers:signature_export", args=[campaign.slug]))
    assert response.streaming
    lines, size, peak = _read_with_peak_memory(response.streaming_content)  # type: ignore[attr-defined]
    assert lines == 100_001
    assert size > 100_000 * 40  # the rows really went through
    # The whole file is several MB; streaming holds one chunk of rows at a time.
    assert peak < 16 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert peak < size / 2


@pytest.mark.django_db
def test_an_export_job_cut_short_by_a_lost_worker_runs_again_whole() -> None:
    campaign = make_campaign()
    make_signature(campaign)
    job = GeneratedFile.objects.create(
        kind=GeneratedFile.Kind.SIGNATURE_EXPORT,
        campaign=campaign,
        status="running",
        created_by=make_staff(roles.ORGANISER, two_factor=True),
    )
    exports.export_build(job.pk)
    job.refresh_from_db()
    assert (job.status, job.rows) == ("done", 1)
    exports.export_build(job.pk)  # delivered once more: nothing happens
    assert GeneratedFile.objects.get(pk=job.pk).file.name == job.file.name
