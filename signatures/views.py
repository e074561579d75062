"""A campaign's public page (texts, live figures, sharing, the signing
form) and the signer's journey: sign, thanks, confirm, withdraw."""

import functools
import hmac
import io
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import segno
from csp.decorators import csp_replace
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import get_language, gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)

from campaigns.models import Campaign
from campaigns.published import published_campaign
from core import countlog, telegram_api
from core.http import client_ip
from core.templatetags.sitthi import digits
from signatures import badges, services, shared_pages, tallies, telegram
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


def campaign_context(campaign: Campaign, figures: tallies.Figures | None = None) -> dict[str, Any]:
    """What every page about a campaign shows: texts, figures (`figures`,
    or the campaign's as they are now), sharing."""
    language = get_language() or settings.LANGUAGE_CODE
    return shared_pages.figures_context(campaign, figures) | {
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
            form_token=form.claimed_token,
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
    if form.by_telegram:
        return redirect("signatures:telegram", slug=campaign.slug, token=form.telegram_token)
    return redirect("signatures:thanks", slug=campaign.slug)


def thanks(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = published_campaign(slug)

    def page(shared: bool) -> HttpResponse:
        placeholders = shared_pages.PLACEHOLDERS if shared else {}
        return render(request, "signatures/thanks.html", campaign_context(campaign) | placeholders)

    return shared_pages.reader_page(request, campaign, "thanks", page)


TELEGRAM_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,32}")


def _telegram_campaign(slug: str, token: str) -> Campaign:
    """The campaign a start token's pages are about, or 404."""
    campaign = published_campaign(slug)
    if not telegram_api.enabled() or not TELEGRAM_TOKEN.fullmatch(token):
        raise Http404("No such link.")
    return campaign


@never_cache
@require_safe
def telegram_start(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """After signing to confirm by Telegram: a plain link to our bot with
    the signature's token (no Telegram script on our page), and its QR code
    for someone on a computer with Telegram on their phone (telegram_qr).
    The page is the same for every signer but for the token: kept as the
    campaign page is (shared_pages), the token filled in."""
    campaign = _telegram_campaign(slug, token)

    def page(shared: bool) -> HttpResponse:
        placeholders = shared_pages.PLACEHOLDERS if shared else {}
        shown = shared_pages.START_TOKEN if shared else token
        context = campaign_context(campaign) | placeholders
        context["telegram_link"] = telegram_api.start_link(shown)
        context["telegram_token"] = shown
        context["max_age_days"] = settings.SIGNATURE_CONFIRM_MAX_AGE_DAYS  # as the bot reads it
        return render(request, "signatures/telegram_start.html", context)

    return shared_pages.reader_page(
        request,
        campaign,
        "telegram-start",
        page,
        same_at_every_address=True,
        fills={shared_pages.START_TOKEN: token},
    )


@never_cache
@require_safe
def telegram_qr(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """The start link's QR code, drawn here, an image of its own: the page
    loads it lazily and shows it only on a screen wide enough to be a
    computer's, so a phone, where no one can scan their own screen, never
    asks for it. Drawing one (choosing its mask above all) is 5 ms of CPU,
    measured, the most costly part of signing by Telegram."""
    _telegram_campaign(slug, token)
    svg = io.BytesIO()
    segno.make(telegram_api.start_link(token), error="m").save(
        svg,
        kind="svg",
        scale=5,
        border=2,
        omitsize=True,  # a viewBox: the page sets its size
        xmldecl=False,
        title=gettext("QR code of the link to confirm by Telegram"),
    )
    return HttpResponse(svg.getvalue(), content_type="image/svg+xml; charset=utf-8")


@csrf_exempt
@require_POST
def telegram_webhook(request: HttpRequest) -> JsonResponse:
    """Where Telegram delivers updates. Checked by the secret Telegram sends
    in a header; answers at once (a worker handles the update); never a 5xx
    for bad input, which Telegram would only deliver again and again."""
    if not telegram_api.enabled():
        raise Http404("No bot here.")
    secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not hmac.compare_digest(secret.encode(), settings.TELEGRAM_WEBHOOK_SECRET.encode()):
        return JsonResponse({"ok": False, "error": "forbidden"}, status=403)
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"ok": False, "error": "not JSON"}, status=400)
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("update_id"), int)
        or isinstance(data.get("update_id"), bool)
        or not -(2**63) <= data["update_id"] < 2**63
    ):
        return JsonResponse({"ok": False, "error": "not an update"}, status=400)
    telegram.update_receive(data=data)
    return JsonResponse({"ok": True})


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
        context = campaign_context(campaign, result.figures) | {"outcome": outcome} | placeholders
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
        figures=result.figures,
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
