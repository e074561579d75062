from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.bilingual import LocalizedText, localized

DEFAULT_GOAL_MILESTONES = [1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000]

ascii_slug = RegexValidator(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
    _("Use lower-case Latin letters, digits and hyphens only."),
)


class CampaignQuerySet(models.QuerySet["Campaign"]):
    def public(self) -> CampaignQuerySet:
        """Campaigns anyone may see: everything but drafts."""
        return self.exclude(status=Campaign.Status.DRAFT)

    def open(self, at: datetime | None = None) -> CampaignQuerySet:
        """Campaigns that accept signatures right now."""
        now = at or timezone.now()
        return self.filter(status=Campaign.Status.OPEN).filter(
            Q(opens_at__isnull=True) | Q(opens_at__lte=now),
            Q(closes_at__isnull=True) | Q(closes_at__gt=now),
        )


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")
        ARCHIVED = "archived", _("Archived")

    slug = models.CharField(
        _("address"),
        max_length=80,
        unique=True,
        validators=[ascii_slug],
        help_text=_("The campaign's web address, in Latin letters: e.g. right-to-vote-2014."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    opens_at = models.DateTimeField(_("opens at"), null=True, blank=True)
    closes_at = models.DateTimeField(_("closes at"), null=True, blank=True)

    title_km = models.CharField(_("title (Khmer)"), max_length=200, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    summary_km = models.TextField(_("summary (Khmer)"), blank=True)
    summary_en = models.TextField(_("summary (English)"), blank=True)
    body_km = models.TextField(_("text (Khmer)"), blank=True, help_text=_("Markdown."))
    body_en = models.TextField(_("text (English)"), blank=True, help_text=_("Markdown."))
    target_km = models.CharField(_("addressed to (Khmer)"), max_length=200, blank=True)
    target_en = models.CharField(_("addressed to (English)"), max_length=200, blank=True)
    share_text_km = models.CharField(_("share text (Khmer)"), max_length=280, blank=True)
    share_text_en = models.CharField(_("share text (English)"), max_length=280, blank=True)

    image = models.ImageField(_("image"), upload_to="campaigns/", blank=True)
    image_alt_km = models.CharField(_("image description (Khmer)"), max_length=300, blank=True)
    image_alt_en = models.CharField(_("image description (English)"), max_length=300, blank=True)

    goal_milestones = models.JSONField(
        _("goal milestones"),
        default=list,
        blank=True,
        help_text=_("Signature counts the goal steps through, e.g. [1000, 5000, 10000]."),
    )

    ask_phone = models.BooleanField(_("ask for a phone number"), default=False)
    ask_city = models.BooleanField(_("ask for the city"), default=False)
    ask_province = models.BooleanField(_("ask for the province of origin"), default=False)

    signing_paused = models.BooleanField(_("signing paused"), default=False)
    paused_message_km = models.CharField(_("pause message (Khmer)"), max_length=300, blank=True)
    paused_message_en = models.CharField(_("pause message (English)"), max_length=300, blank=True)

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last saved"), auto_now=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-opens_at", "-created_at"]

    def __str__(self) -> str:
        # In the reader's language (staff on /km/ read the Khmer title first).
        return str(self.title) or self.slug

    def get_absolute_url(self) -> str:
        return reverse("signatures:campaign", kwargs={"slug": self.slug})

    def text(self, field: str, language: str | None = None) -> LocalizedText:
        return localized(self, field, language)

    @property
    def title(self) -> LocalizedText:
        return self.text("title")

    def is_open(self, at: datetime | None = None) -> bool:
        now = at or timezone.now()
        return (
            self.status == self.Status.OPEN
            and (self.opens_at is None or self.opens_at <= now)
            and (self.closes_at is None or self.closes_at > now)
        )

    def ended_at(self) -> datetime | None:
        """When signing ended: the closing time once it has passed, or the
        last edit of a campaign closed by hand. None while it has not ended
        (open, a draft, or not opened yet). The one owner of "has ended"."""
        if self.closes_at and self.closes_at <= timezone.now():
            return self.closes_at
        if self.status in {self.Status.CLOSED, self.Status.ARCHIVED}:
            return self.updated_at  # closed by hand: the last edit closed it
        return None

    def has_ended(self) -> bool:
        return self.ended_at() is not None

    def goal_for(self, count: int) -> int:
        """The next milestone above `count`: the goal raises itself once reached."""
        milestones = sorted(self.goal_milestones or DEFAULT_GOAL_MILESTONES)
        for milestone in milestones:
            if count < milestone:
                return int(milestone)
        # Past the last milestone: keep doubling it.
        goal = int(milestones[-1])
        while goal <= count:
            goal *= 2
        return goal


class Question(models.Model):
    """A campaign's own yes/no or choice question, asked on its signing form."""

    class Kind(models.TextChoices):
        YES_NO = "yes_no", _("Yes or no")
        CHOICE = "choice", _("One choice")

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="questions", verbose_name=_("campaign")
    )
    key = models.CharField(_("key"), max_length=40, validators=[ascii_slug])
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.YES_NO)
    label_km = models.CharField(_("question (Khmer)"), max_length=300, blank=True)
    label_en = models.CharField(_("question (English)"), max_length=300, blank=True)
    choices = models.JSONField(
        _("choices"),
        default=list,
        blank=True,
        help_text=_(
            'For a choice question: [{"value": "a", "label_km": "...", "label_en": "..."}].'
        ),
    )
    required = models.BooleanField(_("required"), default=False)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "key"], name="question_key_unique")
        ]

    def __str__(self) -> str:
        return str(self.label) or self.key

    @property
    def label(self) -> LocalizedText:
        return localized(self, "label")


class CampaignLead(models.Model):
    """A campaign lead edits the campaigns listed here, and no others."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="led_campaigns",
        verbose_name=_("staff member"),
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="leads", verbose_name=_("campaign")
    )

    class Meta:
        verbose_name = _("campaign lead")
        verbose_name_plural = _("campaign leads")
        constraints = [
            models.UniqueConstraint(fields=["user", "campaign"], name="one_lead_row_per_campaign")
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.campaign}"
