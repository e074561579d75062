"""The site's own pages: home, about, the list of campaigns. A campaign's
page, with its count and signing form, is signing's (signatures.views)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from campaigns.models import Campaign


def home(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.open()
    return render(request, "campaigns/home.html", {"campaigns": campaigns})


def about(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/about.html")


def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.public()
    return render(request, "campaigns/list.html", {"campaigns": campaigns})
