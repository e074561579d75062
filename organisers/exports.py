"""Exports: counts (no personal data) as CSV and XLSX, and the full
signature export (personal data), streamed or built by a job."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import connection
from django.db.models import CharField, F, Func, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from campaigns.models import Campaign
from core import crypto
from core.background import after_commit
from core.spreadsheet import FORMULA_TRIGGERS, spreadsheet_safe
from organisers.figures import counts_by_country, counts_by_day, counts_by_province
from organisers.models import GeneratedFile
from signatures.models import Signature

Status = Signature.Status

# Above this many rows a full export is built by a job and offered as a
# download, so a request never holds a worker for minutes.
EXPORT_STREAM_MAX_ROWS = getattr(settings, "ORGANISERS_EXPORT_STREAM_MAX_ROWS", 50_000)
EXPORT_DOWNLOAD_HOURS = getattr(settings, "ORGANISERS_EXPORT_DOWNLOAD_HOURS", 24)
EXPORT_CHUNK_ROWS = 2_000


COUNT_EXPORTS = ("country", "province", "day")


def count_rows(campaign: Campaign, by: str) -> tuple[list[str], list[list[Any]]]:
    if by == "country":
        return [_("Country code"), _("Country"), _("Confirmed signatures")], [
            list(row) for row in counts_by_country(campaign)
        ]
    if by == "province":
        return [_("Province code"), _("Province of origin"), _("Confirmed signatures")], [
            list(row) for row in counts_by_province(campaign)
        ]
    if by == "day":
        return [_("Day"), _("Confirmed signatures")], [
            [day.isoformat(), n] for day, n in counts_by_day(campaign)
        ]
    raise ValueError(by)


def count_export_csv(campaign: Campaign, by: str) -> bytes:
    header, rows = count_rows(campaign, by)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([[spreadsheet_safe(value) for value in row] for row in rows])
    return ("\ufeff" + buffer.getvalue()).encode()


def count_export_xlsx(campaign: Campaign, by: str) -> bytes:
    header, rows = count_rows(campaign, by)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=by)
    sheet.append(header)
    for row in rows:
        # openpyxl writes a str starting with "=" as a formula: make it text.
        sheet.append([spreadsheet_safe(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- Full signature export (personal data) ---------------------------------

EXPORT_FIELDS = [
    "pk",
    "status",
    "source",
    "event",
    "full_name",
    "email",
    "phone",
    "country",
    "city",
    "province",
    "show_publicly",
    "wants_updates",
    "language",
    "created_at",
    "confirmed_at",
    "referrer",
    "utm",
    "answers",
]


def export_header() -> list[str]:
    return [
        _("Number"),
        _("Status"),
        _("Source"),
        _("Event"),
        _("Full name"),
        _("E-mail"),
        _("Phone"),
        _("Country of residence"),
        _("City"),
        _("Province of origin"),
        _("Name may be shown"),
        _("Wants updates"),
        _("Language"),
        _("Signed at (UTC)"),
        _("Confirmed at (UTC)"),
        _("Referrer"),
        _("Campaign parameters"),
        _("Answers"),
    ]


def export_queryset(campaign: Campaign) -> QuerySet[Signature]:
    return Signature.objects.signed().filter(campaign=campaign)


class _Line:
    """A file-like object csv.writer writes one row into, read back at once."""

    def __init__(self) -> None:
        self.value = ""

    def write(self, value: str) -> None:
        self.value = value


def export_lines(campaign: Campaign) -> Iterator[bytes]:
    """The full export as CSV byte chunks: a UTF-8 BOM (so Excel reads Khmer),
    then rows read with a server-side cursor, never the whole list in memory."""
    line = _Line()
    writer = csv.writer(line)
    yield b"\xef\xbb\xbf"
    writer.writerow(export_header())
    yield line.value.encode()
    rows = (
        _export_rows_postgresql(campaign)
        if connection.vendor == "postgresql"
        else _export_rows_orm(campaign)
    )
    batch: list[str] = []
    for values in rows:
        writer.writerow(values)
        batch.append(line.value)
        if len(batch) >= 500:
            yield "".join(batch).encode()
            batch = []
    if batch:
        yield "".join(batch).encode()


# Columns a signer (or a paper form) typed: the ones a formula could hide in.
_TYPED_COLUMNS = (3, 4, 5, 6, 8, 15, 16, 17)


def _export_rows_orm(campaign: Campaign) -> Iterator[list[Any]]:
    rows = export_queryset(campaign).order_by("pk").values_list(*EXPORT_FIELDS)
    for row in rows.iterator(chunk_size=EXPORT_CHUNK_ROWS):
        values = list(row)
        for index in (13, 14):
            values[index] = (
                values[index].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                if values[index]
                else ""
            )
        for index in (16, 17):
            values[index] = json.dumps(values[index], ensure_ascii=False) if values[index] else ""
        yield [spreadsheet_safe(value) for value in values]


def _export_rows_postgresql(campaign: Campaign) -> Iterator[list[Any]]:
    """The same rows, a million of them in seconds: PostgreSQL formats the
    dates and JSON as text, the rows skip the ORM's per-value converters, and
    only e-mail and phone are decrypted here, a chunk at a time
    (core.crypto.decrypt_many: one value at a time misses the 20 s target)."""

    def utc_text(field: str) -> Func:
        return Func(
            F(field),
            template="to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
            output_field=CharField(),
        )

    fields = [
        "created_text"
        if name == "created_at"
        else "confirmed_text"
        if name == "confirmed_at"
        else "utm_text"
        if name == "utm"
        else "answers_text"
        if name == "answers"
        else name
        for name in EXPORT_FIELDS
    ]
    queryset = (
        export_queryset(campaign)
        .order_by("pk")
        .annotate(
            created_text=utc_text("created_at"),
            confirmed_text=utc_text("confirmed_at"),
            utm_text=Cast("utm", TextField()),
            answers_text=Cast("answers", TextField()),
        )
        .values_list(*fields)
    )
    sql, params = queryset.query.sql_with_params()
    triggers = FORMULA_TRIGGERS
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while True:
            chunk = cursor.fetchmany(EXPORT_CHUNK_ROWS)
            if not chunk:
                return
            emails = crypto.decrypt_many([row[5] for row in chunk])
            phones = crypto.decrypt_many([row[6] for row in chunk])
            for row, email, phone in zip(chunk, emails, phones, strict=True):
                values = list(row)
                values[5] = email
                values[6] = phone
                for index in (16, 17):
                    if values[index] == "{}":
                        values[index] = ""
                for index in (13, 14):
                    if values[index] is None:
                        values[index] = ""
                for index in _TYPED_COLUMNS:
                    value = values[index]
                    if value and value[0] in triggers:
                        values[index] = "'" + value
                yield values


def export_row_count(campaign: Campaign) -> int:
    return export_queryset(campaign).count()


def export_start(*, campaign: Campaign, user: Any) -> GeneratedFile:
    """Queue a full export too large to stream in a request."""
    job = GeneratedFile.objects.create(
        kind=GeneratedFile.Kind.SIGNATURE_EXPORT, campaign=campaign, created_by=user
    )
    after_commit("organisers.tasks.export_build", job.pk)
    return job


def export_build(job_id: int) -> None:
    """Write the full export to a file in constant memory (a task)."""
    job = GeneratedFile.objects.select_related("campaign").get(pk=job_id)
    if not job.claim():
        return
    try:
        with _temporary_file() as handle:
            for chunk in export_lines(job.campaign):
                handle.write(chunk)
            handle.seek(0)
            job.mark_ready(
                name=f"{job.campaign.slug}-signatures-{timezone.now():%Y%m%d-%H%M}.csv",
                content=File(handle),
                rows=export_row_count(job.campaign),
                hours=EXPORT_DOWNLOAD_HOURS,
            )
    except Exception as error:
        job.mark_failed(str(error))
        raise


def _temporary_file() -> Any:
    return tempfile.TemporaryFile()


def generated_files_expire() -> int:
    """Delete expired downloads (files and rows); returns how many."""
    expired = GeneratedFile.objects.filter(expires_at__lte=timezone.now())
    count = 0
    for job in expired:
        if job.file:
            job.file.delete(save=False)
        job.delete()
        count += 1
    return count
