from __future__ import annotations

import re
from datetime import timedelta

from django.db import models
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.crypto import EncryptedTextField
from core.redaction import redact


class MessageQuerySet(models.QuerySet["Message"]):
    def due(self, grace: timedelta = timedelta(0)) -> MessageQuerySet:
        """Unsent messages whose next attempt time passed at least `grace` ago,
        by the database's clock: the query's SQL and values are then the same
        at every run (the drain writes it once per process)."""
        return self.filter(status=Message.Status.PENDING, next_attempt_at__lte=Now() - grace)

    def failing(self) -> MessageQuerySet:
        return self.filter(status=Message.Status.FAILED)


class Message(models.Model):
    """An e-mail or a Telegram message written in the same transaction as the
    change that causes it.

    This is the transactional outbox: the row commits with the signature (or
    the statement), so a broker outage between commit and queueing loses
    nothing; `outbox_flush` sends what the broker never delivered. `key` names
    the message (e.g. "signature:42:confirm:1") so it is sent once only.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        TELEGRAM = "telegram", _("Telegram")

    key = models.CharField(_("message key"), max_length=200, unique=True)
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.EMAIL
    )
    to = EncryptedTextField(_("to"))  # an e-mail address, or a Telegram chat id
    subject = models.CharField(_("subject"), max_length=300)
    body_text = EncryptedTextField(_("text"))  # carries signed links: encrypted like the address
    body_html = EncryptedTextField(_("HTML"), blank=True)
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("outgoing e-mail")
        verbose_name_plural = _("outgoing e-mails")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx")]

    def __str__(self) -> str:
        return self.key

    @property
    def message_id(self) -> str:
        """The same Message-ID on every attempt, so a resend can be recognised."""
        return f"<{self.key.replace(':', '.')}@sitthi>"

    def record_failure(self, error: str, max_attempts: int) -> None:
        """Count a failed attempt. The error is kept for the admin (staff
        without two-factor read it) and in every database dump, so it never
        keeps an address: servers echo the refused recipient in their reply.
        Redacted before it is cut, so an address cut in half cannot escape."""
        self.attempts += 1
        if self.to:
            error = re.sub(re.escape(self.to), "[email]", error, flags=re.IGNORECASE)
        self.last_error = redact(error)[:500]
        if self.attempts >= max_attempts:
            self.status = self.Status.FAILED
        else:
            # Exponential backoff: 1, 2, 4, 8 ... minutes, at most an hour.
            self.next_attempt_at = timezone.now() + timedelta(
                minutes=min(2 ** (self.attempts - 1), 60)
            )
        self.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])

    def mark_sent(self) -> None:
        self.status = self.Status.SENT
        self.sent_at = timezone.now()
        self.attempts += 1
        self.save(update_fields=["status", "sent_at", "attempts"])
