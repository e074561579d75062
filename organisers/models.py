"""What organisers set and what they did: rules, jobs, and the audit log."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from campaigns.models import Campaign
from core.roles import SystemAccess, can_see_personal_data
from signatures.models import Signature


def new_download_token() -> str:
    return secrets.token_urlsafe(24)


# --- Jobs -------------------------------------------------------------------


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed")


# A job in one of these has stopped for good.
FINISHED = frozenset({JobStatus.DONE, JobStatus.CANCELLED, JobStatus.FAILED})


# The criteria's names, as the invalidation form labels them.
CRITERIA_LABELS = {
    "email_domain": _("E-mail domain"),
    "network": _("IP address or range"),
    "signed_from": _("Signed from"),
    "signed_until": _("Signed before"),
    "country": _("Country of residence"),
    "name_pattern": _("Name pattern"),
}


class Job(models.Model):
    """What every organisers' background job has: its campaign, its state,
    why it failed, and who asked for it when."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, verbose_name=_("campaign"))
    status = models.CharField(
        _("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    error = models.CharField(_("error"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        abstract = True

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED


class Invalidation(Job):
    """Invalidating every signature that matches criteria, as a job.

    Criteria are stored as entered so the audit log says exactly what was
    matched; `total` is the count previewed when it started.
    """

    criteria = models.JSONField(_("criteria"), default=dict)
    reason = models.CharField(_("reason"), max_length=300)
    total = models.PositiveIntegerField(_("matching when started"), default=0)
    processed = models.PositiveIntegerField(_("examined"), default=0)
    invalidated = models.PositiveIntegerField(_("invalidated"), default=0)
    cancel_requested = models.BooleanField(_("cancel requested"), default=False)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # The preview this job was started from (the nonce inside its signed
    # token): unique, so one preview starts one job however often the button
    # is pressed, even by two requests at the same moment.
    preview_nonce = models.CharField(max_length=32, unique=True, null=True, editable=False)  # noqa: DJ001
    undo_requested_at = models.DateTimeField(_("undo asked at"), null=True, blank=True)
    undo_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    restored = models.PositiveIntegerField(_("restored"), default=0)

    class Meta:
        verbose_name = _("invalidation by criteria")
        verbose_name_plural = _("invalidations by criteria")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.campaign}: {self.reason}"

    def criteria_labelled(self) -> list[tuple[str, str]]:
        """The criteria as a reader reads them: each by its name in the
        reader's language, a country by its name, a time in local time."""
        labelled = []
        for key, value in self.criteria.items():
            shown = str(value)
            if key == "country":
                shown = str(countries.name(value)) or shown
            elif key in {"signed_from", "signed_until"}:
                try:
                    at = timezone.localtime(datetime.fromisoformat(value))
                except (TypeError, ValueError):
                    pass
                else:
                    shown = formats.date_format(at, "SHORT_DATETIME_FORMAT")
            labelled.append((str(CRITERIA_LABELS.get(key, key)), shown))
        return labelled

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.processed / self.total))

    @property
    def may_be_undone(self) -> bool:
        """A job is undone once, after it stopped (a running job would go on
        invalidating behind the undo)."""
        return self.is_finished and self.undo_requested_at is None and self.invalidated > 0


class InvalidatedSignature(models.Model):
    """One signature a job invalidated: what undoing the job restores.

    Kept here, above signatures (which know nothing of jobs), and written in
    the transaction that invalidates the signature. `invalidated_at` is the
    time the job stamped on it: a signature restored by hand and invalidated
    again since carries another time, and is no longer the job's to undo.
    """

    invalidation = models.ForeignKey(
        Invalidation, on_delete=models.CASCADE, related_name="invalidated_signatures"
    )
    signature = models.ForeignKey(Signature, on_delete=models.CASCADE, related_name="+")
    invalidated_at = models.DateTimeField()
    # Set when an undo has dealt with the row, restored or not: undoing twice
    # looks at nothing twice.
    undone_at = models.DateTimeField(null=True, blank=True)
    restored = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("signature invalidated by a job")
        verbose_name_plural = _("signatures invalidated by a job")
        constraints = [
            models.UniqueConstraint(
                fields=["invalidation", "signature"], name="one_record_per_job_and_signature"
            )
        ]

    def __str__(self) -> str:
        return f"{self.invalidation_id}: {self.signature_id}"


def readable_file_name(*, campaign: Campaign, what: str, language: str, day: date, ext: str) -> str:
    """`<campaign>-<what>-<language>-<YYYY-MM-DD>.<ext>`, e.g.
    `right-to-vote-signatures-km-2026-12-02.xlsx`: stable and readable."""
    return f"{campaign.slug}-{what}-{language}-{day:%Y-%m-%d}.{ext}"


FILE_LANGUAGES = [("km", "ខ្មែរ"), ("en", "English"), ("both", "ខ្មែរ + English")]


class GeneratedFile(Job):
    """A file built by a job (large export, delivery document), downloadable
    by the person who asked for it until it expires."""

    class Kind(models.TextChoices):
        SIGNATURE_EXPORT = "signatures", _("Full signature export")
        DELIVERY_NAMES = "delivery_names", _("Delivery document with names")
        DELIVERY_COUNTS = "delivery_counts", _("Delivery document, counts only")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    file = models.FileField(_("file"), upload_to="organisers/", blank=True)
    options = models.JSONField(_("options"), default=dict, blank=True)  # e.g. the export's format
    language = models.CharField(_("language"), max_length=4, choices=FILE_LANGUAGES, default="km")
    rows = models.PositiveIntegerField(_("rows"), default=0)
    # Progress, as invalidation jobs report it: rows (or names) to write, and written.
    total = models.PositiveIntegerField(_("rows to write"), default=0)
    processed = models.PositiveIntegerField(_("rows written"), default=0)
    token = models.CharField(max_length=40, default=new_download_token, editable=False)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        verbose_name = _("generated file")
        verbose_name_plural = _("generated files")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.campaign})"

    @property
    def percent(self) -> int:
        if self.status == JobStatus.DONE:
            return 100
        return 0 if not self.total else min(100, round(100 * self.processed / self.total))

    @property
    def download_name(self) -> str:
        """The name the file downloads as (storage may add a suffix to its own copy)."""
        what = {
            self.Kind.SIGNATURE_EXPORT: "signatures",
            self.Kind.DELIVERY_NAMES: "delivery-names",
            self.Kind.DELIVERY_COUNTS: "delivery-counts",
        }[GeneratedFile.Kind(self.kind)]
        return readable_file_name(
            campaign=self.campaign,
            what=what,
            language=self.language,
            day=timezone.localdate(self.created_at),
            ext=self.extension,
        )

    @property
    def extension(self) -> str:
        if self.kind != self.Kind.SIGNATURE_EXPORT:
            return "pdf"
        return str(self.options.get("format", "csv"))

    def progress(self, processed: int) -> None:
        """Record how many rows are written so far (the files page polls it)."""
        self.processed = processed
        GeneratedFile.objects.filter(pk=self.pk).update(processed=processed)

    @property
    def holds_personal_data(self) -> bool:
        return self.kind in {self.Kind.SIGNATURE_EXPORT, self.Kind.DELIVERY_NAMES}

    def claim(self) -> bool:
        """Mark the job running if it may run now. False when it is finished
        already, or when its owner may no longer build it (then it fails).

        A RUNNING job may run: a worker killed mid-file leaves it so, and the
        task comes back (acks_late); the file is written whole or not at all,
        so it starts over."""
        if self.status in FINISHED:
            return False
        if not self.owner_may_build():
            self.mark_failed("The person who asked may no longer see personal data.")
            return False
        GeneratedFile.objects.filter(pk=self.pk).update(status=JobStatus.RUNNING)
        return True

    def mark_failed(self, error: str) -> None:
        GeneratedFile.objects.filter(pk=self.pk).update(status=JobStatus.FAILED, error=error[:500])

    def owner_may_build(self) -> bool:
        """A file with personal data is built with the access of the person
        who asked for it, checked again when the job runs: someone whose
        permission or two-factor was removed meanwhile gets nothing."""
        if not self.holds_personal_data:
            return True
        return can_see_personal_data(None, system=SystemAccess.STAFF_JOB, user=self.created_by)

    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    def mark_ready(self, *, name: str, content: object, rows: int, hours: int) -> None:
        self.file.save(name, content, save=False)  # type: ignore[arg-type]
        self.rows = rows
        self.status = JobStatus.DONE
        self.expires_at = timezone.now() + timedelta(hours=hours)
        self.save()
