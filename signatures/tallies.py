"""Counts: insert-only deltas, folded in batches; public figures; reconciling.

Why this shape: signatures/README.md. In short, a signer's transaction only
INSERTs a TallyDelta row (no row is shared between signers, so nothing waits
on a lock); a periodic task folds the deltas into CountryTally; the public
figure is CountryTally plus the deltas not folded yet, read in one SQL
statement so it is exact even while a fold commits.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from campaigns.models import Campaign
from core.compiled import CompiledRead
from core.kept import KeptForAWhile
from signatures.models import CountChange, CountryTally, Signature, TallyDelta

logger = logging.getLogger(__name__)

FIGURES_CACHE_SECONDS = 3
# Each process keeps the figures it read from the cache this long besides:
# a page then asks Redis for them about once a second per process, not once
# per view (a round trip and an unpickling for every page that shows them).
# Readers' figures are at most FIGURES_CACHE_SECONDS + FIGURES_KEPT_SECONDS
# old; figures_forget forgets this process's copy at once.
FIGURES_KEPT_SECONDS = 1.0
PUBLIC_SIGNERS_SHOWN = 10
# TallyDelta.delta is a SmallIntegerField.
LARGEST_DELTA = 32767


@dataclass(frozen=True)
class Figures:
    """A campaign's public numbers at one moment."""

    total: int
    by_country: list[tuple[str, int]]  # most signatures first
    goal: int
    updated_at: datetime
    recent_signers: list[tuple[str, str]] = field(default_factory=list)  # (name, country)
    # Which transactions the count saw: PostgreSQL's snapshot of the statement
    # that read it ("xmin:xmax:running,..."), and the id of the transaction
    # that read it if it had one; "" and None where the database has neither.
    snapshot: str = ""
    reader: int | None = None
    # A signer's own change, added to figures counted before it committed
    # (figures_with): "+country:delta"; "" for figures as counted.
    own: str = ""

    @property
    def version(self) -> str:
        """Changes whenever what the figures show may have changed."""
        return f"{self.updated_at.isoformat()}{self.own}"

    def sees(self, transaction: int) -> bool | None:
        """Whether the count saw `transaction`, one that committed before
        the count was read: PostgreSQL's rule (pg_visible_in_snapshot) for
        a committed transaction. False without a snapshot; None when the
        count was read by that transaction itself, before or after its
        change (a test runs its requests in one transaction)."""
        if transaction == self.reader:
            return None
        if not self.snapshot:
            return False
        low, high, running = self.snapshot.split(":")
        if transaction < int(low):
            return True
        return transaction < int(high) and str(transaction) not in running.split(",")


@dataclass(frozen=True)
class _Counted:
    counts: dict[str, int]
    snapshot: str
    reader: int | None


def _counts_read(campaign_id: int) -> _Counted:
    """The count by country the site shows (before caching), and what it
    saw (Figures.snapshot and .reader)."""
    # One statement, one snapshot: a fold moving deltas into a tally commits
    # atomically, so this never sees a delta both folded and unfolded.
    # pg_current_snapshot() is that statement's snapshot.
    if connection.vendor == "postgresql":
        seen = "pg_current_snapshot()::text, pg_current_xact_id_if_assigned()::text"
    else:
        seen = "'', NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT country, SUM(n), NULL, NULL FROM (
                SELECT country, confirmed AS n FROM {CountryTally._meta.db_table}
                WHERE campaign_id = %s
                UNION ALL
                SELECT country, delta AS n FROM {TallyDelta._meta.db_table}
                WHERE campaign_id = %s
            ) AS counts GROUP BY country
            UNION ALL
            SELECT NULL, NULL, {seen}
            """,  # noqa: S608  # nosec B608 # table and function names are ours
            [campaign_id, campaign_id],
        )
        rows = cursor.fetchall()
    [(snapshot, reader)] = [row[2:] for row in rows if row[0] is None]
    return _Counted(
        counts={row[0]: int(row[1]) for row in rows if row[0] is not None and row[1]},
        snapshot=snapshot,
        reader=None if reader is None else int(reader),
    )


def stored_counts(campaign_id: int) -> dict[str, int]:
    """The count by country the site shows (before caching): the stored
    tallies plus the deltas not folded yet."""
    return _counts_read(campaign_id).counts


def _by_country(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(
        ((country, count) for country, count in counts.items() if count > 0),
        key=lambda item: (-item[1], item[0]),
    )


# Read at every recount of the figures: written once per process.
RECENT_SIGNERS = CompiledRead(
    lambda campaign_id: (
        Signature.objects.public()
        .filter(campaign_id=campaign_id)
        .order_by("-confirmed_at")
        .values_list("full_name", "country")[:PUBLIC_SIGNERS_SHOWN]
    )
)


def figures_compute(campaign: Campaign) -> Figures:
    counted = _counts_read(campaign.pk)
    total = sum(counted.counts.values())
    recent = RECENT_SIGNERS.rows(campaign.pk)
    return Figures(
        total=total,
        by_country=_by_country(counted.counts),
        goal=campaign.goal_for(total),
        updated_at=timezone.now(),
        recent_signers=[(name, str(country)) for name, country in recent],
        snapshot=counted.snapshot,
        reader=counted.reader,
    )


_kept_figures: KeptForAWhile[Figures] = KeptForAWhile(FIGURES_KEPT_SECONDS)


def figures(campaign: Campaign) -> Figures:
    """The public figures, cached for a few seconds: a flood of readers costs
    one query every few seconds per campaign, and one cache read a second
    per process."""
    return _kept_figures.get(campaign.pk, lambda: _figures_shared(campaign))


def _figures_shared(campaign: Campaign) -> Figures:
    key = f"signatures:figures:{campaign.pk}"
    cached = cache.get(key)
    if isinstance(cached, Figures):
        return cached
    computed = figures_compute(campaign)
    cache.set(key, computed, FIGURES_CACHE_SECONDS)
    return computed


def figures_forget(campaign: Campaign) -> None:
    _kept_figures.discard(campaign.pk)
    cache.delete(f"signatures:figures:{campaign.pk}")


def forget_kept_figures() -> None:
    """Read every campaign's figures from the cache on next use (tests)."""
    _kept_figures.forget()


def figures_with(campaign: Campaign, change: CountChange) -> Figures:
    """The public figures with a signer's own change in them, after it
    committed: the signer sees themselves counted at once, while readers'
    figures are recounted on their timer, not on every signature.

    The kept figures when their count saw the change; else those figures
    plus the change (exact: the count they saw, and this signer). Without a
    transaction id to look for, or kept figures that tell, counted afresh."""
    if change.transaction is None:
        return figures_compute(campaign)
    shown = figures(campaign)
    seen = shown.sees(change.transaction)
    if seen is None:
        return figures_compute(campaign)
    if seen:
        return shown
    counts = dict(shown.by_country)
    counts[change.country] = counts.get(change.country, 0) + change.delta
    total = shown.total + change.delta
    return replace(
        shown,
        total=total,
        by_country=_by_country(counts),
        goal=campaign.goal_for(total),
        snapshot="",
        reader=None,
        own=f"{shown.own}+{change.country}:{change.delta}",
    )


def figures_after(campaign: Campaign, counted_at: datetime | None) -> Figures:
    """The figures for a signer whose signature was counted at `counted_at`
    by another request (a second click on a confirmation link): counted
    afresh while kept figures may be from before it, else the kept ones."""
    if counted_at is not None and timezone.now() - counted_at < timedelta(
        seconds=FIGURES_CACHE_SECONDS + FIGURES_KEPT_SECONDS + 1
    ):
        return figures_compute(campaign)
    return figures(campaign)


def _tally_add(campaign_id: int, country: str, amount: int) -> None:
    tallies = CountryTally.objects.filter(campaign_id=campaign_id, country=country)
    if tallies.update(confirmed=F("confirmed") + amount, updated_at=timezone.now()):
        return
    try:
        with transaction.atomic():
            CountryTally.objects.create(campaign_id=campaign_id, country=country, confirmed=amount)
    except IntegrityError:  # another fold created it a moment ago
        tallies.update(confirmed=F("confirmed") + amount, updated_at=timezone.now())


def tallies_fold(*, batch: int = 10000) -> int:
    """Move up to `batch` deltas into the stored tallies. Returns how many.

    Deltas are taken with SKIP LOCKED, so two folds running at once take
    different rows, and a signer's transaction never waits for a fold.
    """
    with transaction.atomic():
        rows = list(
            TallyDelta.objects.select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", "campaign_id", "country", "delta")[:batch]
        )
        if not rows:
            return 0
        sums: dict[tuple[int, str], int] = defaultdict(int)
        for _pk, campaign_id, country, delta in rows:
            sums[(campaign_id, country)] += delta
        for (campaign_id, country), amount in sorted(sums.items()):
            if amount:
                _tally_add(campaign_id, country, amount)
        TallyDelta.objects.filter(pk__in=[row[0] for row in rows]).delete()
    return len(rows)


def _reconcile_rows(campaign_id: int) -> list[tuple[str, int, int]]:
    # The true count and the stored count in one statement (one snapshot): a
    # signature confirmed meanwhile adds to both sides or to neither, because
    # its delta commits with its status.
    signature_table = Signature._meta.db_table
    counted = sorted(Signature.COUNTED)  # what counts has one owner: the model
    counted_placeholders = ", ".join(["%s"] * len(counted))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT country, SUM(truth), SUM(stored) FROM (
                SELECT country, COUNT(*) AS truth, 0 AS stored FROM {signature_table}
                WHERE campaign_id = %s AND status IN ({counted_placeholders}) GROUP BY country
                UNION ALL
                SELECT country, 0, confirmed FROM {CountryTally._meta.db_table}
                WHERE campaign_id = %s
                UNION ALL
                SELECT country, 0, delta FROM {TallyDelta._meta.db_table}
                WHERE campaign_id = %s
            ) AS counts GROUP BY country
            """,  # noqa: S608  # nosec B608 # table names come from our models
            [campaign_id, *counted, campaign_id, campaign_id],
        )
        return [(country, int(truth or 0), int(stored or 0)) for country, truth, stored in cursor]


def tallies_reconcile(*, campaign: Campaign | None = None) -> int:
    """Compare stored counts with a true COUNT and correct any drift by
    inserting correcting deltas (insert-only, like every other change).
    Returns the total absolute correction."""
    campaigns = [campaign] if campaign else list(Campaign.objects.all())
    corrected = 0
    for each in campaigns:
        for country, truth, stored in _reconcile_rows(each.pk):
            drift = truth - stored
            if not drift:
                continue
            logger.warning(
                "tallies: campaign %s country %r drifted by %+d; corrected", each.pk, country, drift
            )
            corrected += abs(drift)
            remaining = drift
            while remaining:
                step = max(-LARGEST_DELTA, min(LARGEST_DELTA, remaining))
                TallyDelta.objects.create(campaign=each, country=country, delta=step)
                remaining -= step
        figures_forget(each)
    return corrected
