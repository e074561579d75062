from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from organisers.models import (
    AuditEntry,
    CampaignLead,
    DomainRule,
    GeneratedFile,
    Invalidation,
    IpRule,
    SigningSettings,
)


@admin.register(SigningSettings)
class SigningSettingsAdmin(admin.ModelAdmin):
    """One row: the site-wide pause and the rate limits."""

    list_display = ["__str__", "signing_paused", "rate_burst", "rate_sustained", "updated_at"]
    fieldsets = [
        (_("Pause"), {"fields": ["signing_paused", "paused_message_km", "paused_message_en"]}),
        (_("Rate limits"), {"fields": ["rate_burst", "rate_sustained"]}),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not SigningSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(DomainRule)
class DomainRuleAdmin(admin.ModelAdmin):
    list_display = ["domain", "action", "campaign", "note", "created_at"]
    list_filter = ["action", "campaign"]
    search_fields = ["domain", "note"]


@admin.register(IpRule)
class IpRuleAdmin(admin.ModelAdmin):
    list_display = ["network", "action", "campaign", "note", "created_at"]
    list_filter = ["action", "campaign"]
    search_fields = ["network", "note"]


@admin.register(CampaignLead)
class CampaignLeadAdmin(admin.ModelAdmin):
    list_display = ["user", "campaign"]
    list_filter = ["campaign"]
    autocomplete_fields = ["campaign"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Invalidation)
class InvalidationAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "campaign",
        "reason",
        "status",
        "total",
        "invalidated",
        "created_by",
        "progress_link",
    ]
    list_filter = ["status", "campaign"]

    @admin.display(description=_("progress"))
    def progress_link(self, job: Invalidation) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("organisers:invalidation", args=[job.pk]), _("Open")
        )


@admin.register(GeneratedFile)
class GeneratedFileAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "campaign", "status", "rows", "created_by", "expires_at"]
    list_filter = ["kind", "status"]
    exclude = ["file", "token"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit log: browsable and filterable, never editable."""

    list_display = [
        "at",
        "user_label",
        "ip_address",
        "action",
        "object_type",
        "object_repr",
        "detail",
    ]
    list_filter = ["action", "object_type", ("at", admin.DateFieldListFilter), "user"]
    search_fields = ["user_label", "object_repr", "object_id", "ip_address", "detail"]
    date_hierarchy = "at"
    list_per_page = 100
    show_full_result_count = False
