"""Who may sign right now, and how fast: the rules organisers can change.

The signing code asks these functions; it never reads the rules itself.
The rules come from the campaign, from organisers' admin-editable settings
(signatures.models: site-wide pause, rate limits, e-mail domain and IP range
rules) and, where those are empty, from settings.
"""

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from core.bilingual import localized
from core.kept import KeptForAWhile
from core.marks import marks_make
from core.rates import rate_window
from signatures.models import DomainRule, IpRule, RuleAction, SigningSettings

# The rules are read on every signature; under a flood that was four queries
# of the eleven a signature costs. Each process keeps them this long, so an
# organiser's change takes effect within a few seconds everywhere.
RULES_TTL_SECONDS = 5.0
_rules: KeptForAWhile[dict[str, Any]] = KeptForAWhile(RULES_TTL_SECONDS)


def _cached_rules() -> dict[str, Any]:
    return _rules.get(
        "rules",
        lambda: {
            "site": SigningSettings.current(),
            "domain_rules": list(DomainRule.objects.all()),
            "ip_rules": list(IpRule.objects.all()),
        },
    )


def forget_rules() -> None:
    """Read the rules afresh on next use (after an organiser changes them, in tests)."""
    _rules.forget()


@dataclass(frozen=True)
class RateLimits:
    burst: str  # a rate (core.rates), e.g. "10/m"
    sustained: str  # e.g. "60/h"


@dataclass(frozen=True)
class Verdict:
    """What to do with a submission. A suspect one is stored but not counted."""

    blocked: bool = False
    suspect_reason: str = ""


def signing_pause_message(campaign: Campaign) -> str | None:
    """The message to show when signing is paused for this campaign (or on
    the whole site), else None."""
    site = _cached_rules()["site"]
    if site.signing_paused:
        message = localized(site, "paused_message").text
        return message or _("Signing is paused for a short while. Please come back later.")
    if campaign.signing_paused:
        message = localized(campaign, "paused_message").text
        return message or _("Signing is paused for a short while. Please come back later.")
    return None


def rate_limits() -> RateLimits:
    site = _cached_rules()["site"]
    return RateLimits(
        burst=site.rate_burst or settings.SIGNATURE_RATE_BURST,
        sustained=site.rate_sustained or settings.SIGNATURE_RATE_SUSTAINED,
    )


def fill_time_suspect_reason(*, shown_at: float, now: float | None = None) -> str:
    """Why a form sent sooner after the page was shown than
    SIGNATURE_MIN_FILL_SECONDS is held for review, or "" for a form sent later.

    Held, never dropped: a phone fills in a name and an address in under a
    second, so speed alone does not make a bot. The honeypot field is the bot
    signal (signatures.forms); this only keeps fast forms out of the count
    until a moderator has looked. One wording per setting, so a moderator can
    filter a batch by it.
    """
    minimum = settings.SIGNATURE_MIN_FILL_SECONDS
    elapsed = (time.time() if now is None else now) - shown_at
    if elapsed >= minimum:
        return ""
    return f"form sent within {minimum} s of the page loading (autofill, or a bot)"


REPLAYED_FORM_REASON = "form sent with a token already used (a page replayed, or a bot)"
OVER_RATE_LIMIT_REASON = "over the rate limit for its IP address"
# A form's token is good this long after the page was shown, and its first
# use is remembered as long.
FORM_TOKEN_MAX_AGE = 7 * 24 * 3600


@dataclass(frozen=True)
class Marks:
    """What a submission's marks in the cache say about it."""

    token_reused: bool
    over_rate_limit: bool


def submission_marks(*, form_token: str, client: str) -> Marks:
    """Mark a submission in the cache, in one round trip (core.marks): its
    form token's first use, and one more signature from `client` (an IPv4
    address, an IPv6 network) in each rate-limit window. Every window counts
    the submission, even once another is exceeded.

    One page, one signature: a bot that loads the form once and replays its
    token (20,000 times, in one test) would otherwise pass the fill-time rule
    on every submission after the first. The first use wins atomically,
    whatever the number of web processes. A reuse is held, never dropped: a
    double click sends the same token twice, and nothing tells the sender. A
    form shown again after an error carries a fresh token (signatures.forms),
    so correcting a mistake is not a reuse. `form_token` "": nothing to claim
    (no valid token). With the cache unreachable, nothing is a reuse or over
    a limit: people sign while Redis restarts.
    """
    limits = rate_limits()
    claims = {}
    if form_token:
        token_key = "signatures:form-token:" + hashlib.sha256(form_token.encode()).hexdigest()[:40]
        claims[token_key] = FORM_TOKEN_MAX_AGE
    windows, allowed = {}, {}
    for name, rate in (("burst", limits.burst), ("sustained", limits.sustained)):
        count, seconds = rate_window(rate)
        key = f"signatures:rate:{name}:{seconds}:{client}"
        windows[key], allowed[key] = seconds, count
    marked = marks_make(claims=claims, windows=windows)
    return Marks(
        token_reused=bool(claims) and not marked.first_claims,
        over_rate_limit=any(marked.counts[key] > allowed[key] for key in windows),
    )


def submission_verdict(*, campaign: Campaign, email_domain: str, ip_address: str | None) -> Verdict:
    """Blocked, suspect or allowed, from the e-mail domain and IP range rules.

    An "allow" rule that matches wins over any block (a community centre's
    shared address, a university's domain); otherwise a block wins over a hold.
    """
    rules = _cached_rules()

    def applies(rule: DomainRule | IpRule) -> bool:
        return rule.campaign_id is None or rule.campaign_id == campaign.pk

    matched: list[DomainRule | IpRule] = [
        rule
        for rule in rules["domain_rules"]
        if applies(rule) and email_domain and rule.matches(email_domain)
    ]
    if ip_address:
        matched += [
            rule for rule in rules["ip_rules"] if applies(rule) and rule.matches(ip_address)
        ]
    actions = {rule.action for rule in matched}
    if RuleAction.ALLOW in actions:
        return Verdict()
    if RuleAction.BLOCK in actions:
        return Verdict(blocked=True)
    if RuleAction.SUSPECT in actions:
        held = next(rule for rule in matched if rule.action == RuleAction.SUSPECT)
        return Verdict(suspect_reason=_("Matches a held rule: %(rule)s") % {"rule": held})
    return Verdict()
