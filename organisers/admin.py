from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from organisers.models import GeneratedFile, Invalidation


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
