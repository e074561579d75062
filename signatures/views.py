from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from campaigns.models import Campaign
from campaigns.views import campaign_context, campaign_page
from signatures import identity, services
from signatures.forms import SignatureForm
from signatures.policy import signing_pause_message


@require_POST
def sign(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.public(), slug=slug)
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
            services.signature_submit(
                campaign=campaign,
                data=form.signature_data(),
                ip_address=identity.client_ip(request),
                language=(get_language() or "km")[:2],
                suspect_reason=screening.suspect_reason,
            )
    # The same answer whatever happened: new, pending, already confirmed,
    # rate-limited or a bot. Nobody learns whether an address has signed.
    return redirect("signatures:thanks", slug=campaign.slug)


def thanks(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.public(), slug=slug)
    return render(request, "signatures/thanks.html", campaign_context(campaign))


@never_cache
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    # A forwarded link shows only the campaign, never the signer's data.
    result = services.signature_confirm(token=token)
    context = campaign_context(result.campaign) if result.campaign else {}
    context["outcome"] = result.outcome.value
    status = 200 if result.outcome == services.Confirmation.CONFIRMED else 400
    return render(request, "signatures/confirmed.html", context, status=status)


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
