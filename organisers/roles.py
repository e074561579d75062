"""The four staff roles, as Django groups, and who may see personal data.

Groups are (re)granted after every `migrate`: permissions that an app adds
later (statements' review and publish) reach the roles without a new
migration here. Grants only ever add; an organiser's manual additions stay.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

ORGANISER = "Organiser"
CAMPAIGN_LEAD = "Campaign lead"
MODERATOR = "Moderator"
VIEWER = "Viewer"

ROLE_LABELS = {
    ORGANISER: _("Organiser"),
    CAMPAIGN_LEAD: _("Campaign lead"),
    MODERATOR: _("Moderator"),
    VIEWER: _("Viewer"),
}

PERSONAL_DATA_PERMISSION = "organisers.view_personal_data"
DASHBOARD_PERMISSION = "organisers.view_dashboard"


def role_permissions(role: str) -> Q:
    """Which permissions a role holds, as a query on Permission."""
    if role == ORGANISER:
        return Q()  # everything
    if role == CAMPAIGN_LEAD:
        return (
            Q(
                content_type__app_label="campaigns",
                codename__in=["view_campaign", "change_campaign"],
            )
            | Q(content_type__app_label="campaigns", content_type__model="question")
            # Leads write and submit; sending back and publishing is for organisers.
            | (
                Q(content_type__app_label="statements")
                & ~Q(codename__in=["publish_statement", "review_statement"])
            )
            | Q(content_type__app_label="organisers", codename="view_dashboard")
        )
    if role == MODERATOR:
        return (
            Q(
                content_type__app_label="signatures",
                codename__in=["view_signature", "change_signature"],
            )
            | Q(content_type__app_label="campaigns", codename="view_campaign")
            | Q(
                content_type__app_label="organisers",
                codename__in=["view_dashboard", "invalidate_by_criteria", "view_invalidation"],
            )
        )
    if role == VIEWER:
        return Q(content_type__app_label="campaigns", codename="view_campaign") | Q(
            content_type__app_label="organisers", codename="view_dashboard"
        )
    raise ValueError(role)


def groups_ensure() -> None:
    for role in (ORGANISER, CAMPAIGN_LEAD, MODERATOR, VIEWER):
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.add(*Permission.objects.filter(role_permissions(role)))


def groups_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    # Runs once per migrated app; the last run (after every app's permissions
    # exist) is the one that matters, and each run is cheap and idempotent.
    if getattr(sender, "name", "") in {"organisers", "statements", "signatures", "campaigns"}:
        groups_ensure()


def has_two_factor(user: Any) -> bool:
    from allauth.mfa.models import Authenticator

    return (
        user.is_authenticated
        and Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    )


def can_see_personal_data(user: Any) -> bool:
    """The narrow door: the dedicated permission AND two-factor.

    Enrolled TOTP means allauth asks for a code at every sign-in. When the
    current session was opened through allauth, it must also have passed the
    code: someone signed in with a password who enrols during the session
    must sign in again before seeing personal data.
    """
    return bool(
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm(PERSONAL_DATA_PERMISSION)
        and has_two_factor(user)
        and _session_passed_two_factor(user)
    )


def _session_passed_two_factor(user: Any) -> bool:
    from allauth.account.internal.flows.login import get_authentication_records

    from organisers.audit import current_request

    request = current_request()
    if request is None or not hasattr(request, "session") or request.user.pk != user.pk:
        return True  # not a web request (a task, a shell): enrolment is the rule
    records = get_authentication_records(request, user)
    # No records: a session not opened by allauth's sign-in (tests' force_login).
    return not records or any(record.get("method") == "mfa" for record in records)


def can_see_dashboard(user: Any) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm(DASHBOARD_PERMISSION)
    )
