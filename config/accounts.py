from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from core.http import client_ip


class StaffOnlyAccountAdapter(DefaultAccountAdapter):
    """Staff accounts are created by organisers; nobody signs up publicly."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

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
