from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, CampaignLead, Question
from core.roles import can_see_dashboard


def leads_only_their_campaigns(request: HttpRequest) -> bool:
    """A campaign lead (may change campaigns but not create them) works on
    the campaigns listed for them in CampaignLead, and no others."""
    user = request.user
    return not user.is_superuser and not user.has_perm("campaigns.add_campaign")


class QuestionInline(admin.StackedInline):
    model = Question
    extra = 0


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "slug",
        "status",
        "opens_at",
        "closes_at",
        "signing_paused",
        "dashboard_link",
    ]
    list_filter = ["status", "signing_paused"]
    search_fields = ["slug", "title_km", "title_en"]
    inlines = [QuestionInline]
    actions = ["pause_signing", "resume_signing"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        campaigns = super().get_queryset(request)
        if leads_only_their_campaigns(request) and request.user.has_perm(
            "campaigns.change_campaign"
        ):
            led = CampaignLead.objects.filter(user_id=request.user.pk or 0).values("campaign")
            return campaigns.filter(pk__in=led)
        return campaigns

    def has_change_permission(self, request: HttpRequest, obj: Campaign | None = None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        if obj is not None and leads_only_their_campaigns(request):
            return CampaignLead.objects.filter(user_id=request.user.pk or 0, campaign=obj).exists()
        return True

    @admin.display(description=_("dashboard"))
    def dashboard_link(self, campaign: Campaign) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("organisers:dashboard", args=[campaign.slug]),
            gettext("Dashboard"),
        )

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        shown = list(super().get_list_display(request))
        return shown if can_see_dashboard(request.user) else shown[:-1]

    @admin.action(description=_("Pause signing (shows the pause message)"), permissions=["change"])
    def pause_signing(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in self.get_queryset(request).filter(pk__in=queryset, signing_paused=False):
            Campaign.objects.filter(pk=campaign.pk).update(signing_paused=True)
            self.log_change(request, campaign, "Signing paused")
        self.message_user(request, gettext("Signing paused."), messages.SUCCESS)

    @admin.action(description=_("Resume signing"), permissions=["change"])
    def resume_signing(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in self.get_queryset(request).filter(pk__in=queryset, signing_paused=True):
            Campaign.objects.filter(pk=campaign.pk).update(signing_paused=False)
            self.log_change(request, campaign, "Signing resumed")
        self.message_user(request, gettext("Signing resumed."), messages.SUCCESS)


@admin.register(CampaignLead)
class CampaignLeadAdmin(admin.ModelAdmin):
    list_display = ["user", "campaign"]
    list_filter = ["campaign"]
    autocomplete_fields = ["campaign"]
