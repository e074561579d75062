from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from core.models import AuditEntry


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Records written by code only (the audit log, jobs): browsable, never edited."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


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
