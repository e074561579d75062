"""A campaign's page and the pages after signing, rendered once for every reader.

Readers outnumber signers ten to one, and every one of them opens the same
page: the campaign's texts, its figures (already kept for a few seconds,
signatures.tallies) and a fresh signing form. Only three things on it
differ from one reader to the next: the Content Security Policy nonce, the
CSRF token and the signed form token (when the form was shown and how the
reader arrived). So the page is rendered once per address and language
with unguessable placeholders for those three, kept with the campaign while
the process keeps it (campaigns.published: a few seconds, forgotten on a
change) and while its pause and its being open stay the same
(page_version), and each request fills in its own values.

The figures (the count, the countries, the recent signers) change with
every confirmation, far more often than the page: they are parts of their
own (`{% per_request %}`), kept apart with the figures they show and put
into the kept page by each request. So a flood of confirmations re-renders
a few small parts, not every page; and the confirmation's own page counts
its signer at once, with figures of its own (tallies.figures_with; its
parts are kept apart from the readers').

Django's CSRF protection stays as it is: the token is filled in per
request, and asking for it sets the reader's cookie as rendering would.

Only a page that is the same for every reader is shared: a GET from
someone signed out, with no message waiting for them, at the campaign's
plain address or at one of its share links (the query strings share_links
makes, a handful). Any other query string would make a page of its own
for each, so such a page is rendered as before.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

from django.contrib.messages import get_messages
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from campaigns.models import Campaign
from campaigns.published import published_rendered
from core.templatetags.sitthi import PER_REQUEST_MARK
from signatures import tallies
from signatures.countries import country_name
from signatures.forms import landing_token
from signatures.policy import signing_pause_message

# Where each share link sends its readers (signatures.views.share_links).
SHARE_SOURCES = ("facebook", "telegram", "whatsapp", "x", "email")
SHARE_MEDIUM = "share"

# Letters and digits only, so that escaping leaves them as they are; new in
# every process, so that no campaign text can hold one.
NONCE = f"nonce{secrets.token_hex(16)}"
CSRF_TOKEN = f"csrf{secrets.token_hex(16)}"
FORM_TOKEN = f"formtoken{secrets.token_hex(16)}"
PARTS = f"parts{secrets.token_hex(16)}"
# Not in PLACEHOLDERS: only a page that shows a receipt or a Telegram start
# link has one (`fills`).
RECEIPT = f"receipt{secrets.token_hex(16)}"
START_TOKEN = f"starttoken{secrets.token_hex(16)}"
PLACEHOLDERS = {"CSP_NONCE": NONCE, "csrf_token": CSRF_TOKEN, PER_REQUEST_MARK: PARTS}
PART = re.compile(re.escape(PARTS) + r"\[([\w/.-]+)\]")

TOP_COUNTRIES_SHOWN = 10


def figures_context(campaign: Campaign, figures: tallies.Figures | None = None) -> dict[str, Any]:
    """What the figures' parts show (and every page about the campaign):
    `figures`, or the campaign's as they are now."""
    figures = figures or tallies.figures(campaign)
    return {
        "campaign": campaign,
        "figures": figures,
        "percent": min(100, round(100 * figures.total / figures.goal)) if figures.goal else 0,
        "top_countries": [
            (country_name(code), count) for code, count in figures.by_country[:TOP_COUNTRIES_SHOWN]
        ],
        "recent_signers": [(name, country_name(code)) for name, code in figures.recent_signers],
        "is_open": campaign.is_open(),
    }


def is_share_query(query: dict[str, list[str]]) -> bool:
    """Exactly one of share_links' query strings."""
    return (
        set(query) == {"utm_source", "utm_medium"}
        and query["utm_medium"] == [SHARE_MEDIUM]
        and len(query["utm_source"]) == 1
        and query["utm_source"][0] in SHARE_SOURCES
    )


def same_for_every_reader(request: HttpRequest) -> bool:
    if request.method not in {"GET", "HEAD"}:
        return False
    if request.GET and not is_share_query(dict(request.GET.lists())):
        return False
    # A message (after withdrawing, say) is for one reader alone; counting
    # them does not mark them as read, so they are still shown.
    return not request.user.is_authenticated and not len(get_messages(request))


def page_version(campaign: Campaign) -> str:
    """What a kept page shows besides the campaign's own texts and its
    figures' parts: when any of it changes, the page is rendered again.
    Whether the form is open, which the clock decides; and the pause, which
    organisers set on the site's rules as well as on the campaign."""
    pause = signing_pause_message(campaign) or ""
    return f"{campaign.is_open()}|{campaign.has_ended()}|{pause}"


def _parts_filled(page: str, campaign: Campaign, figures: tallies.Figures | None) -> str:
    """Each figures part of a kept page, rendered with `figures`, or the
    figures as they are now (kept while they are)."""
    names = set(PART.findall(page))
    if not names:
        return page
    figures = figures or tallies.figures(campaign)
    version = figures.version
    # Signers' own figures (with their signature added) are kept apart from
    # readers': each key keeps one version, and readers' would be thrown out.
    kind = "own" if figures.own else "shared"
    language = get_language()
    for name in names:

        def rendered(name: str = name) -> SafeString:
            context = figures_context(campaign, figures)
            return mark_safe(render_to_string(name, context))  # noqa: S308 # nosec B308 B703 # our templates rendered it

        part = published_rendered(campaign, f"part:{name}:{kind}:{language}", rendered, version)
        page = page.replace(f"{PARTS}[{name}]", str(part))
    return page


def reader_page(
    request: HttpRequest,
    campaign: Campaign,
    name: str,
    render: Callable[[bool], HttpResponse],
    *,
    same_at_every_address: bool = False,
    status: int = 200,
    fills: dict[str, str] | None = None,
    figures: tallies.Figures | None = None,
) -> HttpResponse:
    """The page `render(shared)` makes: rendered for this request alone
    (`shared` False) unless it is the same for every reader; then rendered
    once with PLACEHOLDERS in its context and FORM_TOKEN as its form's token
    (`shared` True), kept, and this request's values filled in. A page kept
    per address and language, or per language alone when
    `same_at_every_address` (a confirmation link's page: the link's token
    is in its address, and the page says nothing of it). `fills`: more
    placeholders the kept page holds, and this request's (plain text) values.
    `figures`: what its figures parts show, if not the campaign's kept ones."""
    if not same_for_every_reader(request):
        return render(False)

    def rendered() -> SafeString:
        return mark_safe(render(True).content.decode())  # noqa: S308 # nosec B308 B703 # our templates rendered it

    address = "" if same_at_every_address else request.get_full_path()
    key = f"page:{name}:{get_language()}:{address}"
    page = _parts_filled(
        str(published_rendered(campaign, key, rendered, page_version(campaign))), campaign, figures
    )
    if NONCE in page:
        page = page.replace(NONCE, str(request.csp_nonce))  # type: ignore[attr-defined]
    if CSRF_TOKEN in page:
        page = page.replace(CSRF_TOKEN, get_token(request))
    if FORM_TOKEN in page:
        page = page.replace(FORM_TOKEN, landing_token(request))
    for placeholder, value in (fills or {}).items():
        page = page.replace(placeholder, escape(value))
    return HttpResponse(page, status=status)
