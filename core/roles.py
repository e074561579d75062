"""The four staff roles, as Django groups, and who may see personal data.

Groups are (re)granted after every `migrate`: permissions that an app adds
later (statements' review and publish) reach the roles without a new
migration here. Grants only ever add; an organiser's manual additions stay.
"""

from __future__ import annotations

import enum
from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.apps import apps as django_apps
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.backends.base import SessionBase
from django.db.models import Q
from django.http import HttpRequest
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

PERSONAL_DATA_PERMISSION = "core.view_personal_data"
DASHBOARD_PERMISSION = "core.view_dashboard"


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
            | Q(content_type__app_label="core", codename="view_dashboard")
        )
    if role == MODERATOR:
        return (
            Q(
                content_type__app_label="signatures",
                codename__in=["view_signature", "change_signature"],
            )
            | Q(content_type__app_label="campaigns", codename="view_campaign")
            | Q(
                content_type__app_label="core",
                codename__in=["view_dashboard", "invalidate_by_criteria"],
            )
            | Q(content_type__app_label="organisers", codename="view_invalidation")
        )
    if role == VIEWER:
        return Q(content_type__app_label="campaigns", codename="view_campaign") | Q(
            content_type__app_label="core", codename="view_dashboard"
        )
    raise ValueError(role)


def groups_ensure() -> None:
    for role in (ORGANISER, CAMPAIGN_LEAD, MODERATOR, VIEWER):
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.add(*Permission.objects.filter(role_permissions(role)))


def groups_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    # post_migrate is sent once per installed app with models, in order, after
    # every migrate and after every flush of a test database. The groups need
    # every app's permissions, which exist only once the last app's signal
    # has come: setting them up then, once, instead of after each of our
    # apps (four times in five for nothing, after every flush).
    with_models = [config for config in django_apps.get_app_configs() if config.models_module]
    if with_models and getattr(sender, "label", None) == with_models[-1].label:
        groups_ensure()


# Set in the session when this person passed the two-factor step of
# allauth's sign-in (allauth's public signal); cleared with the session.
TWO_FACTOR_SESSION_KEY = "sitthi_two_factor_user"


class SystemAccess(enum.Enum):
    """Named reasons for code outside a web request to read personal data.
    There is no person to ask, so the caller says which one applies."""

    STAFF_JOB = "a job queued by staff who passed the check when they asked for it"


def has_two_factor(user: Any) -> bool:
    """Two-factor sign-in enrolled (allauth asks for the code at every sign-in)."""
    return bool(user.is_authenticated and is_mfa_enabled(user, [Authenticator.Type.TOTP]))


def two_factor_step_completed(
    sender: Any, request: HttpRequest, user: Any, method: str, **kwargs: Any
) -> None:
    if method == "mfa" and hasattr(request, "session"):
        request.session[TWO_FACTOR_SESSION_KEY] = str(user.pk)


def session_passed_two_factor(session: SessionBase, user: Any) -> bool:
    return bool(user.pk) and session.get(TWO_FACTOR_SESSION_KEY) == str(user.pk)


def can_see_personal_data(
    request: HttpRequest | None, *, system: SystemAccess | None = None, user: Any = None
) -> bool:
    """The one owner of the rule "who may see signers' personal data".

    In a web request: staff with the dedicated permission, two-factor
    enrolled, and this session signed in through the two-factor step (someone
    who signed in with a password and enrolled afterwards must sign in again).
    Outside a web request the answer is no, unless the caller names the
    `system` access that applies: a STAFF_JOB runs for `user`, who must still
    hold the permission and two-factor when it runs (no session to check).
    """
    if request is None:
        return system is SystemAccess.STAFF_JOB and _holds_personal_data_access(user)
    user = getattr(request, "user", None)
    return _holds_personal_data_access(user) and session_passed_two_factor(request.session, user)


class HiddenBecause(enum.Enum):
    """Why personal data is hidden from someone in a request, so the page
    can say it and what to do (the rule itself is `can_see_personal_data`)."""

    NOT_IN_ROLE = "not_in_role"  # no permission: an organiser can grant it
    NO_TWO_FACTOR = "no_two_factor"  # permission, no authenticator: enrol
    NOT_THIS_SESSION = "not_this_session"  # enrolled, code not given: sign in again


def personal_data_hidden_because(request: HttpRequest) -> HiddenBecause | None:
    """None when `can_see_personal_data(request)`, else the first missing step."""
    if can_see_personal_data(request):
        return None
    user = getattr(request, "user", None)
    if not _in_personal_data_role(user):
        return HiddenBecause.NOT_IN_ROLE
    if not has_two_factor(user):
        return HiddenBecause.NO_TWO_FACTOR
    return HiddenBecause.NOT_THIS_SESSION


def _in_personal_data_role(user: Any) -> bool:
    """Active staff with the dedicated permission."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm(PERSONAL_DATA_PERMISSION)
    )


def _holds_personal_data_access(user: Any) -> bool:
    """Active staff with the dedicated permission and two-factor enrolled."""
    return _in_personal_data_role(user) and has_two_factor(user)


def can_see_dashboard(user: Any) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm(DASHBOARD_PERMISSION)
    )
