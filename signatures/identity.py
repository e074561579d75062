"""What a signer typed, made comparable: names, e-mail keys, client IP.

Names are kept as typed (minus invisible characters); a separate matching key
makes four look-alike spellings of one Khmer name equal (see
shared/khmer-notes.md). E-mail addresses are reduced to a canonical key before
hashing, so "Dara.Sok+petition@gmail.com" and "darasok@gmail.com" are one
person.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata

from django.conf import settings
from django.http import HttpRequest
from khmerspell import khnormal

from signatures.crypto import keyed_hash

# Zero-width characters and the two inherent-vowel signs Unicode deprecates:
# invisible on screen, but they make one name compare unequal to itself.
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u17b4\u17b5"))
SPACES = re.compile(r"\s+")
# Spreadsheet programs run a cell that starts with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@")
URL_LIKE = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://|www\.|\b[a-z0-9-]+\.(?:com|net|org|info|biz|io|ru|cn|xyz|top|"
    r"site|online|click|link|me|co|kh|ly|gl|tk)\b)",
    re.IGNORECASE,
)


def name_clean(raw: str) -> str:
    """The name as the person typed it, minus invisible and control characters."""
    text = unicodedata.normalize("NFC", raw).translate(INVISIBLE)
    text = "".join(
        char
        for char in text
        if unicodedata.category(char) not in {"Cc", "Cf", "Co", "Cs"} or char in "\t\n"
    )
    return SPACES.sub(" ", text).strip()


def name_key(name: str) -> str:
    """The matching key: NFC, invisible characters out, khmerspell order and
    TA/DA fixes, case folded, spaces collapsed."""
    text = unicodedata.normalize("NFC", name).translate(INVISIBLE)
    text = khnormal(text)
    return SPACES.sub(" ", text.casefold()).strip()


def name_has_letter(name: str) -> bool:
    # Not str.isalpha(): Khmer vowel signs are marks (M*), not letters.
    return any(unicodedata.category(char)[0] == "L" for char in name)


def name_looks_like_url(name: str) -> bool:
    return bool(URL_LIKE.search(name))


def name_starts_like_formula(name: str) -> bool:
    return name.startswith(FORMULA_START)


def email_canonical(email: str) -> str:
    """Case-folded; dots and +tags dropped where the provider ignores them."""
    local, _at, domain = email.strip().rpartition("@")
    local, domain = local.casefold(), domain.casefold().rstrip(".")
    if domain in {d.casefold() for d in settings.EMAIL_CANONICAL_DOMAINS}:
        local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@{domain}"


def email_hash(email: str) -> str:
    return keyed_hash(email_canonical(email))


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].casefold()


def client_ip(request: HttpRequest) -> str | None:
    """The signer's IP. X-Forwarded-For is trusted only behind a configured
    number of proxies: each proxy appends the address it saw, so the entry
    that many places from the right is the one our first proxy received."""
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
