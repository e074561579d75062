"""Who is on the other end of a request: the one owner of the client IP rule."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The person's IP. X-Forwarded-For is trusted only behind a configured
    number of proxies (TRUSTED_PROXY_COUNT): each proxy appends the address it
    saw, so the entry that many places from the right is the one our first
    proxy received. Anything that is not an IP address reads as None."""
    candidate = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies > 0 and forwarded:
        entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
        # Fewer entries than proxies: the chain is not what we expect; the
        # header may be forged, so keep the address that connected.
        if len(entries) >= proxies:
            candidate = entries[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def network_of(ip_address: str | None, *, ipv6_prefix: int) -> str | None:
    """What a per-address limit counts: an IPv4 address, or the IPv6 network
    of `ipv6_prefix` bits around the address. One home or server usually
    holds a whole /64 and may pick any address in it, so counting IPv6
    addresses one by one would let one person sign as thousands."""
    if ip_address is None:
        return None
    address = ipaddress.ip_address(ip_address)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:a.b.c.d is that IPv4 address
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, ipv6_prefix), strict=False))
    return ip_address
