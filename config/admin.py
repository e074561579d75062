"""Sitthi's admin site: staff sign in through allauth (with two-factor),
every change is audited, and the front page carries the alerts organisers
must act on. Staff read it in Khmer or English: the site is named in the
reader's language, role names are translated, and every time entered or
shown says which time zone it is in (organisers live abroad)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import admin
from django.contrib.admin import widgets
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group, User
from django.db import models
from django.db.models import QuerySet
from django.forms import ModelMultipleChoiceField
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.audit import AuditedAdmin
from core.roles import ROLE_LABELS
from outbox.models import Message


def time_zone_label(at: datetime | None = None) -> str:
    """The time zone times are shown and entered in, with its offset from
    UTC at `at` (now by default): "Asia/Phnom_Penh, UTC+07:00"."""
    offset = timezone.localtime(at).strftime("%z")  # "+0700"
    return f"{timezone.get_current_timezone_name()}, UTC{offset[:3]}:{offset[3:]}"


def role_label(group: Group) -> str:
    """A staff role's name in the reader's language (groups are stored by
    their English name, which core.roles grants by)."""
    return str(ROLE_LABELS.get(group.name, group.name))


class TimeZoneSplitDateTime(widgets.AdminSplitDateTime):
    """The admin's date and time inputs, followed by the time zone they are in."""

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        return format_html(
            '{}<p class="time-zone help">{}</p>',
            super().render(name, value, attrs, renderer),
            gettext("Time zone: %(time_zone)s") % {"time_zone": time_zone_label()},
        )


class TimeZoneAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Mixed into every registered ModelAdmin by SitthiAdminSite: a time is
    entered with its time zone beside it (unless the admin chose its own widget)."""

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if isinstance(db_field, models.DateTimeField) and not any(
            isinstance(db_field, klass) for klass in type(self).formfield_overrides
        ):
            kwargs.setdefault("widget", TimeZoneSplitDateTime)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class RoleFilter(admin.SimpleListFilter):
    """Users by role, the role named in the reader's language."""

    title = _("role")
    parameter_name = "groups__id__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(group.pk), role_label(group)) for group in Group.objects.order_by("name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(groups__id=self.value()) if self.value() else queryset


@dataclass(frozen=True)
class Labelled:
    """An object as the admin's row checkbox names it, by its label."""

    pk: Any
    label: str

    def __str__(self) -> str:
        return self.label


class RoleLabelsGroupAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["role_name"]

    def action_checkbox(self, group: Group) -> SafeString:
        return super().action_checkbox(Labelled(group.pk, role_label(group)))

    @admin.display(description=_("role"), ordering="name")
    def role_name(self, group: Group) -> str:
        return role_label(group)


class RoleLabelsUserAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_filter = ["is_staff", "is_superuser", "is_active", RoleFilter]

    def formfield_for_manytomany(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> ModelMultipleChoiceField[Any] | None:
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and db_field.name == "groups":
            field.label_from_instance = role_label  # type: ignore[method-assign,assignment]
        return field


# Library admins shown with labels in the reader's language: the mixin goes first.
LABELLED: dict[Any, type[admin.ModelAdmin[Any]]] = {
    Group: RoleLabelsGroupAdmin,
    User: RoleLabelsUserAdmin,
}


class SitthiAdminSite(admin.AdminSite):
    site_header = _("Sitthi")
    site_title = _("Sitthi administration")
    index_title = _("Sitthi administration")

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        # Every ModelAdmin, ours and the libraries' (users, groups, allauth),
        # records its changes in the audit log with the request's address,
        # and shows the time zone beside every time entered.
        # @admin.register passes a tuple of models: each is wrapped on its own.
        models = [model_or_iterable] if isinstance(model_or_iterable, type) else model_or_iterable
        for model in models:
            base = admin_class or admin.ModelAdmin
            mixins: list[type[admin.ModelAdmin[Any]]] = [
                m for m in (AuditedAdmin, TimeZoneAdmin) if not issubclass(base, m)
            ]
            labelled = LABELLED.get(model)
            if labelled is not None and not issubclass(base, labelled):
                mixins.insert(0, labelled)
            if mixins:
                base = type(base.__name__, (*mixins, base), {"__module__": base.__module__})
            super().register(model, base, **options)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        # Never the bare admin form: allauth's sign-in asks for the second factor.
        return login_required(super().login)(request, extra_context)

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        return {**super().each_context(request), "time_zone_label": time_zone_label()}

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        context = {
            "failing_email_count": Message.objects.failing().count(),
            **(extra_context or {}),
        }
        return super().index(request, context)
