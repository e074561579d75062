from __future__ import annotations

import re
from typing import Any

from django.apps import apps
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.models import AuditEntry
from core.roles import can_see_personal_data


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Records written by code only (the audit log, jobs): browsable, never edited."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


HIDDEN = _("Hidden without two-factor sign-in")


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit log: browsable and filterable, never editable.

    What an entry was about (`object_repr`: a signer's name for a change to a
    signature) and its detail (a reason, a page, a comment) are shown, and
    searched, only for staff who may see personal data; others see who did
    what kind of thing to what type of record, and when."""

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

    # The columns that may carry personal data, and what stands in for them.
    PERSONAL = {
        "object_repr": "hidden_object_repr",
        "detail": "hidden_detail",
        "detail_for_reader": "hidden_detail",
    }

    def _personal(self, request: HttpRequest) -> bool:
        if not hasattr(request, "_audit_personal_data"):
            request._audit_personal_data = can_see_personal_data(request)  # type: ignore[attr-defined]
        return bool(request._audit_personal_data)  # type: ignore[attr-defined]

    def _hidden(self, request: HttpRequest, names: list[Any]) -> list[Any]:
        if self._personal(request):
            return names
        return [self.PERSONAL.get(name, name) for name in names]

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        return self._hidden(request, list(super().get_list_display(request)))

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return self._hidden(request, list(super().get_fields(request, obj)))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return self._hidden(request, list(super().get_readonly_fields(request, obj)))

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        fields = list(super().get_search_fields(request))
        if self._personal(request):
            return fields
        return [name for name in fields if name not in self.PERSONAL]

    @admin.display(description=_("object"))
    def hidden_object_repr(self, entry: AuditEntry) -> str:
        return str(HIDDEN) if entry.object_repr else ""

    @admin.display(description=_("what"))
    def hidden_detail(self, entry: AuditEntry) -> str:
        return str(HIDDEN) if entry.detail else ""

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
