"""Sitthi's admin site: staff sign in through allauth (with two-factor),
every change is audited, and the front page carries the alerts organisers
must act on."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.audit import AuditedAdmin
from outbox.models import Message


class SitthiAdminSite(admin.AdminSite):
    site_header = "Sitthi"
    site_title = _("Sitthi administration")
    index_title = _("Sitthi administration")

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        # Every ModelAdmin, ours and the libraries' (users, groups, allauth),
        # records its changes in the audit log with the request's address.
        base = admin_class or admin.ModelAdmin
        if not issubclass(base, AuditedAdmin):
            base = type(base.__name__, (AuditedAdmin, base), {"__module__": base.__module__})
        super().register(model_or_iterable, base, **options)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        # Never the bare admin form: allauth's sign-in asks for the second factor.
        return login_required(super().login)(request, extra_context)

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        context = {
            "failing_email_count": Message.objects.failing().count(),
            **(extra_context or {}),
        }
        return super().index(request, context)
