from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation

from core.http import client_ip
from core.models import StaffLanguage
from core.roles import DASHBOARD_PERMISSION, can_see_dashboard

# allauth's mail to someone who asked to reset the password of an address
# with no account: it invites them to sign up, which is closed.
UNKNOWN_ACCOUNT_MAIL = "account/email/unknown_account"


def staff_landing(user: Any) -> str:
    """Where someone lands after signing in, in the active language: staff on
    their work (the organisers' dashboards for those who only read figures,
    the admin for everyone who changes something), others on the public home."""
    if not (user.is_active and user.is_staff):
        return reverse("campaigns:home")
    works_in_admin = any(
        not codename.startswith("view_") and permission != DASHBOARD_PERMISSION
        for permission in user.get_all_permissions()
        for codename in [permission.partition(".")[2]]
    )
    if can_see_dashboard(user) and not works_in_admin:
        return reverse("organisers:index")
    return reverse("admin:index")


class StaffOnlyAccountAdapter(DefaultAccountAdapter):
    """Staff accounts are created by organisers; nobody signs up publicly."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        # A page asked for (`?next=`) still wins: allauth asks this only without one.
        return staff_landing(request.user)

    def login(self, request: HttpRequest, user: Any) -> None:
        """Signed in (after the two-factor step, when enrolled): the language
        of the pages they signed in from is the language we write to them in."""
        super().login(request, user)
        if user.is_staff:
            StaffLanguage.remember(user=user, language=translation.get_language() or "")

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        if template_prefix == UNKNOWN_ACCOUNT_MAIL:
            return  # its only news would be "sign up", and sign-up is closed
        super().send_mail(template_prefix, email, context)

    def get_client_ip(self, request: HttpRequest) -> str:
        """The sign-in limits key on the same client as every other limit
        (core.http, behind TRUSTED_PROXY_COUNT proxies). allauth's own reading
        raises on a forwarded chain shorter than the proxy count: that is a
        request that bypassed the proxy, and it keys on the address that
        connected instead."""
        ip = client_ip(request)
        if ip is None:
            raise PermissionDenied("Unable to determine the client's IP address")
        return ip
