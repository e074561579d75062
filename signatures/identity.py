"""What a signer typed, made comparable: names and e-mail keys.

Names are kept as typed (minus invisible characters); a separate matching key
makes four look-alike spellings of one Khmer name equal (see
shared/khmer-notes.md). E-mail addresses are reduced to a canonical key before
hashing, so "Dara.Sok+petition@gmail.com" and "darasok@gmail.com" are one
person.
"""

from __future__ import annotations

import re
import unicodedata

from django.conf import settings
from khmerspell import khnormal

from core.crypto import keyed_hash

# Zero-width characters and the two inherent-vowel signs Unicode deprecates:
# invisible on screen, but they make one name compare unequal to itself.
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u17b4\u17b5"))
SPACES = re.compile(r"\s+")
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
