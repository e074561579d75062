"""What a signer typed, made comparable: names and e-mail keys.

Names are kept as typed (minus invisible characters); a separate matching key
makes four look-alike spellings of one Khmer name equal (see
shared/khmer-notes.md). E-mail addresses are reduced to a canonical key before
hashing, so "Dara.Sok+petition@gmail.com", "darasok@gmail.com" and
"DaraSok@googlemail.com" are one person.
"""

from __future__ import annotations

import re
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from khmerspell import khnormal

from core.crypto import keyed_hash
from core.spreadsheet import starts_like_formula

# Zero-width characters and the two inherent-vowel signs Unicode deprecates:
# invisible on screen, but they make one name compare unequal to itself.
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u17b4\u17b5"))
# Unicode's Bidi_Control characters. Invisible too, but not harmless: U+202E
# shows "\u202eanirak" as "karina", so a name would read differently on
# screen from what we store and match. Stripping them would store a name
# other than the one the person saw; we refuse them instead.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
SPACES = re.compile(r"\s+")
URL_LIKE = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://|www\.|\b[a-z0-9-]+\.(?:com|net|org|info|biz|io|ru|cn|xyz|top|"
    r"site|online|click|link|me|co|kh|ly|gl|tk)\b)",
    re.IGNORECASE,
)


def name_checked(raw: str) -> str:
    """The name to store, or ValidationError saying (in the page's language)
    why no person is called that. The one rule for every way a signer's name
    comes in."""
    if any(char in BIDI_CONTROLS for char in raw):
        raise ValidationError(
            _("A name cannot contain invisible characters that change the direction of text."),
            code="bidi",
        )
    name = name_clean(raw)
    if not name:
        raise ValidationError(_("Please enter your name."), code="required")
    if starts_like_formula(name):
        raise ValidationError(_("A name cannot start with =, +, - or @."), code="formula")
    if name_looks_like_url(name):
        raise ValidationError(_("A name cannot contain a web address."), code="url")
    if name_looks_like_markup(name):
        raise ValidationError(_("A name cannot contain the signs < or >."), code="markup")
    if not name_has_letter(name):
        raise ValidationError(_("Please enter your name in letters."), code="letters")
    return name


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


def name_looks_like_markup(name: str) -> bool:
    # Refused rather than shown escaped: "<script>alert(1)</script>" printed
    # as text in the public list of signers is harmless to the browser but
    # reads as an attack on the petition (a screenshot of it discredits the
    # count), and a mail client or spreadsheet that trusts our exports might
    # not escape it. No person's name has < or >, so refusing costs nobody;
    # NFKC also catches the full-width and small forms (U+FF1C, U+FE64).
    return any(char in "<>" for char in unicodedata.normalize("NFKC", name))


def email_providers() -> tuple[frozenset[str], dict[str, str]]:
    """The domains whose provider ignores dots and +tags, and each alias
    domain's main domain, from `EMAIL_CANONICAL_DOMAINS`: "gmail.com" names a
    provider, "googlemail.com=gmail.com" an alias of one (same mailboxes)."""
    domains: set[str] = set()
    aliases: dict[str, str] = {}
    for entry in settings.EMAIL_CANONICAL_DOMAINS:
        alias, _equals, main = (
            part.strip().casefold().rstrip(".") for part in entry.partition("=")
        )
        if main:
            aliases[alias] = main
            domains.add(main)
        elif alias:
            domains.add(alias)
    return frozenset(domains), aliases


def email_canonical(email: str) -> str:
    """Case-folded; an alias domain replaced by its provider's main domain,
    then dots and +tags dropped where the provider ignores them."""
    local, _at, domain = email.strip().rpartition("@")
    local, domain = local.casefold(), domain.casefold().rstrip(".")
    domains, aliases = email_providers()
    # The domain first: SokDara@googlemail.com is s.o.k.dara@gmail.com's mailbox,
    # and only once it reads gmail.com does Gmail's dots rule apply to it.
    domain = aliases.get(domain, domain)
    if domain in domains:
        local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@{domain}"


def email_hash(email: str) -> str:
    return keyed_hash(email_canonical(email))


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].casefold()
