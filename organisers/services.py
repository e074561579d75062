"""Organisers' work: figures for dashboards, exports, invalidation by criteria,
paper signatures.

Dashboard figures and count exports come from the same functions, counted
with true COUNT queries on Signature (indexed on campaign, status, country and
campaign, status, confirmed_at), so a press export always equals the screen.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, Count, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _
from django_countries import countries

from campaigns.models import Campaign
from campaigns.provinces import PROVINCE_CODES, province_name
from organisers.models import AuditEntry, GeneratedFile, Invalidation, JobStatus
from signatures.identity import email_domain, email_hash, name_clean, name_key
from signatures.models import Signature
from signatures.tallies import figures_forget

Status = Signature.Status

# Above this many rows a full export is built by a job and offered as a
# download, so a request never holds a worker for minutes.
EXPORT_STREAM_MAX_ROWS = getattr(settings, "ORGANISERS_EXPORT_STREAM_MAX_ROWS", 50_000)
EXPORT_DOWNLOAD_HOURS = getattr(settings, "ORGANISERS_EXPORT_DOWNLOAD_HOURS", 24)
EXPORT_CHUNK_ROWS = 2_000
INVALIDATION_BATCH = 200


# --- Figures ----------------------------------------------------------------


@dataclass(frozen=True)
class CampaignFigures:
    confirmed: int
    pending: int
    suspect: int
    invalidated: int
    withdrawn: int

    @property
    def signed(self) -> int:
        """Everyone who ever signed (a withdrawn signer still signed once)."""
        return self.confirmed + self.pending + self.suspect + self.invalidated + self.withdrawn

    @property
    def confirmation_rate(self) -> float | None:
        """Share of signatures whose e-mail was confirmed, among those that
        could be: invalidated and suspect ones are left out of both sides."""
        base = self.confirmed + self.pending
        return None if base == 0 else self.confirmed / base


def campaign_figures(campaign: Campaign) -> CampaignFigures:
    counts = dict(
        Signature.objects.filter(campaign=campaign)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return CampaignFigures(
        confirmed=counts.get(Status.CONFIRMED, 0),
        pending=counts.get(Status.PENDING, 0),
        suspect=counts.get(Status.SUSPECT, 0),
        invalidated=counts.get(Status.INVALIDATED, 0),
        withdrawn=counts.get(Status.WITHDRAWN, 0),
    )


def _counted(campaign: Campaign) -> QuerySet[Signature]:
    return Signature.objects.counted().filter(campaign=campaign)


def counts_by_country(campaign: Campaign) -> list[tuple[str, str, int]]:
    """(code, name, confirmed) by country of residence, most first."""
    rows = _counted(campaign).values_list("country").annotate(n=Count("pk")).order_by()
    named = [
        (str(code), str(countries.name(code)) if code else _("Not given"), n) for code, n in rows
    ]
    return sorted(named, key=lambda row: (-row[2], row[1]))


def counts_by_province(campaign: Campaign) -> list[tuple[str, str, int]]:
    """(code, name, confirmed) by province of origin, most first."""
    rows = _counted(campaign).values_list("province").annotate(n=Count("pk")).order_by()
    named = [
        (
            code,
            province_name(code) if code in PROVINCE_CODES else (code or _("Not given")),
            n,
        )
        for code, n in rows
    ]
    return sorted(named, key=lambda row: (-row[2], row[1]))


def counts_by_day(campaign: Campaign) -> list[tuple[date, int]]:
    """Confirmed signatures per day of confirmation (in the site's time zone),
    every day from the first to the last, zeros included."""
    zone = ZoneInfo(settings.TIME_ZONE)
    rows = dict(
        _counted(campaign)
        .filter(confirmed_at__isnull=False)
        .annotate(day=TruncDate("confirmed_at", tzinfo=zone))
        .values_list("day")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("day", "n")
    )
    if not rows:
        return []
    first, last = min(rows), max(rows)
    days = []
    day = first
    while day <= last:
        days.append((day, rows.get(day, 0)))
        day += timedelta(days=1)
    return days


@dataclass
class SourceRow:
    label: str
    signed: int = 0
    confirmed: int = 0


@dataclass
class Sources:
    referrers: list[SourceRow] = field(default_factory=list)
    utm: dict[str, list[SourceRow]] = field(default_factory=dict)


UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
SOURCES_SHOWN = 20


def campaign_sources(campaign: Campaign) -> Sources:
    """Where signers came from: referring site and utm_ parameters."""
    signed = Signature.objects.filter(campaign=campaign).exclude(status=Status.WITHDRAWN)
    confirmed_count = Count("pk", filter=Q(status=Status.CONFIRMED))
    referrers: dict[str, SourceRow] = {}
    for referrer, total, confirmed in (
        signed.values_list("referrer").annotate(n=Count("pk"), c=confirmed_count).order_by()
    ):
        host = urlsplit(referrer).hostname or referrer if referrer else ""
        label = host or _("Direct or unknown")
        row = referrers.setdefault(label, SourceRow(label))
        row.signed += total
        row.confirmed += confirmed
    utm: dict[str, dict[str, SourceRow]] = {key: {} for key in UTM_KEYS}
    for parameters, total, confirmed in (
        signed.exclude(utm={})
        .values_list("utm")
        .annotate(n=Count("pk"), c=confirmed_count)
        .order_by()
    ):
        for key, value in (parameters or {}).items():
            key = key if key.startswith("utm_") else f"utm_{key}"
            if key in utm and value:
                row = utm[key].setdefault(str(value), SourceRow(str(value)))
                row.signed += total
                row.confirmed += confirmed

    def top(rows: Iterable[SourceRow]) -> list[SourceRow]:
        return sorted(rows, key=lambda row: (-row.signed, row.label))[:SOURCES_SHOWN]

    return Sources(
        referrers=top(referrers.values()),
        utm={key: top(rows.values()) for key, rows in utm.items() if rows},
    )


# --- Count exports (no personal data) --------------------------------------


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
    from openpyxl import Workbook

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

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def spreadsheet_safe(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading
    apostrophe (OWASP's advice); numbers pass untouched."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


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
    return Signature.objects.filter(campaign=campaign).exclude(status=Status.WITHDRAWN)


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
    import json

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
    only e-mail and phone are decrypted here (organisers.fastdecrypt)."""
    from django.db.models import CharField, F, Func, TextField
    from django.db.models.functions import Cast

    from organisers.fastdecrypt import decryptor

    decrypt = decryptor()

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
            for row in chunk:
                values = list(row)
                if values[5]:
                    values[5] = decrypt(values[5])
                if values[6]:
                    values[6] = decrypt(values[6])
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
    from organisers import tasks

    job = GeneratedFile.objects.create(
        kind=GeneratedFile.Kind.SIGNATURE_EXPORT, campaign=campaign, created_by=user
    )
    transaction.on_commit(lambda: tasks.export_build.delay(job.pk))
    return job


def export_build(job_id: int) -> None:
    """Write the full export to a file in constant memory (a task)."""
    from django.core.files import File

    job = GeneratedFile.objects.select_related("campaign").get(pk=job_id)
    # RUNNING too: a worker killed mid-file leaves it so, and the task comes
    # back (acks_late); the file is written whole or not at all, so start over.
    if job.status not in {JobStatus.QUEUED, JobStatus.RUNNING}:
        return
    GeneratedFile.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
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
        GeneratedFile.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED, error=str(error)[:500]
        )
        raise


def _temporary_file() -> Any:
    import tempfile

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


# --- Invalidation by criteria ----------------------------------------------


@dataclass(frozen=True)
class Criteria:
    """What to invalidate. Empty fields do not narrow the match."""

    email_domain: str = ""
    network: str = ""  # an IP address or CIDR range
    signed_from: datetime | None = None
    signed_until: datetime | None = None
    country: str = ""
    name_pattern: str = ""  # * matches any run of characters

    def as_json(self) -> dict[str, str]:
        return {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in self.__dict__.items()
            if value
        }

    @classmethod
    def from_json(cls, data: dict[str, str]) -> Criteria:
        values: dict[str, Any] = dict(data)
        for key in ("signed_from", "signed_until"):
            if values.get(key):
                values[key] = datetime.fromisoformat(values[key])
        return cls(**values)

    def is_empty(self) -> bool:
        return not self.as_json()


INVALIDATABLE = [Status.PENDING, Status.CONFIRMED, Status.SUSPECT]


def _name_regex(pattern: str) -> str:
    parts = [re.escape(part) for part in name_key(pattern).split("*")]
    return "^" + ".*".join(parts) + "$"


def invalidation_matching(campaign: Campaign, criteria: Criteria) -> QuerySet[Signature]:
    """Signatures the criteria match among those that can be invalidated.

    The e-mail domain is encrypted with the address, so that criterion (and
    the IP range on SQLite) is checked row by row: see `invalidation_ids`.
    """
    matching = Signature.objects.filter(campaign=campaign, status__in=INVALIDATABLE)
    if criteria.country:
        matching = matching.filter(country=criteria.country)
    if criteria.signed_from:
        matching = matching.filter(created_at__gte=criteria.signed_from)
    if criteria.signed_until:
        matching = matching.filter(created_at__lt=criteria.signed_until)
    if criteria.name_pattern:
        matching = matching.filter(name_key__regex=_name_regex(criteria.name_pattern))
    if criteria.network:
        network = ipaddress.ip_network(criteria.network, strict=False)
        if connection.vendor == "postgresql":
            matching = matching.alias(
                in_network=RawSQL(
                    '"signatures_signature"."ip_address" <<= %s::inet',
                    [str(network)],
                    output_field=BooleanField(),
                )
            ).filter(in_network=True)
        else:
            matching = matching.filter(ip_address__isnull=False)
    return matching.order_by("pk")


def _row_matches(criteria: Criteria, email: str, ip_address: str | None) -> bool:
    if criteria.email_domain:
        wanted = criteria.email_domain.strip().lower().lstrip("@")
        domain = email_domain(email) if email else ""
        if not (domain == wanted or domain.endswith("." + wanted)):
            return False
    if criteria.network and connection.vendor != "postgresql":
        network = ipaddress.ip_network(criteria.network, strict=False)
        address = ipaddress.ip_address(ip_address) if ip_address else None
        if address is None or address.version != network.version or address not in network:
            return False
    return True


def invalidation_ids(campaign: Campaign, criteria: Criteria) -> Iterator[int]:
    matching = invalidation_matching(campaign, criteria)
    if not criteria.email_domain and (not criteria.network or connection.vendor == "postgresql"):
        yield from matching.values_list("pk", flat=True).iterator(chunk_size=EXPORT_CHUNK_ROWS)
        return
    for pk, email, ip_address in matching.values_list("pk", "email", "ip_address").iterator(
        chunk_size=EXPORT_CHUNK_ROWS
    ):
        if _row_matches(criteria, email, ip_address):
            yield pk


def invalidation_preview(campaign: Campaign, criteria: Criteria) -> int:
    if not criteria.email_domain and (not criteria.network or connection.vendor == "postgresql"):
        return invalidation_matching(campaign, criteria).count()
    return sum(1 for _pk in invalidation_ids(campaign, criteria))


def invalidation_start(
    *, campaign: Campaign, criteria: Criteria, reason: str, user: Any
) -> Invalidation:
    from organisers import tasks
    from organisers.audit import audit_record

    if criteria.is_empty():
        raise ValueError("Refusing to invalidate a whole campaign without criteria.")
    job = Invalidation.objects.create(
        campaign=campaign,
        criteria=criteria.as_json(),
        reason=reason,
        total=invalidation_preview(campaign, criteria),
        created_by=user,
    )
    audit_record(
        action=AuditEntry.Action.INVALIDATED,
        user=user,
        obj=job,
        detail=_("Invalidation by criteria started: %(criteria)s, %(count)s matching")
        % {"criteria": job.criteria, "count": job.total},
    )
    transaction.on_commit(lambda: tasks.invalidation_run.delay(job.pk))
    return job


def invalidation_run(invalidation_id: int) -> Invalidation:
    """Invalidate the matching signatures in batches, one locked row at a
    time through Signature.invalidate (which writes the count deltas).
    Checks for cancellation between batches; rerunning resumes harmlessly,
    as already invalidated signatures no longer match."""
    job = Invalidation.objects.select_related("campaign").get(pk=invalidation_id)
    if job.is_finished:
        return job
    Invalidation.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    criteria = Criteria.from_json(job.criteria)
    reason = job.reason
    processed, invalidated = job.processed, job.invalidated
    try:
        ids = list(invalidation_ids(job.campaign, criteria))
        for start in range(0, len(ids), INVALIDATION_BATCH):
            if Invalidation.objects.filter(pk=job.pk, cancel_requested=True).exists():
                Invalidation.objects.filter(pk=job.pk).update(
                    status=JobStatus.CANCELLED, finished_at=timezone.now()
                )
                break
            for signature in Signature.objects.filter(
                pk__in=ids[start : start + INVALIDATION_BATCH]
            ):
                if signature.invalidate(reason):
                    invalidated += 1
                processed += 1
            Invalidation.objects.filter(pk=job.pk).update(
                processed=processed, invalidated=invalidated
            )
        else:
            Invalidation.objects.filter(pk=job.pk).update(
                status=JobStatus.DONE, finished_at=timezone.now()
            )
    except Exception as error:
        Invalidation.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED, error=str(error)[:500], finished_at=timezone.now()
        )
        raise
    job.refresh_from_db()
    figures_forget(job.campaign)
    from organisers.audit import audit_record

    audit_record(
        action=AuditEntry.Action.INVALIDATED,
        user=job.created_by,
        obj=job,
        detail=_("Invalidation by criteria %(status)s: %(count)s signatures invalidated")
        % {"status": job.get_status_display(), "count": job.invalidated},
    )
    return job


def invalidation_cancel(job: Invalidation) -> None:
    Invalidation.objects.filter(pk=job.pk).update(cancel_requested=True)
    # A job still waiting in the queue never starts.
    Invalidation.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED, finished_at=timezone.now()
    )


# --- Paper signatures -------------------------------------------------------

PAPER_COLUMNS = ("full_name", "email", "phone", "country", "province", "city", "show_publicly")
TRUE_WORDS = {"1", "yes", "y", "true", "x", "✓", "បាទ", "ចាស", "យល់ព្រម"}


@dataclass
class PaperRowError:
    line: int
    message: str


@dataclass
class PaperReport:
    imported: int = 0
    duplicates: list[PaperRowError] = field(default_factory=list)
    rejected: list[PaperRowError] = field(default_factory=list)

    @property
    def refused(self) -> list[PaperRowError]:
        return sorted(self.rejected + self.duplicates, key=lambda error: error.line)


def _country_code(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    if value.upper() in countries:
        return value.upper()
    code = countries.by_name(value)
    if code:
        return code
    from django.utils import translation

    with translation.override("km"):  # Khmer names from our catalogue
        for country in countries:
            if str(country.name) == value:
                return country.code
    raise ValueError(_("Unknown country: %(value)s") % {"value": value})


def _province_code(value: str) -> str:
    from campaigns.provinces import PROVINCES

    value = value.strip()
    if not value:
        return ""
    for code, khmer, english in PROVINCES:
        if value.lower() in {code, english.lower()} or value == khmer:
            return code
    raise ValueError(_("Unknown province: %(value)s") % {"value": value})


def paper_import(
    *, campaign: Campaign, upload: Iterable[bytes] | bytes, event: str, user: Any
) -> PaperReport:
    """Import paper signatures from a CSV (header row with PAPER_COLUMNS).

    Each row is checked on its own; a good row is stored as a confirmed
    signature with source "paper" and the event (a paper signature has no
    e-mail to confirm), unless the same person (same e-mail key, or without
    an e-mail the same name key) already signed this campaign online or on
    paper. Rows are inserted one by one through the model, so each writes its
    count delta like any confirmation.
    """
    from django.core.validators import validate_email
    from django.db import IntegrityError

    from organisers.audit import audit_record
    from signatures.models import TallyDelta

    raw = upload if isinstance(upload, bytes) else b"".join(upload)
    text = raw.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    report = PaperReport()
    if not reader.fieldnames or "full_name" not in [name.strip() for name in reader.fieldnames]:
        report.rejected.append(
            PaperRowError(1, _("The first row must name the columns, including full_name."))
        )
        return report
    seen_hashes: set[str] = set()
    seen_names: set[str] = set()
    now = timezone.now()
    for line_number, raw_row in enumerate(reader, start=2):
        row = {(key or "").strip(): (value or "").strip() for key, value in raw_row.items()}
        try:
            full_name = name_clean(row.get("full_name", ""))
            if not full_name:
                raise ValueError(_("The name is missing."))
            if len(full_name) > 200:
                raise ValueError(_("The name is too long."))
            email = row.get("email", "")
            if email:
                validate_email(email)
            country = _country_code(row.get("country", ""))
            province = _province_code(row.get("province", ""))
        except Exception as error:  # ValidationError or ValueError: the row's own fault
            message = getattr(error, "messages", None)
            report.rejected.append(
                PaperRowError(line_number, " ".join(message) if message else str(error))
            )
            continue
        key = name_key(full_name)
        hashed = email_hash(email) if email else None
        same_person = Q(email_hash=hashed) if hashed else Q(name_key=key)
        if (
            (hashed and hashed in seen_hashes)
            or (not hashed and key in seen_names)
            or Signature.objects.filter(campaign=campaign)
            .exclude(status=Status.WITHDRAWN)
            .filter(same_person)
            .exists()
        ):
            report.duplicates.append(
                PaperRowError(line_number, _("Already signed: %(name)s") % {"name": full_name})
            )
            continue
        try:
            with transaction.atomic():
                signature = Signature.objects.create(
                    campaign=campaign,
                    status=Status.CONFIRMED,
                    source=Signature.Source.PAPER,
                    event=event[:200],
                    full_name=full_name,
                    name_key=key,
                    email=email,
                    email_hash=hashed,
                    phone=row.get("phone", ""),
                    country=country,
                    province=province,
                    city=row.get("city", "")[:100],
                    show_publicly=row.get("show_publicly", "").lower() in TRUE_WORDS,
                    confirmed_at=now,
                )
                TallyDelta.objects.create(
                    campaign_id=campaign.pk, country=signature.country, delta=1
                )
        except IntegrityError:
            report.duplicates.append(
                PaperRowError(line_number, _("Already signed: %(name)s") % {"name": full_name})
            )
            continue
        if hashed:
            seen_hashes.add(hashed)
        seen_names.add(key)
        report.imported += 1
    audit_record(
        action=AuditEntry.Action.IMPORTED,
        user=user,
        obj=campaign,
        detail=_(
            "Paper import (%(event)s): %(imported)s imported, %(duplicates)s duplicates, "
            "%(rejected)s rejected"
        )
        % {
            "event": event,
            "imported": report.imported,
            "duplicates": len(report.duplicates),
            "rejected": len(report.rejected),
        },
    )
    figures_forget(campaign)
    return report
