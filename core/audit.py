"""The audit log: who viewed or exported personal data, and every staff change.

Changes made through the admin are recorded by `AuditedAdmin`, which the
site's AdminSite mixes into every registered ModelAdmin (Django's own admin
log knows the user but not the address). Views and exports of personal data,
bulk actions, jobs and workflow steps record themselves with `audit_record`,
given the request or the user explicitly: there is no global "current
request".
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.admin import ModelAdmin
from django.contrib.admin.models import LogEntry
from django.contrib.admin.views.main import SEARCH_VAR
from django.db.models import Model
from django.http import HttpRequest

from core.http import client_ip
from core.models import AuditEntry
from core.redaction import redact

# What a search was for, without what was typed: an audit entry is read by
# staff who may not see personal data, and is kept in every database dump.
SEARCH_MARKERS = {"email": "[e-mail]", "phone": "[phone]", "name": "[name]"}


def search_kind(term: str) -> str:
    """What a search term looks for: "email", "phone" or "name". Without a
    letter it is taken for (part of) a phone number: never a name."""
    if "@" in term or "%40" in term.lower():
        return "email"
    if not any(char.isalpha() for char in term):
        return "phone"
    return "name"


def audit_page(request: HttpRequest) -> str:
    """The page a request showed, for an audit entry: its path and filters,
    the search replaced by a marker of its kind (e-mail, phone, name) and any
    address or phone number in another parameter redacted."""
    parameters = []
    for key, values in request.GET.lists():
        for value in values:
            if key == SEARCH_VAR:
                value = SEARCH_MARKERS[search_kind(value)] if value.strip() else ""
            else:
                value = redact(value)
            parameters.append((key, value))
    query = urlencode(parameters, safe="[]")
    return (request.path + (f"?{query}" if query else ""))[:1000]


def audit_record(
    *,
    action: str,
    request: HttpRequest | None = None,
    user: Any = None,
    obj: Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    detail: str = "",
) -> AuditEntry:
    """Write one entry. Who: `user`, else the request's signed-in user.
    From where: the request's client address (none for a job)."""
    if user is None and request is not None and request.user.is_authenticated:
        user = request.user
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    return AuditEntry.objects.create(
        user=user if user is not None and user.pk else None,
        user_label=(user.get_username() if user is not None else "")[:254],
        ip_address=client_ip(request) if request is not None else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        detail=detail,
    )


def _change_text(message: Any) -> str:
    return LogEntry(change_message=message).get_change_message() if message else ""


class AuditedAdmin(ModelAdmin):  # type: ignore[type-arg]
    """Every addition, change and deletion made in the admin, with the
    person and the address it came from."""

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        entry = super().log_addition(request, obj, message)
        audit_record(
            action=AuditEntry.Action.ADDED, request=request, obj=obj, detail=_change_text(message)
        )
        return entry

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        entry = super().log_change(request, obj, message)
        audit_record(
            action=AuditEntry.Action.CHANGED,
            request=request,
            obj=obj,
            detail=_change_text(message),
        )
        return entry

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        entries = super().log_deletions(request, queryset)
        for obj in queryset:
            audit_record(action=AuditEntry.Action.DELETED, request=request, obj=obj)
        return entries
