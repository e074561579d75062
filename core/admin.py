from __future__ import annotations

import re

from django.apps import apps
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

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
        "detail_for_reader",
    ]
    list_filter = ["action", "object_type", ("at", admin.DateFieldListFilter), "user"]
    search_fields = ["user_label", "object_repr", "object_id", "ip_address", "detail"]
    date_hierarchy = "at"
    list_per_page = 100
    show_full_result_count = False

    @admin.display(description=_("what"))
    def detail_for_reader(self, entry: AuditEntry) -> str:
        return detail_for_reader(entry)


# "Published: in_review → published (comment)", as statements write a step.
TRANSITION = re.compile(
    r"^(?P<action>[^:\n]+): (?P<old>[\w-]+) → (?P<new>[\w-]+)(?P<rest>.*)$", re.S
)


def detail_for_reader(entry: AuditEntry) -> str:
    """An entry's detail in the reader's language: a change of status names
    both statuses by their labels (the stored codes stay stable), and the
    step by its name, which is stored in English."""
    match = TRANSITION.match(entry.detail or "")
    if not match:
        return entry.detail
    try:
        status = apps.get_model(entry.object_type)._meta.get_field("status")
    except (LookupError, ValueError):
        return entry.detail
    labels = {str(code): str(label) for code, label in status.flatchoices}
    old, new = match["old"], match["new"]
    if old not in labels or new not in labels:
        return entry.detail
    return f"{gettext(match['action'])}: {labels[old]} → {labels[new]}{match['rest']}"
