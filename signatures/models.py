from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from campaigns.models import Campaign
from signatures.crypto import EncryptedTextField


def new_link_secret() -> str:
    return secrets.token_urlsafe(16)


class SignatureQuerySet(models.QuerySet["Signature"]):
    def counted(self) -> SignatureQuerySet:
        """Signatures that count toward a campaign's total: confirmed only."""
        return self.filter(status=Signature.Status.CONFIRMED)

    def public(self) -> SignatureQuerySet:
        """Counted signatures whose signer agreed to be shown."""
        return self.counted().filter(show_publicly=True)


class Signature(models.Model):
    """One person's signature on one campaign.

    Holds as little as the campaign needs. E-mail and phone are encrypted at
    rest; `email_hash` (an HMAC of the canonical e-mail) finds duplicates.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for confirmation")
        CONFIRMED = "confirmed", _("Confirmed")
        SUSPECT = "suspect", _("Suspect")
        INVALIDATED = "invalidated", _("Invalidated")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Source(models.TextChoices):
        ONLINE = "online", _("Online")
        PAPER = "paper", _("Paper")

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="signatures")
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.ONLINE
    )
    event = models.CharField(
        _("event"), max_length=200, blank=True, help_text=_("For paper signatures.")
    )

    full_name = models.CharField(_("full name"), max_length=200)
    name_key = models.CharField(max_length=200, db_index=True, editable=False)
    email = EncryptedTextField(_("e-mail"), blank=True)
    # NULL, not "": many erased signatures must not collide in the unique constraint.
    email_hash = models.CharField(max_length=64, null=True, blank=True, editable=False)  # noqa: DJ001
    phone = EncryptedTextField(_("phone number"), blank=True)
    country = CountryField(_("country of residence"), blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    province = models.CharField(_("province of origin"), max_length=40, blank=True)
    answers = models.JSONField(_("answers"), default=dict, blank=True)

    show_publicly = models.BooleanField(_("show my name publicly"), default=False)
    wants_updates = models.BooleanField(_("send me updates"), default=False)
    language = models.CharField(_("language"), max_length=5, default="km")

    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    referrer = models.CharField(_("referrer"), max_length=300, blank=True)
    utm = models.JSONField(_("campaign parameters"), default=dict, blank=True)
    suspect_reason = models.CharField(_("why suspect"), max_length=200, blank=True)
    invalidation_reason = models.CharField(_("why invalidated"), max_length=300, blank=True)

    link_secret = models.CharField(max_length=32, default=new_link_secret, editable=False)
    confirmation_sends = models.PositiveSmallIntegerField(default=0, editable=False)

    created_at = models.DateTimeField(_("signed at"), auto_now_add=True, db_index=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    invalidated_at = models.DateTimeField(_("invalidated at"), null=True, blank=True)

    objects = SignatureQuerySet.as_manager()

    class Meta:
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        ordering = ["-created_at"]
        constraints = [
            # One signature per person per campaign. Withdrawn signatures lose
            # their hash (their data is erased), so NULLs are not compared.
            models.UniqueConstraint(
                fields=["campaign", "email_hash"],
                condition=Q(email_hash__isnull=False),
                name="one_signature_per_email_per_campaign",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "status", "country"], name="signature_count_idx"),
            models.Index(fields=["campaign", "status", "confirmed_at"], name="signature_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.get_status_display()})"


class CountryTally(models.Model):
    """Stored count of confirmed signatures per campaign and country.

    Updated in batches from `TallyDelta` rows, never per signature in the
    request path: see signatures/README.md.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="tallies")
    country = CountryField(blank=True)
    confirmed = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "country"], name="one_tally_per_country")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.country}: {self.confirmed}"


class TallyDelta(models.Model):
    """+1 or -1 to a campaign's count in one country; insert-only, folded in batches."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    country = CountryField(blank=True)
    delta = models.SmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.country}: {self.delta:+d}"
