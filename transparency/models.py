from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from core import countlog
from signatures.models import CountEvent


class Leaf(models.Model):
    """A count event's place in its campaign's log, given when a head is
    published (transparency.services.head_publish), with its hash copied so
    the tree reads one narrow table.

    Narrow and with one index, the composite primary key, which numbering
    appends to in order: numbering a million leaves is a million small
    INSERTs, not a million rewrites of the wide, indexed CountEvent rows
    (bench/record.py measured 26.6 s with those against the target of 30).
    """

    pk = models.CompositePrimaryKey("campaign_id", "position")
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    position = models.PositiveBigIntegerField()  # from one, as pymerkle counts
    # No index and no database constraint: the publisher finds unnumbered
    # events in one anti-join per publication, and writes only events it read.
    event = models.ForeignKey(
        CountEvent,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    leaf_hash = models.BinaryField(max_length=32)

    def __str__(self) -> str:
        return f"{self.campaign_id} #{self.position}"


class TreeHeadQuerySet(models.QuerySet["TreeHead"]):
    def of(self, campaign: Campaign) -> TreeHeadQuerySet:
        return self.filter(campaign=campaign).order_by("size", "published_at")


class TreeHead(models.Model):
    """A signed statement of a campaign's record at one moment: how many
    leaves, their Merkle root, what they add up to by country and what the
    site showed then. Published, never changed (core/countlog.py)."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="+", verbose_name=_("campaign")
    )
    size = models.PositiveBigIntegerField(_("leaves"))
    root = models.CharField(_("root hash"), max_length=64)
    counts = models.JSONField(_("counts by country (leaves)"), default=dict)
    shown = models.JSONField(_("counts by country (shown)"), default=dict)
    published_at = models.DateTimeField(_("published at"))
    previous = models.CharField(_("previous head"), max_length=64, blank=True)
    key_id = models.CharField(_("key"), max_length=16)
    signature = models.CharField(_("signature"), max_length=100)

    objects = TreeHeadQuerySet.as_manager()

    class Meta:
        verbose_name = _("record head")
        verbose_name_plural = _("record heads")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "size"], name="one_head_per_size"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} @ {self.size}"

    @property
    def agrees(self) -> bool:
        """The site showed what its record adds up to."""
        return self.counts == self.shown

    def signed_fields(self) -> dict[str, Any]:
        return {
            "format": countlog.FORMAT,
            "campaign": countlog.campaign_hash(self.campaign_id),
            "size": self.size,
            "root": self.root,
            "counts": self.counts,
            "shown": self.shown,
            "published_at": self.published_at.isoformat(),
            "previous": self.previous or None,
            "key_id": self.key_id,
        }

    def as_json(self) -> dict[str, Any]:
        signed = self.signed_fields()
        return signed | {
            "hash": countlog.head_hash(signed),
            "total": sum(self.counts.values()),
            "shown_total": sum(self.shown.values()),
            "signature": self.signature,
        }
