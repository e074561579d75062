"""Paper signatures: the rows of a spreadsheet entered as signatures of a campaign.

Read as steps: file → rows → checked row → duplicate? → previewed → entered.

1. The file is read whole before anything is written: CSV in UTF-8 (with or
   without BOM), UTF-16 (Excel's "Unicode text", tab-separated) or a Windows
   code page (cp1252), or an Excel workbook (.xlsx). Anything else (an image,
   a PDF, an empty or oversized file) is refused as a whole, with a message
   in the organiser's language.
2. Each row is checked on its own, by the rules of the online form (the name
   by `identity.name_checked`, the phone by the form's `PhoneField`), and is
   either refused (line number and why), a duplicate (`Signature.objects
   .standing().same_person`), or a row to add.
3. The preview shows all three and carries the rows to add in an encrypted,
   signed token; nothing is written yet.
4. The confirmation enters exactly those rows, in one transaction, through
   `Signature.paper_entry` (counted as a confirmation is); if any of them has
   become a duplicate since the preview, nothing is entered.

Every preview, import and refusal is in the audit log.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from functools import cache
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_countries import countries

from campaigns.models import Campaign
from campaigns.provinces import PROVINCES, province_name
from core import crypto
from core.audit import audit_record
from core.models import AuditEntry
from core.spreadsheet import starts_like_formula
from signatures.countries import country_choices, country_name
from signatures.forms import PhoneField
from signatures.identity import email_hash, name_checked, name_clean, name_key
from signatures.models import Signature
from signatures.tallies import figures_forget

PAPER_COLUMNS = ("full_name", "email", "phone", "country", "province", "city", "show_publicly")
TRUE_WORDS = {"1", "yes", "y", "true", "x", "✓", "បាទ", "ចាស", "យល់ព្រម"}
PAPER_MAX_BYTES = 5 * 1024 * 1024
PAPER_MAX_ROWS = 10_000
TOKEN_SALT = "organisers.paper"  # nosec B105 # noqa: S105 - a salt, not a secret
TOKEN_MAX_AGE = 2 * 3600  # a preview left open longer is read again

# Zero-width and other invisible characters (Khmer text carries U+200B
# between words), removed with spaces and dots before a country is matched.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u17b4\u17b5\u00ad"))

# Names people write that are not CLDR's: "Korea" is South Korea, where
# Cambodians work; "England" is the United Kingdom on a signing sheet.
COUNTRY_ALIASES = {
    "USA": "US",
    "U.S.A.": "US",
    "U.S.": "US",
    "United States": "US",
    "United States of America": "US",
    "America": "US",
    "អាមេរិក": "US",
    "សហរដ្ឋអាមេរិក": "US",
    "UK": "GB",
    "U.K.": "GB",
    "Great Britain": "GB",
    "Britain": "GB",
    "England": "GB",
    "Scotland": "GB",
    "Wales": "GB",
    "អង់គ្លេស": "GB",
    "Korea": "KR",
    "South Korea": "KR",
    "Republic of Korea": "KR",
    "កូរ៉េ": "KR",
    "កូរ៉េខាងត្បូង": "KR",
    "Vietnam": "VN",
    "Viet Nam": "VN",
    "Laos": "LA",
    "Lao": "LA",
    "Russia": "RU",
    "Taiwan": "TW",
    "Holland": "NL",
    "Czech Republic": "CZ",
    "Burma": "MM",
    "Cambodia": "KH",
    "Kampuchea": "KH",
    "កម្ពុជា": "KH",
    "ស្រុកខ្មែរ": "KH",
    "UAE": "AE",
    "Hong Kong": "HK",
    "Macau": "MO",
    "NZ": "NZ",
    "Aotearoa": "NZ",
}


class PaperFileRefused(Exception):
    """The file cannot be read as a sheet of signatures; the message says why."""


class PaperPreviewStale(Exception):
    """The confirmation does not match what can be imported now."""


@dataclass
class PaperRowError:
    line: int
    message: str


@dataclass(frozen=True)
class PaperRow:
    """One row, checked: what will be stored if it is not a duplicate."""

    line: int
    full_name: str
    name_key: str
    email: str
    email_hash: str | None
    phone: str
    country: str
    province: str
    city: str
    show_publicly: bool

    @property
    def country_label(self) -> str:
        """In the page's language, for the preview."""
        return country_name(self.country) if self.country else ""

    @property
    def province_label(self) -> str:
        return province_name(self.province) if self.province else ""


@dataclass
class PaperPreview:
    """What a confirmation would import: nothing is written to make this."""

    event: str
    digest: str
    rows: list[PaperRow] = field(default_factory=list)
    duplicates: list[PaperRowError] = field(default_factory=list)
    rejected: list[PaperRowError] = field(default_factory=list)
    token: str = ""

    @property
    def refused(self) -> list[PaperRowError]:
        return sorted(self.rejected + self.duplicates, key=lambda error: error.line)


@dataclass
class PaperReport:
    """What a confirmation imported."""

    imported: int = 0
    duplicates: list[PaperRowError] = field(default_factory=list)
    rejected: list[PaperRowError] = field(default_factory=list)

    @property
    def refused(self) -> list[PaperRowError]:
        return sorted(self.rejected + self.duplicates, key=lambda error: error.line)


# --- The file: bytes → text or workbook → rows of cells ----------------------

_NOT_A_SHEET = (
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (b"%PDF", "PDF"),
    (b"RIFF", "RIFF"),
    (b"\x1f\x8b", "gzip"),
)


def _not_a_sheet() -> PaperFileRefused:
    return PaperFileRefused(
        _(
            "This file is not a spreadsheet. Upload a CSV file or an Excel workbook (.xlsx) "
            "whose first row names the columns."
        )
    )


def _text(data: bytes) -> str:
    """The file's text. A BOM says the encoding; without one, UTF-8 is tried
    first: text in cp1252 with any accented letter is almost never valid UTF-8,
    so a strict UTF-8 decode tells the two apart without guessing by letter
    frequencies (and Khmer text is never in a Windows code page)."""
    if data.startswith(codecs.BOM_UTF8):
        encodings = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ["utf-16"]
    elif len(data) >= 4 and data[1:200:2].count(0) > 0.4 * len(data[1:200:2]):
        encodings = ["utf-16-le"]  # UTF-16 saved without its BOM: NULs in odd bytes
    elif len(data) >= 4 and data[0:200:2].count(0) > 0.4 * len(data[0:200:2]):
        encodings = ["utf-16-be"]
    else:
        encodings = ["utf-8", "cp1252"]
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        # A binary file decodes as cp1252 too: a text sheet has no control characters.
        if any(
            unicodedata.category(char) == "Cc" and char not in "\t\r\n" for char in text[:100_000]
        ):
            raise _not_a_sheet()
        return text
    raise PaperFileRefused(
        _(
            "The characters of this file could not be read. Save it as “CSV UTF-8” "
            "or as an Excel workbook (.xlsx)."
        )
    )


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line of the row, cells) for each non-empty row of a CSV text.
    The separator is the one that splits the header row: comma, tab (Excel's
    "Unicode text") or semicolon (Excel in many European languages)."""
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
    line = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield line, cells
            line = reader.line_num + 1
    except csv.Error as error:
        raise PaperFileRefused(
            _("Line %(line)s of the file cannot be read as CSV.") % {"line": line}
        ) from error


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone typed as a number: 85512345678.0
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """(row number as Excel shows it, cells) for each non-empty row of the
    workbook's first sheet, read in openpyxl's read-only (streaming) mode.
    openpyxl is imported here, by the one function that reads a workbook, not by
    every process that imports this module (as `organisers.exports` says)."""
    from openpyxl import load_workbook

    unreadable = PaperFileRefused(
        _("This Excel file could not be read. Save it again as .xlsx, or as “CSV UTF-8”.")
    )
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # noqa: BLE001 - openpyxl raises many kinds for a broken file
        raise unreadable from error
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(value) for value in values]
            if any(cell.strip() for cell in cells):
                yield number, cells
    except Exception as error:  # noqa: BLE001 - a broken sheet inside a readable zip
        raise unreadable from error
    finally:
        workbook.close()


def _is_workbook(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _file_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    if not data.strip():
        raise PaperFileRefused(_("The file is empty."))
    if len(data) > PAPER_MAX_BYTES:
        raise PaperFileRefused(_("The file is larger than 5 MB: split it."))
    if data.startswith(b"PK\x03\x04"):
        if not _is_workbook(data):
            raise PaperFileRefused(
                _(
                    "Only Excel workbooks (.xlsx) and CSV files can be read. "
                    "Save this file as one of them."
                )
            )
        return _xlsx_rows(data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise PaperFileRefused(
            _(
                "Excel 97-2003 workbooks (.xls) cannot be read. "
                "Save it as an Excel workbook (.xlsx) or as “CSV UTF-8”."
            )
        )
    if any(data.startswith(magic) for magic, _kind in _NOT_A_SHEET):
        raise _not_a_sheet()
    return _csv_rows(_text(data))


def _column(name: str) -> str:
    """A header cell as a column name: "Full name" and "full_name" alike."""
    return "_".join(name_clean(name).casefold().replace("-", " ").split())


# --- One row ---------------------------------------------------------------


def _country_key(value: str) -> str:
    text = unicodedata.normalize("NFC", value).translate(_INVISIBLE).casefold()
    return "".join(char for char in text if not char.isspace() and char not in ".,'’()")


@cache
def _countries_by_key() -> dict[str, str]:
    """Every way a country is written on a sheet → its code: the code (two or
    three letters), its English and its Khmer name (as the country menus name
    it: `country_choices`), and the common aliases."""
    found: dict[str, str] = {}
    for language in ("en", "km"):
        with translation.override(language):
            for code, name in country_choices():
                found[_country_key(name)] = code
    for alias, code in COUNTRY_ALIASES.items():
        found[_country_key(alias)] = code
    for code in list(set(found.values())):
        found[_country_key(code)] = code
        alpha3 = countries.alpha3(code)
        if alpha3:
            found.setdefault(_country_key(alpha3), code)
    return found


def _country_code(value: str) -> str:
    if not value.strip():
        return ""
    code = _countries_by_key().get(_country_key(value))
    if code is None:
        raise ValueError(_("Unknown country: %(value)s") % {"value": value.strip()})
    return code


def _province_code(value: str) -> str:
    value = name_clean(value)
    if not value:
        return ""
    key = _country_key(value)
    for code, khmer, english in PROVINCES:
        if key in {_country_key(code), _country_key(english), _country_key(khmer)}:
            return code
    raise ValueError(_("Unknown province: %(value)s") % {"value": value})


def _checked(line: int, cells: dict[str, str]) -> PaperRow:
    """The row as it will be stored; ValidationError or ValueError says why
    not, by the same rules as the online form."""
    if not name_clean(cells.get("full_name", "")):
        raise ValueError(_("The name is missing."))
    full_name = name_checked(cells["full_name"])
    if len(full_name) > 200:
        raise ValueError(_("The name is too long."))
    email = cells.get("email", "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError as error:  # said as the online form says it
            raise ValueError(
                _("Please enter a valid e-mail address, like name@example.com.")
            ) from error
    phone = PhoneField(required=False, max_length=50).clean(cells.get("phone", ""))
    city = name_clean(cells.get("city", ""))[:100]
    if starts_like_formula(city):
        raise ValueError(_("Please enter only the name of your city."))
    return PaperRow(
        line=line,
        full_name=full_name,
        name_key=name_key(full_name)[:200],
        email=email,
        email_hash=email_hash(email) if email else None,
        phone=phone,
        country=_country_code(cells.get("country", "")),
        province=_province_code(cells.get("province", "")),
        city=city,
        show_publicly=cells.get("show_publicly", "").strip().casefold() in TRUE_WORDS,
    )


def _error_text(error: ValueError | ValidationError) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


def _already_signed(campaign: Campaign, rows: list[PaperRow]) -> list[PaperRow]:
    """The rows whose signer already has a standing signature on the campaign
    (the duplicate rule of `same_person`, asked for the whole sheet at once)."""
    signed_hashes, signed_names = (
        Signature.objects.standing()
        .filter(campaign=campaign)
        .people_among(
            email_hashes={row.email_hash for row in rows if row.email_hash},
            name_keys={row.name_key for row in rows if not row.email_hash},
        )
    )
    return [
        row
        for row in rows
        if (row.email_hash in signed_hashes if row.email_hash else row.name_key in signed_names)
    ]


def _duplicate(row: PaperRow) -> PaperRowError:
    return PaperRowError(row.line, _("Already signed: %(name)s") % {"name": row.full_name})


# --- Preview and confirmation ----------------------------------------------


def paper_preview(
    *, campaign: Campaign, data: bytes, event: str, user: Any, file_name: str = ""
) -> PaperPreview:
    """Read and check the whole file; write nothing but the audit entry.
    PaperFileRefused when the file is not a sheet of signatures."""
    digest = hashlib.sha256(data).hexdigest()
    preview = PaperPreview(event=event, digest=digest)
    try:
        _preview_rows(campaign, data, preview)
    except PaperFileRefused as refusal:
        audit_record(
            action=AuditEntry.Action.OTHER,
            user=user,
            obj=campaign,
            detail=_("Paper import refused (%(event)s, %(file)s, sha256 %(digest)s): %(why)s")
            % {"event": event, "file": file_name, "digest": digest[:16], "why": refusal},
        )
        raise
    preview.token = _token_dumps(campaign, user, preview)
    audit_record(
        action=AuditEntry.Action.OTHER,
        user=user,
        obj=campaign,
        detail=_(
            "Paper import previewed (%(event)s, %(file)s, sha256 %(digest)s): %(rows)s to add, "
            "%(duplicates)s duplicates, %(rejected)s refused"
        )
        % {
            "event": event,
            "file": file_name,
            "digest": digest[:16],
            "rows": len(preview.rows),
            "duplicates": len(preview.duplicates),
            "rejected": len(preview.rejected),
        },
    )
    return preview


def _preview_rows(campaign: Campaign, data: bytes, preview: PaperPreview) -> None:
    rows = _file_rows(data)
    header_line, header = next(rows, (1, []))
    columns = [_column(name) for name in header]
    if "full_name" not in columns:
        raise PaperFileRefused(_("The first row must name the columns, including full_name."))
    seen: set[str] = set()  # e-mail keys, or name keys for rows without an e-mail
    for count, (line, values) in enumerate(rows, start=1):
        if count > PAPER_MAX_ROWS:
            raise PaperFileRefused(
                _("The file has more than %(count)s rows: split it.")
                % {"count": f"{PAPER_MAX_ROWS:,}"}
            )
        extra = [value for value in values[len(columns) :] if value.strip()]
        if extra:
            preview.rejected.append(
                PaperRowError(
                    line,
                    ngettext(
                        "This row has %(cells)s cells but the first row names %(columns)s column.",
                        "This row has %(cells)s cells but the first row names %(columns)s columns.",
                        len(columns),
                    )
                    % {"cells": len(columns) + len(extra), "columns": len(columns)},
                )
            )
            continue
        cells = {
            column: value.strip()
            for column, value in zip(columns, values, strict=False)
            if column in PAPER_COLUMNS
        }
        try:
            row = _checked(line, cells)
        except (ValueError, ValidationError) as error:  # the row's own fault
            preview.rejected.append(PaperRowError(line, _error_text(error)))
            continue
        person = row.email_hash or row.name_key
        if person in seen:
            preview.duplicates.append(_duplicate(row))
            continue
        seen.add(person)
        preview.rows.append(row)
    signed = _already_signed(campaign, preview.rows)
    preview.duplicates = sorted(
        preview.duplicates + [_duplicate(row) for row in signed], key=lambda error: error.line
    )
    signed_lines = {row.line for row in signed}
    preview.rows = [row for row in preview.rows if row.line not in signed_lines]


def _token_dumps(campaign: Campaign, user: Any, preview: PaperPreview) -> str:
    # Encrypted as well as signed: the rows carry e-mails and phones, and the
    # token sits in the page's HTML.
    payload = {
        "campaign": campaign.pk,
        "user": getattr(user, "pk", None),
        "event": preview.event,
        "digest": preview.digest,
        "rows": [asdict(row) for row in preview.rows],
        "duplicates": [asdict(error) for error in preview.duplicates],
        "rejected": [asdict(error) for error in preview.rejected],
    }
    return crypto.encrypt(signing.dumps(payload, salt=TOKEN_SALT, compress=True))


def _token_loads(token: str, campaign: Campaign, user: Any) -> dict[str, Any]:
    try:
        payload = signing.loads(crypto.decrypt(token), salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.SignatureExpired as error:
        raise PaperPreviewStale(
            _("This preview is more than two hours old. Upload the file again.")
        ) from error
    except (ValueError, TypeError, signing.BadSignature) as error:
        raise PaperPreviewStale(
            _("This import does not match the file you previewed. Upload the file again.")
        ) from error
    if payload.get("campaign") != campaign.pk or payload.get("user") != getattr(user, "pk", None):
        raise PaperPreviewStale(
            _("This import does not match the file you previewed. Upload the file again.")
        )
    return dict(payload)


def paper_confirm(*, campaign: Campaign, token: str, user: Any) -> PaperReport:
    """Enter exactly the rows the preview showed, all or none, in one
    transaction. PaperPreviewStale (nothing written) when the token is not
    the preview's, or when one of its rows has become a duplicate since."""
    try:
        report = _confirmed(campaign, token, user)
    except PaperPreviewStale as refusal:
        audit_record(
            action=AuditEntry.Action.OTHER,
            user=user,
            obj=campaign,
            detail=_("Paper import refused: %(why)s") % {"why": refusal},
        )
        raise
    transaction.on_commit(lambda: figures_forget(campaign))
    return report


def _confirmed(campaign: Campaign, token: str, user: Any) -> PaperReport:
    payload = _token_loads(token, campaign, user)
    rows = [PaperRow(**row) for row in payload["rows"]]
    report = PaperReport(
        duplicates=[PaperRowError(**error) for error in payload["duplicates"]],
        rejected=[PaperRowError(**error) for error in payload["rejected"]],
    )
    try:
        with transaction.atomic():
            # One import at a time per campaign: two organisers confirming the
            # same sheet must not both find its e-mail-less rows new.
            Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
            now_duplicates = _already_signed(campaign, rows)
            if now_duplicates:
                raise PaperPreviewStale(
                    ngettext(
                        "Since the preview, %(count)s row has become a duplicate (line "
                        "%(lines)s). Nothing was imported: upload the file again.",
                        "Since the preview, %(count)s rows have become duplicates (lines "
                        "%(lines)s). Nothing was imported: upload the file again.",
                        len(now_duplicates),
                    )
                    % {
                        "count": len(now_duplicates),
                        "lines": ", ".join(str(row.line) for row in now_duplicates[:20]),
                    }
                )
            confirmed_at = timezone.now()
            for row in rows:
                Signature.paper_entry(
                    campaign=campaign,
                    event=payload["event"][:200],
                    full_name=row.full_name,
                    name_key=row.name_key,
                    email=row.email,
                    email_hash=row.email_hash,
                    phone=row.phone,
                    country=row.country,
                    province=row.province,
                    city=row.city,
                    show_publicly=row.show_publicly,
                    confirmed_at=confirmed_at,
                )
            report.imported = len(rows)
            audit_record(
                action=AuditEntry.Action.IMPORTED,
                user=user,
                obj=campaign,
                detail=_(
                    "Paper import (%(event)s, sha256 %(digest)s): %(imported)s imported, "
                    "%(duplicates)s duplicates, %(rejected)s rejected"
                )
                % {
                    "event": payload["event"],
                    "digest": str(payload["digest"])[:16],
                    "imported": report.imported,
                    "duplicates": len(report.duplicates),
                    "rejected": len(report.rejected),
                },
            )
    except IntegrityError as error:  # an online signer with the same e-mail, this instant
        raise PaperPreviewStale(
            _("Someone signed with one of these e-mail addresses meanwhile. Upload the file again.")
        ) from error
    return report
