"""What organisers set and what they did: rules, jobs, and the audit log."""

from __future__ import annotations

import ipaddress
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign


def new_download_token() -> str:
    return secrets.token_urlsafe(24)


class OrganiserAccess(models.Model):
    """Carries the permissions of organisers' tools (no rows are stored).

    `view_personal_data` is the narrow one: with it, and only with two-factor
    sign-in enrolled, staff see e-mail addresses, phones and full lists.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_personal_data", _("Can see signers' personal data (with two-factor)")),
            ("view_dashboard", _("Can see campaign dashboards and export counts")),
            ("invalidate_by_criteria", _("Can invalidate signatures by criteria")),
            ("import_paper", _("Can import paper signatures")),
            ("build_delivery_document", _("Can build the petition delivery document")),
        ]

    def __str__(self) -> str:
        return "organiser access"


class CampaignLead(models.Model):
    """A campaign lead edits the campaigns listed here, and no others."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="led_campaigns"
    )
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="leads")

    class Meta:
        verbose_name = _("campaign lead")
        verbose_name_plural = _("campaign leads")
        constraints = [
            models.UniqueConstraint(fields=["user", "campaign"], name="one_lead_row_per_campaign")
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.campaign}"


# --- Signing rules (consulted by signatures/policy.py) ---------------------


class SigningSettings(models.Model):
    """Site-wide signing rules; one row, edited in the admin."""

    signing_paused = models.BooleanField(_("pause signing on every campaign"), default=False)
    paused_message_km = models.CharField(_("pause message (Khmer)"), max_length=300, blank=True)
    paused_message_en = models.CharField(_("pause message (English)"), max_length=300, blank=True)
    rate_burst = models.CharField(
        _("short burst limit per address"),
        max_length=20,
        blank=True,
        help_text=_('Signatures per IP address, e.g. "10/m". Empty: the server default.'),
    )
    rate_sustained = models.CharField(
        _("sustained limit per address"),
        max_length=20,
        blank=True,
        help_text=_('e.g. "60/h". Empty: the server default.'),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("signing settings")
        verbose_name_plural = _("signing settings")

    def __str__(self) -> str:
        return str(_("Signing settings"))

    def clean(self) -> None:
        for field in ("rate_burst", "rate_sustained"):
            value = getattr(self, field)
            if value and not _valid_rate(value):
                raise ValidationError({field: _('Write a rate like "10/m" or "60/h".')})

    @classmethod
    def current(cls) -> SigningSettings:
        return cls.objects.order_by("pk").first() or cls()


def _valid_rate(value: str) -> bool:
    count, _slash, period = value.partition("/")
    return count.isdigit() and period.lstrip("0123456789") in {"s", "m", "h", "d"}


class RuleAction(models.TextChoices):
    BLOCK = "block", _("Refuse the signature")
    SUSPECT = "suspect", _("Hold as suspect")
    ALLOW = "allow", _("Always allow")


class SigningRule(models.Model):
    """What domain and IP rules share: an action, on one campaign or on all."""

    action = models.CharField(_("action"), max_length=10, choices=RuleAction.choices)
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=_("campaign"),
        help_text=_("Empty: every campaign."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class DomainRule(SigningRule):
    """An e-mail domain (and its subdomains) to block, hold or allow."""

    domain = models.CharField(_("e-mail domain"), max_length=253)

    class Meta:
        verbose_name = _("e-mail domain rule")
        verbose_name_plural = _("e-mail domain rules")
        ordering = ["domain"]

    def __str__(self) -> str:
        return f"{self.domain}: {self.get_action_display()}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.domain = self.domain.strip().lower().lstrip("@").rstrip(".")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def matches(self, email_domain: str) -> bool:
        domain = email_domain.strip().lower().rstrip(".")
        return domain == self.domain or domain.endswith("." + self.domain)


def validate_network(value: str) -> None:
    try:
        ipaddress.ip_network(value.strip(), strict=False)
    except ValueError as error:
        raise ValidationError(_("Write an IP address or a range like 203.0.113.0/24.")) from error


class IpRule(SigningRule):
    """An IP address or CIDR range to block, hold or allow."""

    network = models.CharField(
        _("IP address or range"), max_length=50, validators=[validate_network]
    )

    class Meta:
        verbose_name = _("IP range rule")
        verbose_name_plural = _("IP range rules")
        ordering = ["network"]

    def __str__(self) -> str:
        return f"{self.network}: {self.get_action_display()}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.network = str(ipaddress.ip_network(self.network.strip(), strict=False))
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def matches(self, ip_address: str) -> bool:
        try:
            address = ipaddress.ip_address(ip_address)
        except ValueError:
            return False
        network = ipaddress.ip_network(self.network, strict=False)
        return address.version == network.version and address in network


# --- Jobs -------------------------------------------------------------------


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed")


class Invalidation(models.Model):
    """Invalidating every signature that matches criteria, as a job.

    Criteria are stored as entered so the audit log says exactly what was
    matched; `total` is the count previewed when it started.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, verbose_name=_("campaign"))
    criteria = models.JSONField(_("criteria"), default=dict)
    reason = models.CharField(_("reason"), max_length=300)
    status = models.CharField(
        _("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    total = models.PositiveIntegerField(_("matching when started"), default=0)
    processed = models.PositiveIntegerField(_("examined"), default=0)
    invalidated = models.PositiveIntegerField(_("invalidated"), default=0)
    cancel_requested = models.BooleanField(default=False)
    error = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("invalidation by criteria")
        verbose_name_plural = _("invalidations by criteria")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.campaign}: {self.reason}"

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.processed / self.total))

    @property
    def is_finished(self) -> bool:
        return self.status in {JobStatus.DONE, JobStatus.CANCELLED, JobStatus.FAILED}


class GeneratedFile(models.Model):
    """A file built by a job (large export, delivery document), downloadable
    by the person who asked for it until it expires."""

    class Kind(models.TextChoices):
        SIGNATURE_EXPORT = "signatures", _("Full signature export")
        DELIVERY_NAMES = "delivery_names", _("Delivery document with names")
        DELIVERY_COUNTS = "delivery_counts", _("Delivery document, counts only")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, verbose_name=_("campaign"))
    status = models.CharField(
        _("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    file = models.FileField(upload_to="organisers/", blank=True)
    options = models.JSONField(default=dict, blank=True)  # e.g. the document's language
    rows = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    token = models.CharField(max_length=40, default=new_download_token, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("generated file")
        verbose_name_plural = _("generated files")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.campaign})"

    @property
    def holds_personal_data(self) -> bool:
        return self.kind in {self.Kind.SIGNATURE_EXPORT, self.Kind.DELIVERY_NAMES}

    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    def mark_ready(self, *, name: str, content: object, rows: int, hours: int) -> None:
        self.file.save(name, content, save=False)  # type: ignore[arg-type]
        self.rows = rows
        self.status = JobStatus.DONE
        self.expires_at = timezone.now() + timedelta(hours=hours)
        self.save()


# --- Audit log --------------------------------------------------------------


class AuditEntry(models.Model):
    """Who did what, when, from where. Written by code, never edited."""

    class Action(models.TextChoices):
        ADDED = "added", _("Added")
        CHANGED = "changed", _("Changed")
        DELETED = "deleted", _("Deleted")
        VIEWED_PERSONAL_DATA = "viewed", _("Viewed personal data")
        EXPORTED = "exported", _("Exported")
        INVALIDATED = "invalidated", _("Invalidated")
        RESTORED = "restored", _("Restored")
        APPROVED = "approved", _("Approved")
        IMPORTED = "imported", _("Imported")
        OTHER = "other", _("Other")

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("who"),
        related_name="+",
    )
    user_label = models.CharField(_("who (as recorded)"), max_length=254, blank=True)
    ip_address = models.GenericIPAddressField(_("from"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=12, choices=Action.choices)
    object_type = models.CharField(_("object type"), max_length=100, blank=True, db_index=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    detail = models.TextField(_("what"), blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-pk"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user_label} {self.action} {self.object_repr}"
