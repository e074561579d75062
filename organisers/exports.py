"""Exports: counts (no personal data) as CSV and XLSX, and the full
signature export (personal data), streamed or built by a job.

openpyxl is imported by the function that opens a workbook, not here: every
web and worker process imports this module at start, through the URLs and
the tasks, and importing openpyxl cost each about 0.1 s of CPU (measured
with -X importtime), for an export most of them never make."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.db import connection
from django.db.models import CharField, F, Func, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_countries import countries

from campaigns.models import Campaign
from campaigns.provinces import PROVINCES, province_name
from core import crypto
from core.background import after_commit
from core.spreadsheet import FORMULA_TRIGGERS, spreadsheet_safe
from organisers.figures import (
    counts_by_channel,
    counts_by_country,
    counts_by_day,
    counts_by_province,
)
from organisers.models import GeneratedFile
from signatures.models import Signature

Status = Signature.Status

# Above this many rows a full export is built by a job and offered as a
# download, so a request never holds a worker for minutes.
EXPORT_STREAM_MAX_ROWS = getattr(settings, "ORGANISERS_EXPORT_STREAM_MAX_ROWS", 50_000)
EXPORT_DOWNLOAD_HOURS = getattr(settings, "ORGANISERS_EXPORT_DOWNLOAD_HOURS", 24)
EXPORT_CHUNK_ROWS = 2_000


COUNT_EXPORTS = ("country", "province", "day", "channel")


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
            [day, n] for day, n in counts_by_day(campaign)
        ]
    if by == "channel":
        return [_("Channel code"), _("Confirmed by"), _("Confirmed signatures")], [
            list(row) for row in counts_by_channel(campaign)
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
    workbook, sheet, cell = _xlsx_workbook(by)
    sheet.append(header)
    for row in rows:
        # A day is a date cell (sortable, a chart's axis), not text; a name
        # is a text cell, never a formula.
        sheet.append([cell(value) for value in row])
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
    # How the signer confirms: a label only. The Telegram user's hash and
    # chat are never exported (the chat is kept only to answer).
    "channel",
]


def export_header(language: str) -> list[str]:
    with translation.override(language):
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
            _("Confirmed by"),
        ]


def export_queryset(campaign: Campaign) -> QuerySet[Signature]:
    return Signature.objects.signed().filter(campaign=campaign)


# Column positions in EXPORT_FIELDS.
_STATUS, _SOURCE, _COUNTRY, _PROVINCE, _SHOWN, _UPDATES, _LANGUAGE = 1, 2, 7, 9, 10, 11, 12
_SIGNED_AT, _CONFIRMED_AT = 13, 14
_CHANNEL = 18
# Columns a signer (or a paper form) typed: the ones a formula could hide in
# (a province code we have no label for is kept as typed).
_TYPED_COLUMNS = (3, 4, 5, 6, 8, _PROVINCE, 15, 16, 17)
_LANGUAGE_NAMES = {"km": gettext_noop("Khmer"), "en": gettext_noop("English")}


class ExportLabels:
    """The export's codes (status, source, country, province, yes/no,
    language) as labels in the export's language, whatever language the
    request or the worker runs in: a Khmer export reads in Khmer throughout."""

    def __init__(self, language: str) -> None:
        self.language = language
        with translation.override(language):
            self.status = {value: str(label) for value, label in Status.choices}
            self.source = {value: str(label) for value, label in Signature.Source.choices}
            self.channel = {value: str(label) for value, label in Signature.Channel.choices}
            self.yes_no = {True: _("Yes"), False: _("No")}
            self.languages = {code: _(name) for code, name in _LANGUAGE_NAMES.items()}
        self.provinces = {code: province_name(code, language) for code, _km, _en in PROVINCES}
        self.countries: dict[str, str] = {"": ""}

    def country(self, code: str) -> str:
        if code not in self.countries:
            with translation.override(self.language):
                self.countries[code] = str(countries.name(code) or code)
        return self.countries[code]

    def apply(self, values: list[Any]) -> list[Any]:
        """Replace the codes in one row (EXPORT_FIELDS order) by labels; a
        code with no label (an old or typed value) is kept as it is."""
        on_paper = values[_SOURCE] == Signature.Source.PAPER
        values[_STATUS] = self.status.get(values[_STATUS], values[_STATUS])
        values[_SOURCE] = self.source.get(values[_SOURCE], values[_SOURCE])
        values[_COUNTRY] = self.country(values[_COUNTRY] or "")
        province = values[_PROVINCE] or ""
        values[_PROVINCE] = self.provinces.get(province, province)
        values[_SHOWN] = self.yes_no[bool(values[_SHOWN])]
        values[_UPDATES] = self.yes_no[bool(values[_UPDATES])]
        values[_LANGUAGE] = self.languages.get(values[_LANGUAGE], values[_LANGUAGE])
        # A paper signature was confirmed by no channel (its column says Paper).
        values[_CHANNEL] = "" if on_paper else self.channel.get(values[_CHANNEL], values[_CHANNEL])
        return values


class _Line:
    """A file-like object csv.writer writes one row into, read back at once."""

    def __init__(self) -> None:
        self.value = ""

    def write(self, value: str) -> None:
        self.value = value


def export_rows(
    campaign: Campaign, language: str = "km", *, progress: Callable[[int], None] | None = None
) -> Iterator[list[Any]]:
    """Every signature as a row of the full export, labels in `language`,
    dates as UTC text (`YYYY-MM-DDTHH:MM:SSZ`), nothing guarded yet: each
    format guards formulas its own way. `progress` hears the rows done so far."""
    labels = ExportLabels(language)
    rows = (
        _export_rows_postgresql(campaign)
        if connection.vendor == "postgresql"
        else _export_rows_orm(campaign)
    )
    done = 0
    for values in rows:
        yield labels.apply(values)
        done += 1
        if progress is not None and done % EXPORT_CHUNK_ROWS == 0:
            progress(done)
    if progress is not None:
        progress(done)


def export_lines(
    campaign: Campaign, language: str = "km", *, progress: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """The full export as CSV byte chunks: a UTF-8 BOM (so Excel reads Khmer),
    then rows read with a server-side cursor, never the whole list in memory.
    A text cell a spreadsheet would run as a formula gets a leading `'`
    (a valid E.164 phone number is data and is written as it is)."""
    line = _Line()
    writer = csv.writer(line)
    yield b"\xef\xbb\xbf"
    writer.writerow(export_header(language))
    yield line.value.encode()
    triggers = FORMULA_TRIGGERS
    batch: list[str] = []
    for values in export_rows(campaign, language, progress=progress):
        for index in _TYPED_COLUMNS:
            value = values[index]
            # The cheap test first: a million rows pass through here.
            if value and value[0] in triggers:
                values[index] = spreadsheet_safe(value)
        writer.writerow(values)
        batch.append(line.value)
        if len(batch) >= 500:
            yield "".join(batch).encode()
            batch = []
    if batch:
        yield "".join(batch).encode()


def export_xlsx_write(
    campaign: Campaign,
    language: str,
    target: IO[bytes],
    *,
    progress: Callable[[int], None] | None = None,
) -> None:
    """The full export as an XLSX workbook (write-only: rows go to disk as
    they come). Typed text is a text cell, never a formula, so nothing needs
    an apostrophe; the two times are date cells Excel can sort and filter."""
    with translation.override(language):
        workbook, sheet, cell = _xlsx_workbook(_("Signatures"))
    sheet.append(export_header(language))
    for values in export_rows(campaign, language, progress=progress):
        for index in (_SIGNED_AT, _CONFIRMED_AT):
            values[index] = _utc_datetime(values[index])
        sheet.append([cell(value) for value in values])
    workbook.save(target)


def _utc_datetime(text: str) -> datetime | str:
    """The export's UTC text as a naive datetime (Excel has no time zones;
    the header says UTC)."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ") if text else ""


def _xlsx_workbook(title: str) -> tuple[Any, Any, Callable[[Any], Any]]:
    """A write-only workbook (rows go to disk as they come), its one sheet,
    and the function that makes a value the cell it should be."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title)

    def cell(value: Any) -> Any:
        if isinstance(value, datetime):
            typed = WriteOnlyCell(sheet, value=value)
            typed.number_format = "yyyy-mm-dd hh:mm:ss"
            return typed
        if isinstance(value, date):
            typed = WriteOnlyCell(sheet, value=value)
            typed.number_format = "yyyy-mm-dd"
            return typed
        if isinstance(value, str) and value.startswith("="):
            # openpyxl writes a str starting with "=" as a formula: make it text.
            typed = WriteOnlyCell(sheet, value=value)
            typed.data_type = "s"
            return typed
        return value

    return workbook, sheet, cell


def _export_rows_orm(campaign: Campaign) -> Iterator[list[Any]]:
    rows = export_queryset(campaign).order_by("pk").values_list(*EXPORT_FIELDS)
    for row in rows.iterator(chunk_size=EXPORT_CHUNK_ROWS):
        values = list(row)
        for index in (_SIGNED_AT, _CONFIRMED_AT):
            values[index] = (
                values[index].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                if values[index]
                else ""
            )
        for index in (16, 17):
            values[index] = json.dumps(values[index], ensure_ascii=False) if values[index] else ""
        yield values


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
                for index in (_SIGNED_AT, _CONFIRMED_AT):
                    if values[index] is None:
                        values[index] = ""
                yield values


def export_row_count(campaign: Campaign) -> int:
    return export_queryset(campaign).count()


EXPORT_FORMATS = ("csv", "xlsx")


def export_start(
    *, campaign: Campaign, user: Any, language: str = "km", extension: str = "csv"
) -> GeneratedFile:
    """Queue a full export: a CSV too large to stream in a request, or any XLSX."""
    if extension not in EXPORT_FORMATS:
        raise ValueError(extension)
    job = GeneratedFile.objects.create(
        kind=GeneratedFile.Kind.SIGNATURE_EXPORT,
        campaign=campaign,
        created_by=user,
        language=language,
        options={"format": extension},
        total=export_row_count(campaign),
    )
    after_commit("organisers.tasks.export_build", job.pk)
    return job


def export_build(job_id: int) -> None:
    """Write the full export to a file in constant memory (a task), telling
    the prepared-files page how far it is."""
    job = GeneratedFile.objects.select_related("campaign").get(pk=job_id)
    if not job.claim():
        return
    language = job.language
    extension = job.options.get("format", "csv")
    try:
        with _temporary_file() as handle:
            if extension == "xlsx":
                export_xlsx_write(job.campaign, language, handle, progress=job.progress)
            else:
                for chunk in export_lines(job.campaign, language, progress=job.progress):
                    handle.write(chunk)
            handle.seek(0)
            job.mark_ready(
                name=job.download_name,
                content=File(handle),
                rows=job.processed,
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
