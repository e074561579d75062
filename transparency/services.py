"""Publishing the record's heads, and the proofs anyone may ask for.

Why this shape (transparency/README.md): the signer's transaction only
INSERTs a CountEvent (signatures.models), with no index, so signing never
waits on the record. Publishing a head gives the new events their indices
(ordered by day, then by leaf hash: nothing in the order says when within
a day anyone signed), computes the root, adds up the leaves by country and
reads the count the site shows, all in one snapshot, and signs the result.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from campaigns.models import Campaign
from core import countlog
from signatures.models import CountEvent
from signatures.tallies import stored_counts
from transparency import keys
from transparency.models import Leaf, TreeHead
from transparency.tree import CampaignTree, published_tree

logger = logging.getLogger(__name__)

LEAVES_PAGE_MAX = 5000


@contextmanager
def _publishing(campaign: Campaign) -> Iterator[None]:
    """One publisher per campaign at a time, across every process. A session
    lock taken before the transaction, so the transaction's snapshot starts
    after the previous publisher committed."""
    if connection.vendor != "postgresql":
        yield  # SQLite runs one writer at a time anyway
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [0x5173, campaign.pk])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [0x5173, campaign.pk])


def _one_snapshot() -> None:
    # The leaves given indices and the count the site shows must be read at
    # one moment: a signature confirmed meanwhile is in both or in neither.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def _sequence(campaign: Campaign, size: int) -> int:
    """Give the campaign's events not in its log yet the places after `size`.
    Returns how many were given one."""
    events, leaves = CountEvent._meta.db_table, Leaf._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {leaves} (campaign_id, position, event_id, leaf_hash)
            SELECT campaign_id,
                   %s + ROW_NUMBER() OVER (ORDER BY day, leaf_hash, id),
                   id, leaf_hash
            FROM {events} AS event
            WHERE campaign_id = %s AND NOT EXISTS (
                SELECT 1 FROM {leaves} AS leaf
                WHERE leaf.campaign_id = %s AND leaf.event_id = event.id
            )
            """,  # noqa: S608  # nosec B608 - the table names come from our models
            [size, campaign.pk, campaign.pk],
        )
        return cursor.rowcount


def _size(campaign: Campaign) -> int:
    return int(Leaf.objects.filter(campaign=campaign).aggregate(size=Max("position"))["size"] or 0)


def _leaves_add_up(campaign: Campaign, size: int) -> dict[str, int]:
    events, leaves = CountEvent._meta.db_table, Leaf._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT event.country, SUM(event.delta)
            FROM {leaves} AS leaf JOIN {events} AS event ON event.id = leaf.event_id
            WHERE leaf.campaign_id = %s AND leaf.position <= %s
            GROUP BY event.country
            """,  # noqa: S608  # nosec B608 - the table names come from our models
            [campaign.pk, size],
        )
        return {str(country): int(total) for country, total in cursor.fetchall() if total}


def head_publish(campaign: Campaign) -> TreeHead | None:
    """Publish a signed head of the campaign's record, or None when nothing
    was added since the last one."""
    with _publishing(campaign):
        outermost = not connection.in_atomic_block
        with transaction.atomic():
            if outermost:
                _one_snapshot()
            latest = TreeHead.objects.of(campaign).last()
            size = _size(campaign)
            size += _sequence(campaign, size)
            if size == 0 or (latest is not None and latest.size == size):
                return None
            shown = {str(country): count for country, count in stored_counts(campaign.pk).items()}
            committed = published_tree(campaign.pk, latest.size) if latest else None
            tree = CampaignTree(campaign.pk, size, committed=committed, disable_cache=True)
            root = tree.get_root(size)
            head = TreeHead(
                campaign=campaign,
                size=size,
                root=root.hex(),
                counts=dict(sorted(_leaves_add_up(campaign, size).items())),
                shown=dict(sorted(shown.items())),
                published_at=timezone.now().replace(microsecond=0),
                previous=countlog.head_hash(latest.signed_fields()) if latest else "",
                key_id=keys.public_keys()[0].key_id,
            )
            head.key_id, head.signature = keys.sign(
                countlog.head_signed_bytes(head.signed_fields())
            )
            head.save()
    if not head.agrees:
        # The reconciliation (signatures.tallies) finds and corrects the
        # drift; this head says publicly that there was one.
        logger.error(
            "record: campaign %s showed %s but its record adds up to %s",
            campaign.pk,
            head.shown,
            head.counts,
        )
    return head


def heads_publish() -> list[TreeHead]:
    """A new head for every campaign whose record grew."""
    campaigns = Campaign.objects.filter(pk__in=CountEvent.objects.values("campaign_id").distinct())
    return [head for campaign in campaigns if (head := head_publish(campaign)) is not None]


# --- What anyone may read ------------------------------------------------------


def leaves_page(head: TreeHead, start: int, count: int) -> list[dict[str, Any]]:
    """Leaves `start`..`start + count - 1` (counting from one) of the head."""
    end = min(head.size, start + min(count, LEAVES_PAGE_MAX) - 1)
    places = list(
        Leaf.objects.filter(campaign_id=head.campaign_id, position__gte=start, position__lte=end)
        .order_by("position")
        .values_list("position", "event_id")
    )
    events = CountEvent.objects.in_bulk([event_id for _position, event_id in places])
    return [
        events[event_id].leaf()
        | {"index": position, "hash": bytes(events[event_id].leaf_hash).hex()}
        for position, event_id in places
    ]


def inclusion_proof(head: TreeHead, index: int) -> dict[str, Any]:
    proof = published_tree(head.campaign_id, head.size).prove_inclusion(index, head.size)
    return dict(proof.serialize())


def consistency_proof(first: TreeHead, second: TreeHead) -> dict[str, Any]:
    proof = published_tree(second.campaign_id, second.size).prove_consistency(
        first.size, second.size
    )
    return dict(proof.serialize())


@dataclass(frozen=True)
class ReceiptEntry:
    """One leaf a receipt is in, and what proves it (None: not published yet)."""

    campaign: Campaign
    leaf: dict[str, Any]
    index: int | None
    head: TreeHead | None
    proof: dict[str, Any] | None


def receipt_entries_by_hash(receipt_hash: str) -> list[ReceiptEntry]:
    """Every leaf of a public campaign's record that carries this receipt
    (a confirmation, and later perhaps a withdrawal), each proven against
    the campaign's latest head when that head includes it."""
    events = (
        CountEvent.objects.filter(receipt_hash=bytes.fromhex(receipt_hash))
        .filter(campaign__in=Campaign.objects.public())
        .select_related("campaign")
        .order_by("pk")
    )
    entries = []
    for event in events:
        head = TreeHead.objects.of(event.campaign).last()
        position = (
            Leaf.objects.filter(campaign_id=event.campaign_id, event_id=event.pk)
            .values_list("position", flat=True)
            .first()
        )
        included = head is not None and position is not None and position <= head.size
        entries.append(
            ReceiptEntry(
                campaign=event.campaign,
                leaf=event.leaf() | {"hash": bytes(event.leaf_hash).hex()},
                index=position if included else None,
                head=head if included else None,
                proof=inclusion_proof(head, position)  # type: ignore[arg-type]
                if included
                else None,
            )
        )
    return entries
