"""Statements the committee publishes: bilingual, reviewed, printed, sent.

Workflow (see README.md): draft → in review → published. Campaign leads write
and submit (`submit_statement`); editors and organisers send back with a
comment (`review_statement`) and publish, schedule or unpublish
(`publish_statement`). Views and tasks check these permissions, never group
names. Every transition is a `Transition` row.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import datetime
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, ascii_slug
from core.audit import audit_record
from core.bilingual import LocalizedText, available_languages, localized
from core.models import AuditEntry

ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
# What an attachment may be, told by its first bytes, not its name.
ATTACHMENT_SIGNATURES = {
    ".pdf": (b"%PDF-",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".webp": (b"RIFF",),
}


class StatementQuerySet(models.QuerySet["Statement"]):
    def published(self) -> StatementQuerySet:
        return self.filter(status=Statement.Status.PUBLISHED)

    def due_for_publication(self, at: datetime | None = None) -> StatementQuerySet:
        """In review, scheduled by someone allowed to publish, and the time has come."""
        return self.filter(
            status=Statement.Status.IN_REVIEW,
            publish_at__isnull=False,
            publish_at__lte=at or timezone.now(),
            scheduled_by__isnull=False,
        )


class Statement(models.Model):
    class Kind(models.TextChoices):
        PRESS_RELEASE = "press_release", _("Press release")
        PUBLIC_STATEMENT = "public_statement", _("Public statement")
        NEWS = "news", _("News")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        PUBLISHED = "published", _("Published")

    class PdfStatus(models.TextChoices):
        NONE = "none", _("Not rendered")
        PENDING = "pending", _("Rendering")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    kind = models.CharField(
        _("kind"), max_length=20, choices=Kind.choices, default=Kind.PRESS_RELEASE
    )
    slug = models.CharField(
        _("address"),
        max_length=100,
        unique=True,
        validators=[ascii_slug],
        help_text=_("The web address, in Latin letters: e.g. press-release-2014-03-16."),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.DRAFT, editable=False
    )

    title_km = models.CharField(_("title (Khmer)"), max_length=300, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=300, blank=True)
    summary_km = models.TextField(_("summary (Khmer)"), blank=True)
    summary_en = models.TextField(_("summary (English)"), blank=True)
    body_km = models.TextField(_("text (Khmer)"), blank=True, help_text=_("Markdown."))
    body_en = models.TextField(_("text (English)"), blank=True, help_text=_("Markdown."))
    place_km = models.CharField(_("place (Khmer)"), max_length=200, blank=True)
    place_en = models.CharField(_("place (English)"), max_length=200, blank=True)
    date = models.DateField(_("date"), default=timezone.localdate)
    campaigns = models.ManyToManyField(
        Campaign, verbose_name=_("campaigns"), related_name="statements", blank=True
    )

    publish_at = models.DateTimeField(
        _("publish at"),
        null=True,
        blank=True,
        help_text=_("Set by an editor: the statement is published then by itself."),
    )
    scheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("scheduled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    published_at = models.DateTimeField(_("published"), null=True, blank=True, editable=False)
    revised_at = models.DateTimeField(_("updated"), null=True, blank=True, editable=False)
    send_to_subscribers = models.BooleanField(
        _("e-mail to subscribers when published"),
        default=False,
        help_text=_("Signers who asked for updates and the press list, each in their language."),
    )
    sending_started_at = models.DateTimeField(
        _("sending started"), null=True, blank=True, editable=False
    )

    pdf = models.FileField(_("PDF"), upload_to="statements/pdf/", blank=True, editable=False)
    pdf_status = models.CharField(
        _("PDF status"),
        max_length=10,
        choices=PdfStatus.choices,
        default=PdfStatus.NONE,
        editable=False,
    )
    pdf_error = models.CharField(_("PDF error"), max_length=500, blank=True, editable=False)
    pdf_attempts = models.PositiveSmallIntegerField(_("PDF attempts"), default=0, editable=False)
    pdf_rendered_at = models.DateTimeField(_("PDF rendered"), null=True, blank=True, editable=False)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("written by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last saved"), auto_now=True)

    objects = StatementQuerySet.as_manager()

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        ordering = ["-date", "-published_at", "-id"]
        permissions = [
            ("submit_statement", _("Can submit a statement for review")),
            ("review_statement", _("Can send a statement back with a comment")),
            ("publish_statement", _("Can publish, schedule and unpublish a statement")),
        ]
        indexes = [models.Index(fields=["status", "date"], name="statement_public_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False),
                name="published_statement_has_date",
            )
        ]

    def __str__(self) -> str:
        # In the reader's language (staff on /km/ read the Khmer title first).
        return str(self.text("title")) or self.slug

    def get_absolute_url(self) -> str:
        return reverse("statements:detail", kwargs={"slug": self.slug})

    def text(self, field: str, language: str | None = None) -> LocalizedText:
        return localized(self, field, language)

    @property
    def title(self) -> LocalizedText:
        return self.text("title")

    @property
    def languages(self) -> list[str]:
        """The languages the statement is written in (its body, else its title)."""
        return available_languages(self, "body") or available_languages(self, "title")

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def has_pdf(self) -> bool:
        return bool(self.pdf)

    def clean(self) -> None:
        if not (self.title_km.strip() or self.title_en.strip()):
            raise ValidationError(_("Give the statement a title in Khmer or in English."))

    # --- Workflow: state changes, each recorded -------------------------

    def _move(self, to: str, *, action: str, by: Any, comment: str = "") -> Transition:
        previous = self.status
        self.status = to
        self.save()
        return _audited(
            Transition.objects.create(
                statement=self,
                action=action,
                from_status=previous,
                to_status=to,
                by=by if getattr(by, "pk", None) else None,
                comment=comment,
            )
        )

    def submit(self, *, by: Any, comment: str = "") -> Transition:
        if self.status != self.Status.DRAFT:
            raise ValidationError(_("Only a draft can be submitted for review."))
        return self._move(
            self.Status.IN_REVIEW, action=Transition.Action.SUBMIT, by=by, comment=comment
        )

    def send_back(self, *, by: Any, comment: str) -> Transition:
        if self.status != self.Status.IN_REVIEW:
            raise ValidationError(_("Only a statement in review can be sent back."))
        if not comment.strip():
            raise ValidationError(_("Say what should change when sending a statement back."))
        self.publish_at = None
        self.scheduled_by = None
        return self._move(
            self.Status.DRAFT, action=Transition.Action.SEND_BACK, by=by, comment=comment
        )

    def schedule(self, *, by: Any, at: datetime, comment: str = "") -> Transition:
        if self.status != self.Status.IN_REVIEW:
            raise ValidationError(_("Only a statement in review can be scheduled."))
        self.publish_at = at
        self.scheduled_by = by
        return self._move(
            self.Status.IN_REVIEW, action=Transition.Action.SCHEDULE, by=by, comment=comment
        )

    def publish(self, *, by: Any, comment: str = "") -> Transition:
        if self.status != self.Status.IN_REVIEW:
            raise ValidationError(_("Only a statement in review can be published."))
        self.published_at = self.published_at or timezone.now()
        self.publish_at = None
        return self._move(
            self.Status.PUBLISHED, action=Transition.Action.PUBLISH, by=by, comment=comment
        )

    def unpublish(self, *, by: Any, comment: str = "") -> Transition:
        if self.status != self.Status.PUBLISHED:
            raise ValidationError(_("Only a published statement can be unpublished."))
        return self._move(
            self.Status.DRAFT, action=Transition.Action.UNPUBLISH, by=by, comment=comment
        )

    def record_revision(self, *, by: Any) -> Transition | None:
        """A published statement was edited: the page says "updated on"."""
        if self.status != self.Status.PUBLISHED:
            return None
        self.revised_at = timezone.now()
        self.save(update_fields=["revised_at", "updated_at"])
        return _audited(
            Transition.objects.create(
                statement=self,
                action=Transition.Action.REVISE,
                from_status=self.status,
                to_status=self.status,
                by=by if getattr(by, "pk", None) else None,
            )
        )

    # --- PDF ---------------------------------------------------------------

    def pdf_filename(self) -> str:
        return f"{self.slug}.pdf"


class Signatory(models.Model):
    statement = models.ForeignKey(
        Statement, on_delete=models.CASCADE, related_name="signatories", verbose_name=_("statement")
    )
    name_km = models.CharField(_("name (Khmer)"), max_length=200, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    role_km = models.CharField(_("role (Khmer)"), max_length=200, blank=True)
    role_en = models.CharField(_("role (English)"), max_length=200, blank=True)
    contact = models.CharField(
        _("contact"), max_length=300, blank=True, help_text=_("Telephone or e-mail, optional.")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("signatory")
        verbose_name_plural = _("signatories")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return str(self.text("name"))

    def text(self, field: str, language: str | None = None) -> LocalizedText:
        return localized(self, field, language)


def attachment_upload_to(instance: Attachment, filename: str) -> str:
    """A safe ASCII file name: the person's name for the file is kept in `title`."""
    path = PurePath(filename)
    suffix = path.suffix.lower() if path.suffix.lower() in ATTACHMENT_SIGNATURES else ""
    stem = unicodedata.normalize("NFKD", path.stem).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:60] or "file"
    return f"statements/attachments/{stem}-{secrets.token_hex(4)}{suffix}"


def validate_attachment(upload: Any) -> None:
    name = getattr(upload, "name", "") or ""
    suffix = PurePath(name).suffix.lower()
    if suffix not in ATTACHMENT_SIGNATURES:
        raise ValidationError(_("Attach a PDF or an image (PNG, JPEG, WebP)."))
    if upload.size > ATTACHMENT_MAX_BYTES:
        raise ValidationError(_("An attachment may be at most 10 MB."))
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not head.startswith(ATTACHMENT_SIGNATURES[suffix]) or (
        suffix == ".webp" and head[8:12] != b"WEBP"
    ):
        raise ValidationError(_("This file's content does not match its type."))


class Attachment(models.Model):
    statement = models.ForeignKey(
        Statement, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("statement")
    )
    file = models.FileField(
        _("file"), upload_to=attachment_upload_to, validators=[validate_attachment]
    )
    title_km = models.CharField(_("title (Khmer)"), max_length=200, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title_en or self.title_km or self.file.name or ""

    @property
    def is_image(self) -> bool:
        return PurePath(self.file.name or "").suffix.lower() in {".png", ".jpg", ".jpeg", ".webp"}

    def text(self, field: str, language: str | None = None) -> LocalizedText:
        return localized(self, field, language)


class Transition(models.Model):
    """Who moved a statement, when, from what to what, and why."""

    class Action(models.TextChoices):
        SUBMIT = "submit", _("Submitted for review")
        SEND_BACK = "send_back", _("Sent back")
        SCHEDULE = "schedule", _("Scheduled")
        PUBLISH = "publish", _("Published")
        UNPUBLISH = "unpublish", _("Unpublished")
        REVISE = "revise", _("Edited after publication")

    statement = models.ForeignKey(
        Statement, on_delete=models.CASCADE, related_name="transitions", verbose_name=_("statement")
    )
    action = models.CharField(_("action"), max_length=12, choices=Action.choices)
    from_status = models.CharField(_("from"), max_length=12, choices=Statement.Status.choices)
    to_status = models.CharField(_("to"), max_length=12, choices=Statement.Status.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        verbose_name = _("transition")
        verbose_name_plural = _("transitions")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.statement_id}: {self.get_action_display()}"


def new_unsubscribe_token() -> str:
    return secrets.token_urlsafe(24)


class PressContactQuerySet(models.QuerySet["PressContact"]):
    def press_list(self) -> PressContactQuerySet:
        """Who gets every published statement besides opted-in signers: the
        one owner of the press list."""
        return self.filter(active=True).order_by("pk")


class PressContact(models.Model):
    """A journalist or outlet that receives published statements."""

    name = models.CharField(_("name"), max_length=200)
    outlet = models.CharField(_("outlet"), max_length=200, blank=True)
    email = models.EmailField(_("e-mail"), unique=True)
    language = models.CharField(
        _("language"), max_length=5, choices=settings.LANGUAGES, default="en"
    )
    active = models.BooleanField(_("receives statements"), default=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed"), null=True, blank=True)
    unsubscribe_token = models.CharField(
        max_length=40, unique=True, default=new_unsubscribe_token, editable=False
    )
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    objects = PressContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("press contact")
        verbose_name_plural = _("press list")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.outlet})" if self.outlet else self.name


def _audited(transition: Transition) -> Transition:
    # Statements move through review and publishing in their own pages, not
    # only in the admin: each step is a change worth an audit entry.
    # The step's name in English, as the audit log translates it for each
    # reader (core.admin.detail_for_reader); the statuses as their codes.
    with translation.override("en"):
        step = str(transition.get_action_display())
    audit_record(
        action=AuditEntry.Action.CHANGED,
        user=transition.by,
        obj=transition.statement,
        detail=f"{step}: "
        f"{transition.from_status} → {transition.to_status}"
        + (f" ({transition.comment[:200]})" if transition.comment else ""),
    )
    return transition
