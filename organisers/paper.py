"""Paper signatures: rows of a CSV entered as signatures of a campaign.

Each row is read, checked on its own, and either refused (with its line
number and why), reported as a duplicate (the same e-mail key, or without an
e-mail the same name key, already signed this campaign online or on paper),
or entered through `Signature.paper_entry`, which counts it exactly as a
confirmation does.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_countries import countries

from campaigns.models import Campaign
from campaigns.provinces import PROVINCES
from core.audit import audit_record
from core.models import AuditEntry
from signatures.identity import email_hash, name_clean, name_key
from signatures.models import Signature
from signatures.tallies import figures_forget

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


def _country_code(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    if value.upper() in countries:
        return value.upper()
    code = countries.by_name(value)
    if code:
        return code
    with translation.override("km"):  # Khmer names from our catalogue
        for country in countries:
            if str(country.name) == value:
                return country.code
    raise ValueError(_("Unknown country: %(value)s") % {"value": value})


def _province_code(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    for code, khmer, english in PROVINCES:
        if value.lower() in {code, english.lower()} or value == khmer:
            return code
    raise ValueError(_("Unknown province: %(value)s") % {"value": value})


def _rows(upload: Iterable[bytes] | bytes) -> Iterator[tuple[int, dict[str, str]]] | None:
    """(line number, cells by column) for each data row; None without a header."""
    raw = upload if isinstance(upload, bytes) else b"".join(upload)
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))
    if not reader.fieldnames or "full_name" not in [name.strip() for name in reader.fieldnames]:
        return None
    return (
        (line, {(key or "").strip(): (value or "").strip() for key, value in cells.items()})
        for line, cells in enumerate(reader, start=2)
    )


def _checked(line: int, cells: dict[str, str]) -> PaperRow:
    """The row as it will be stored; ValueError or ValidationError says why not."""
    full_name = name_clean(cells.get("full_name", ""))
    if not full_name:
        raise ValueError(_("The name is missing."))
    if len(full_name) > 200:
        raise ValueError(_("The name is too long."))
    email = cells.get("email", "")
    if email:
        validate_email(email)
    return PaperRow(
        line=line,
        full_name=full_name,
        name_key=name_key(full_name),
        email=email,
        email_hash=email_hash(email) if email else None,
        phone=cells.get("phone", ""),
        country=_country_code(cells.get("country", "")),
        province=_province_code(cells.get("province", "")),
        city=cells.get("city", "")[:100],
        show_publicly=cells.get("show_publicly", "").lower() in TRUE_WORDS,
    )


def _already_signed(campaign: Campaign, row: PaperRow) -> bool:
    same_person = Q(email_hash=row.email_hash) if row.email_hash else Q(name_key=row.name_key)
    return Signature.objects.signed().filter(campaign=campaign).filter(same_person).exists()


def _entered(campaign: Campaign, row: PaperRow, event: str) -> bool:
    """Store the row; False when the database finds it a duplicate after all."""
    try:
        with transaction.atomic():  # a savepoint: a refused row leaves the others
            Signature.paper_entry(
                campaign=campaign,
                event=event[:200],
                full_name=row.full_name,
                name_key=row.name_key,
                email=row.email,
                email_hash=row.email_hash,
                phone=row.phone,
                country=row.country,
                province=row.province,
                city=row.city,
                show_publicly=row.show_publicly,
                confirmed_at=timezone.now(),
            )
    except IntegrityError:
        return False
    return True


def paper_import(
    *, campaign: Campaign, upload: Iterable[bytes] | bytes, event: str, user: Any
) -> PaperReport:
    """Import paper signatures from a CSV whose header row names PAPER_COLUMNS."""
    report = PaperReport()
    rows = _rows(upload)
    if rows is None:
        report.rejected.append(
            PaperRowError(1, _("The first row must name the columns, including full_name."))
        )
        return report
    seen: set[str] = set()  # e-mail keys, or name keys for rows without an e-mail
    for line, cells in rows:
        try:
            row = _checked(line, cells)
        except (ValueError, ValidationError) as error:  # the row's own fault
            messages = getattr(error, "messages", None)
            report.rejected.append(PaperRowError(line, " ".join(messages or [str(error)])))
            continue
        person = row.email_hash or row.name_key
        if person in seen or _already_signed(campaign, row) or not _entered(campaign, row, event):
            report.duplicates.append(
                PaperRowError(line, _("Already signed: %(name)s") % {"name": row.full_name})
            )
            continue
        seen.add(person)
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
