from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from campaigns.models import Campaign


def home(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.open()
    return render(request, "campaigns/home.html", {"campaigns": campaigns})


def about(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/about.html")


def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.public()
    return render(request, "campaigns/list.html", {"campaigns": campaigns})


def campaign_detail(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.public(), slug=slug)
    return render(request, "campaigns/detail.html", {"campaign": campaign})
