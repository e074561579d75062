from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin
from organisers.models import GeneratedFile, Invalidation


@admin.register(Invalidation)
class InvalidationAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "campaign",
        "reason",
        "criteria_list",
        "status",
        "total",
        "invalidated",
        "created_by",
        "progress_link",
    ]
    list_filter = ["status", "campaign"]

    @admin.display(description=_("criteria"))
    def criteria_list(self, job: Invalidation) -> str:
        return format_html_join("; ", "{}: {}", job.criteria_labelled())

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
