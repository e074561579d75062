"""Who may sign right now, and how fast: the rules organisers can change.

The signing code asks these functions; it never reads the rules itself.
Today the rules come from settings and the campaign; organisers' admin-editable
rules (blocked/allowed domains and IP ranges, rate limits, site-wide pause)
plug in here.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from campaigns.bilingual import localized
from campaigns.models import Campaign


@dataclass(frozen=True)
class RateLimits:
    burst: str  # django-ratelimit rate, e.g. "10/m"
    sustained: str  # e.g. "60/h"


@dataclass(frozen=True)
class Verdict:
    """What to do with a submission. A suspect one is stored but not counted."""

    blocked: bool = False
    suspect_reason: str = ""


def signing_pause_message(campaign: Campaign) -> str | None:
    """The message to show when signing is paused for this campaign, else None."""
    if campaign.signing_paused:
        message = localized(campaign, "paused_message").text
        return message or _("Signing is paused for a short while. Please come back later.")
    return None


def rate_limits() -> RateLimits:
    return RateLimits(burst=settings.SIGNATURE_RATE_BURST, sustained=settings.SIGNATURE_RATE_SUSTAINED)


def submission_verdict(*, campaign: Campaign, email_domain: str, ip_address: str | None) -> Verdict:
    """Blocked or allowed domains and IP ranges. No rules yet: everything passes."""
    return Verdict()
