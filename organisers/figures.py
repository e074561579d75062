"""Dashboard figures and count exports' numbers, from true COUNT queries on
Signature (indexed on campaign, status, country and campaign, status,
confirmed_at), so a press export always equals the screen."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils.translation import gettext as _
from django_countries import countries

from campaigns.models import Campaign
from campaigns.provinces import PROVINCE_CODES, province_name
from signatures.models import UTM_KEYS, Signature

Status = Signature.Status


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


# How a counted signature came to count: confirmed by e-mail or Telegram, or
# entered from a paper sheet (its `channel` is the default, e-mail, but no
# mail confirmed it).
CHANNELS = ("email", "telegram", "paper")


def counts_by_channel(campaign: Campaign) -> list[tuple[str, str, int]]:
    """(code, name, confirmed) for e-mail, Telegram and, when there are any,
    paper: always in that order, so a share reads the same from day to day."""
    rows = _counted(campaign).values_list("source", "channel").annotate(n=Count("pk")).order_by()
    counts = dict.fromkeys(CHANNELS, 0)
    for source, channel, n in rows:
        counts["paper" if source == Signature.Source.PAPER else channel] += n
    names = {**dict(Signature.Channel.choices), "paper": Signature.Source.PAPER.label}
    return [
        (code, str(names[code]), counts[code])
        for code in CHANNELS
        if code != "paper" or counts[code]
    ]


@dataclass(frozen=True)
class ChannelShare:
    """One channel's part of the counted signatures, as the dashboard shows it."""

    code: str
    name: str
    count: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.count / self.total) if self.total else 0


def channel_shares(campaign: Campaign) -> list[ChannelShare]:
    """`counts_by_channel` with each one's share; empty while nothing counts."""
    rows = counts_by_channel(campaign)
    total = sum(n for _code, _name, n in rows)
    if not total:
        return []
    return [ChannelShare(code, name, n, total) for code, name, n in rows]


@dataclass
class SourceRow:
    label: str
    signed: int = 0
    confirmed: int = 0


@dataclass
class Sources:
    referrers: list[SourceRow] = field(default_factory=list)
    utm: dict[str, list[SourceRow]] = field(default_factory=dict)


SOURCES_SHOWN = 20


def campaign_sources(campaign: Campaign) -> Sources:
    """Where signers came from: referring site and utm_ parameters."""
    signed = Signature.objects.signed().filter(campaign=campaign)
    confirmed_count = Count("pk", filter=Q(status__in=Signature.COUNTED))
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
