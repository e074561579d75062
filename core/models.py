"""The shared base's records: the audit log, and the staff permissions that
carry the personal-data rule (no rows: permissions only)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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
        # Not `object_repr`: that is a signer's name for a change to a
        # signature, and the title of an entry's page is read without two-factor.
        return f"{self.at:%Y-%m-%d %H:%M} {self.user_label} {self.action} {self.object_type} {self.object_id}"


class StaffLanguage(models.Model):
    """The language a staff member last signed in with: the language the app
    writes to them in (review notifications). Never asked for, never shown."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
        verbose_name=_("who"),
    )
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("staff language")
        verbose_name_plural = _("staff languages")
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.user_id}: {self.language}"

    @classmethod
    def remember(cls, *, user: Any, language: str) -> None:
        if user.pk and language in dict(settings.LANGUAGES):
            cls.objects.update_or_create(user=user, defaults={"language": language})

    @classmethod
    def of(cls, user: Any) -> str:
        """Their language if known, else the site's (Khmer)."""
        known = cls.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
        return known or settings.LANGUAGE_CODE
