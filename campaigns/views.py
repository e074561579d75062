from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from campaigns.models import Campaign
from campaigns.templatetags.sitthi import digits
from signatures import tallies
from signatures.forms import SignatureForm, country_name, form_token, landing_from
from signatures.policy import signing_pause_message

TOP_COUNTRIES_SHOWN = 10


def home(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.open()
    return render(request, "campaigns/home.html", {"campaigns": campaigns})


def about(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/about.html")


def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.public()
    return render(request, "campaigns/list.html", {"campaigns": campaigns})


def share_links(campaign: Campaign) -> dict[str, str]:
    """Plain links to each network's own share page: no third-party script
    runs on our pages, and nothing is sent anywhere until the person clicks."""
    page = settings.SITE_URL + campaign.get_absolute_url()
    text = campaign.text("share_text").text or campaign.title.text

    def tagged(source: str) -> str:
        return f"{page}?{urlencode({'utm_source': source, 'utm_medium': 'share'})}"

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
    figures = tallies.figures(campaign)
    language = get_language() or settings.LANGUAGE_CODE
    return {
        "campaign": campaign,
        "figures": figures,
        "percent": min(100, round(100 * figures.total / figures.goal)) if figures.goal else 0,
        "top_countries": [
            (country_name(code), count) for code, count in figures.by_country[:TOP_COUNTRIES_SHOWN]
        ],
        "recent_signers": [(name, country_name(code)) for name, code in figures.recent_signers],
        "is_open": campaign.is_open(),
        "has_ended": bool(campaign.closes_at and campaign.closes_at <= timezone.now())
        or campaign.status in {Campaign.Status.CLOSED, Campaign.Status.ARCHIVED},
        "share": share_links(campaign),
        "og_locale": "km_KH" if language == "km" else "en_GB",
        "og_locale_alternate": "en_GB" if language == "km" else "km_KH",
    }


def campaign_page(
    request: HttpRequest, campaign: Campaign, form: SignatureForm | None = None, status: int = 200
) -> HttpResponse:
    """The campaign page, with a fresh form or one with errors."""
    pause_message = signing_pause_message(campaign)
    if form is None and campaign.is_open() and not pause_message:
        referrer, utm = landing_from(request.META.get("HTTP_REFERER", ""), request.GET)
        form = SignatureForm(
            campaign=campaign,
            initial={"form_token": form_token(referrer=referrer, utm=utm)},
        )
    context = campaign_context(campaign)
    context.update({"form": form, "pause_message": pause_message})
    return render(request, "campaigns/detail.html", context, status=status)


def campaign_detail(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.public(), slug=slug)
    return campaign_page(request, campaign)


@require_GET
def campaign_figures(request: HttpRequest, slug: str) -> JsonResponse:
    """Public figures for the live count; a few seconds of caching anywhere."""
    campaign = get_object_or_404(Campaign.objects.public(), slug=slug)
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
