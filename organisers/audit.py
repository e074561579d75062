"""The audit log: who viewed or exported personal data, and every staff change.

Changes made through the admin are recorded from Django's own LogEntry rows
(each one becomes an AuditEntry with the address it came from); views and
exports of personal data, bulk actions and jobs record themselves with
`audit_record`. The middleware keeps the current request's user and address
at hand for both.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db.models import Model
from django.db.models.signals import post_save
from django.http import HttpRequest, HttpResponse

from organisers.models import AuditEntry

_current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "organisers_current_request", default=None
)


def current_request() -> HttpRequest | None:
    """The request being served (set by AuditContextMiddleware), if any."""
    return _current_request.get()


def client_ip(request: HttpRequest) -> str | None:
    """The address of the person, trusting exactly TRUSTED_PROXY_COUNT proxies."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


class AuditContextMiddleware:
    """Remembers the request so audit entries know who and from where."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


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
    request = request or _current_request.get()
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


_LOG_ACTIONS = {
    1: AuditEntry.Action.ADDED,
    2: AuditEntry.Action.CHANGED,
    3: AuditEntry.Action.DELETED,
}


def _log_entry_saved(sender: type, instance: Any, created: bool, **kwargs: Any) -> None:
    if not created:
        return
    content_type = instance.content_type
    audit_record(
        action=_LOG_ACTIONS.get(instance.action_flag, AuditEntry.Action.OTHER),
        user=instance.user,
        object_type=content_type.app_label + "." + content_type.model if content_type else "",
        object_id=instance.object_id or "",
        object_repr=instance.object_repr or "",
        detail=instance.get_change_message(),
    )


def _statement_transition_saved(sender: type, instance: Any, created: bool, **kwargs: Any) -> None:
    # Statements move through review and publishing in their own pages, not
    # only in the admin: each Transition row is a change worth an entry.
    if not created:
        return
    statement = instance.statement
    audit_record(
        action=AuditEntry.Action.CHANGED,
        user=instance.by,
        obj=statement,
        detail=f"{instance.get_action_display()}: {instance.from_status} → {instance.to_status}"
        + (f" ({instance.comment[:200]})" if instance.comment else ""),
    )


def connect_admin_log() -> None:
    from django.apps import apps
    from django.contrib.admin.models import LogEntry

    post_save.connect(_log_entry_saved, sender=LogEntry, dispatch_uid="organisers.audit")
    if apps.is_installed("statements"):
        try:
            transition = apps.get_model("statements", "Transition")
        except LookupError:
            return
        post_save.connect(
            _statement_transition_saved, sender=transition, dispatch_uid="organisers.statements"
        )
