"""A campaign's public page (texts, live figures, sharing, the signing
form) and the signer's journey: sign, thanks, confirm, withdraw."""

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from csp.decorators import csp_replace
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_safe

from campaigns.models import Campaign
from campaigns.published import published_campaign
from core import countlog
from core.http import client_ip
from core.templatetags.sitthi import digits
from signatures import badges, services, shared_pages, tallies
from signatures.forms import SignatureForm, country_name, landing_token
from signatures.policy import signing_pause_message


def share_links(campaign: Campaign) -> dict[str, str]:
    """Plain links to each network's own share page: no third-party script
    runs on our pages, and nothing is sent anywhere until the person clicks."""
    page = settings.SITE_URL + campaign.get_absolute_url()
    text = campaign.text("share_text").text or campaign.title.text

    def tagged(source: str) -> str:
        query = {"utm_source": source, "utm_medium": shared_pages.SHARE_MEDIUM}
        return f"{page}?{urlencode(query)}"

    return {
        "page": page,
        "facebook": "https://www.facebook.com/sharer/sharer.php?"
        + urlencode({"u": tagged("facebook")}),
        "telegram": "https://t.me/share/url?"
        + urlencode({"url": tagged("telegram"), "text": text}),
        "whatsapp": "https://wa.me/?" + urlencode({"text": f"{text} {tagged('whatsapp')}"}),
        "x": "https://x.com/intent/post?" + urlencode({"text": text, "url": tagged("x")}),
        "email": "mailto:?"
        + urlencode(
            {"subject": campaign.title.text, "body": f"{text}\n\n{tagged('email')}"},
            quote_via=quote,  # mail programs read %20, not +
        ),
    }


def campaign_context(campaign: Campaign) -> dict[str, Any]:
    """What every page about a campaign shows: texts, figures, sharing."""
    language = get_language() or settings.LANGUAGE_CODE
    return shared_pages.figures_context(campaign) | {
        "has_ended": campaign.has_ended(),
        "share": share_links(campaign),
        "og_locale": "km_KH" if language == "km" else "en_GB",
        "og_locale_alternate": "en_GB" if language == "km" else "km_KH",
    }


def campaign_page(
    request: HttpRequest,
    campaign: Campaign,
    form: SignatureForm | None = None,
    status: int = 200,
    *,
    shared: bool = False,
) -> HttpResponse:
    """The campaign page, with a fresh form or one with errors; `shared`:
    with placeholders for what differs from reader to reader (shared_pages)."""
    pause_message = signing_pause_message(campaign)
    if form is None and campaign.is_open() and not pause_message:
        token = shared_pages.FORM_TOKEN if shared else landing_token(request)
        form = SignatureForm(campaign=campaign, initial={"form_token": token})
    context = campaign_context(campaign)
    context.update({"form": form, "pause_message": pause_message})
    if shared:
        context.update(shared_pages.PLACEHOLDERS)
    return render(request, "signatures/campaign.html", context, status=status)


def campaign_detail(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = published_campaign(slug)
    return shared_pages.reader_page(
        request,
        campaign,
        "campaign",
        lambda shared: campaign_page(request, campaign, shared=shared),
    )


@require_GET
def campaign_figures(request: HttpRequest, slug: str) -> JsonResponse:
    """Public figures for the live count; a few seconds of caching anywhere."""
    campaign = published_campaign(slug)
    figures = tallies.figures(campaign)
    response = JsonResponse(
        {
            "total": figures.total,
            "total_display": digits(figures.total),
            "goal": figures.goal,
            "goal_display": digits(figures.goal),
            "by_country": [
                {"country": code, "name": country_name(code), "count": count}
                for code, count in figures.by_country
            ],
            "updated_at": figures.updated_at.isoformat(),
        }
    )
    response["Cache-Control"] = f"public, max-age={tallies.FIGURES_CACHE_SECONDS}"
    return response


# --- The count on other sites: widget and badge --------------------------------

WIDGET_CACHE_SECONDS = 60
BADGE_CACHE_SECONDS = 60


def framable_by_other_sites(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The view's pages may be framed by WIDGET_FRAME_ANCESTORS (read on
    each request), and carry no X-Frame-Options; every other page keeps
    forbidding frames (config.settings)."""

    @functools.wraps(view)
    def framable(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        policy = {"frame-ancestors": list(settings.WIDGET_FRAME_ANCESTORS)}
        return csp_replace(policy)(view)(request, *args, **kwargs)  # type: ignore[return-value]

    return xframe_options_exempt(framable)


def loadable_by_other_sites(response: HttpResponse, max_age: int) -> HttpResponse:
    """Other sites' pages show it (the resource policy is same-origin on
    every other response), and caches anywhere may keep it a while: it is
    the same for every reader."""
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["Cache-Control"] = f"public, max-age={max_age}"
    return response


@require_safe
@framable_by_other_sites
def widget(request: HttpRequest, slug: str) -> HttpResponse:
    """The count, the goal and a link to sign, for other sites' iframes.
    It sets no cookie: no form, no session, nothing of the reader's; and
    it loads nothing from another host (signatures/widget.html)."""
    campaign = published_campaign(slug)
    response = render(request, "signatures/widget.html", shared_pages.figures_context(campaign))
    return loadable_by_other_sites(response, WIDGET_CACHE_SECONDS)


@require_safe
def badge(request: HttpRequest, slug: str) -> HttpResponse:
    """The count as an SVG image, for pages that cannot frame the widget
    (forums, newsletters)."""
    campaign = published_campaign(slug)
    language = (get_language() or settings.LANGUAGE_CODE)[:2]
    context = badges.badge_context(tallies.figures(campaign).total, language)
    svg = render_to_string("signatures/badge.svg", context)
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    return loadable_by_other_sites(response, BADGE_CACHE_SECONDS)


# --- Signing -----------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def sign(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = published_campaign(slug)
    if request.method != "POST":
        # The form's address opened as a page (a reload, a language switch,
        # a copied link): the form lives on the campaign page.
        return redirect("signatures:campaign", slug=campaign.slug)
    if not campaign.is_open() or signing_pause_message(campaign):
        return campaign_page(request, campaign, status=409)
    form = SignatureForm(request.POST, campaign=campaign)
    if not form.is_valid():
        return campaign_page(request, campaign, form=form, status=400)
    if not form.bot_reason:
        screening = services.submission_screen(
            request=request,
            campaign=campaign,
            email=form.cleaned_data["email"],
            suspect_reason=form.suspect_reason,
        )
        if screening.store:
            services.submission_receive(
                campaign=campaign,
                data=form.signature_data(),
                ip_address=client_ip(request),
                language=(get_language() or "km")[:2],
                suspect_reason=screening.suspect_reason,
            )
    # The same answer whatever happened: new, pending, already confirmed,
    # rate-limited or a bot. Nobody learns whether an address has signed.
    return redirect("signatures:thanks", slug=campaign.slug)


def thanks(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = published_campaign(slug)

    def page(shared: bool) -> HttpResponse:
        placeholders = shared_pages.PLACEHOLDERS if shared else {}
        return render(request, "signatures/thanks.html", campaign_context(campaign) | placeholders)

    return shared_pages.reader_page(request, campaign, "thanks", page)


@never_cache
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    # A forwarded link shows only the campaign, never the signer's data: so
    # the page is the same for everyone with the same outcome, and kept as
    # the campaign page is (shared_pages), whatever the link's token.
    result = services.signature_confirm(token=token)
    outcome = result.outcome.value
    # Held for review is not an error: the e-mail is confirmed, the count waits.
    worked = {services.Confirmation.CONFIRMED, services.Confirmation.HELD}
    status = 200 if result.outcome in worked else 400
    campaign = result.campaign  # the process's kept copy, unless a draft's (signatures.links)
    if campaign is None:
        return render(request, "signatures/confirmed.html", {"outcome": outcome}, status=status)

    receipt = countlog.receipt_display(result.receipt) if result.receipt else ""

    def page(shared: bool) -> HttpResponse:
        placeholders = shared_pages.PLACEHOLDERS if shared else {}
        context = campaign_context(campaign) | {"outcome": outcome} | placeholders
        context["receipt"] = shared_pages.RECEIPT if shared else receipt
        return render(request, "signatures/confirmed.html", context, status=status)

    return shared_pages.reader_page(
        request,
        campaign,
        f"confirmed:{outcome}",
        page,
        same_at_every_address=True,
        status=status,
        fills={shared_pages.RECEIPT: receipt},
    )


@never_cache
@require_http_methods(["GET", "POST"])
def withdraw(request: HttpRequest, token: str) -> HttpResponse:
    # GET only asks: mail scanners open links, and must not withdraw anything.
    if request.method == "POST":
        campaign = services.signature_withdraw(token=token)
        if campaign is None:
            return render(request, "signatures/withdraw.html", {"invalid": True}, status=400)
        return render(
            request, "signatures/withdrawn.html", campaign_context(campaign) | {"done": True}
        )
    campaign = services.withdrawal_campaign(token=token)
    if campaign is None:
        return render(request, "signatures/withdraw.html", {"invalid": True}, status=400)
    return render(request, "signatures/withdraw.html", {"campaign": campaign})
