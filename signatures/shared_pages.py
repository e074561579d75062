"""A campaign's page and its thanks page, rendered once for every reader.

Readers outnumber signers ten to one, and every one of them opens the same
page: the campaign's texts, its figures (already kept for a few seconds,
signatures.tallies) and a fresh signing form. Only three things on it
differ from one reader to the next: the Content Security Policy nonce, the
CSRF token and the signed form token (when the form was shown and how the
reader arrived). So the page is rendered once per address and language
with unguessable placeholders for those three, kept with the campaign while
the process keeps it (campaigns.published: a few seconds, forgotten on a
change) and while its figures, its pause and its being open stay the same
(page_version), and each request fills in its own values.

Django's CSRF protection stays as it is: the token is filled in per
request, and asking for it sets the reader's cookie as rendering would.

Only a page that is the same for every reader is shared: a GET from
someone signed out, with no message waiting for them, at the campaign's
plain address or at one of its share links (the query strings share_links
makes, a handful). Any other query string would make a page of its own
for each, so such a page is rendered as before.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.contrib.messages import get_messages
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from campaigns.models import Campaign
from campaigns.published import published_rendered
from signatures import tallies
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
PLACEHOLDERS = {"CSP_NONCE": NONCE, "csrf_token": CSRF_TOKEN}


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
    """What a kept page shows besides the campaign's own texts: when any of
    it changes, the page is rendered again. The figures, so that a signer
    who just confirmed sees the count include them (a confirmation forgets
    the figures); whether the form is open, which the clock decides; and
    the pause, which organisers set on the site's rules as well as on the
    campaign."""
    figures = tallies.figures(campaign)
    pause = signing_pause_message(campaign) or ""
    return f"{figures.updated_at.isoformat()}|{campaign.is_open()}|{campaign.has_ended()}|{pause}"


def reader_page(
    request: HttpRequest, campaign: Campaign, name: str, render: Callable[[bool], HttpResponse]
) -> HttpResponse:
    """The page `render(shared)` makes: rendered for this request alone
    (`shared` False) unless it is the same for every reader; then rendered
    once with PLACEHOLDERS in its context and FORM_TOKEN as its form's token
    (`shared` True), kept, and this request's values filled in."""
    if not same_for_every_reader(request):
        return render(False)

    def rendered() -> SafeString:
        return mark_safe(render(True).content.decode())  # noqa: S308 # nosec B308 B703 - our templates rendered it

    key = f"page:{name}:{get_language()}:{request.get_full_path()}"
    page = str(published_rendered(campaign, key, rendered, page_version(campaign)))
    if NONCE in page:
        page = page.replace(NONCE, str(request.csp_nonce))  # type: ignore[attr-defined]
    if CSRF_TOKEN in page:
        page = page.replace(CSRF_TOKEN, get_token(request))
    if FORM_TOKEN in page:
        page = page.replace(FORM_TOKEN, landing_token(request))
    return HttpResponse(page)
