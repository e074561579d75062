"""Links in the signer's e-mails: confirm (expires) and withdraw.

A link carries the signature id and its `link_secret`, encrypted (Fernet,
with a key derived from SECRET_KEY and the link's purpose): nobody who
decodes a link learns the id, so links tell nobody how many people have
signed, or in what order. Withdrawing replaces the secret, so every link
already sent stops working once the data is erased. The key differs per
purpose: a confirm link cannot be used to withdraw.

Links sent before the ids were hidden (Django-signed, "payload:time:mac")
are still read: confirm links for their last days, withdraw links for good,
since a signer may take a signature back at any time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import urlencode

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core import signing
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import translation

from campaigns.published import published_copy_attach
from core.compiled import CompiledRead
from signatures.models import Signature

CONFIRM_SALT = "signatures.confirm"
WITHDRAW_SALT = "signatures.withdraw"


class LinkExpired(Exception):
    """A genuine link, too old to use."""


class LinkInvalid(Exception):
    """Not one of our links, or its signature was withdrawn or erased."""


def _cipher(salt: str) -> MultiFernet:
    # The newest SECRET_KEY encrypts; its fallbacks still read links already sent.
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet(
        [
            Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"{salt}:{secret}".encode()).digest()))
            for secret in secrets
        ]
    )


def _token(signature: Signature, salt: str) -> str:
    sealed = _cipher(salt).encrypt(f"{signature.pk}:{signature.link_secret}".encode())
    # No "=" padding: the token is a path segment, and the log redaction
    # (config.logging.TOKEN) recognises a token by its URL-safe characters.
    return sealed.decode().rstrip("=")


def _absolute(name: str, token: str, language: str) -> str:
    with translation.override(language):
        return settings.SITE_URL + reverse(name, kwargs={"token": token})


def confirmation_link(signature: Signature) -> str:
    return _absolute(
        "signatures:confirm", _token(signature, CONFIRM_SALT), signature.language or "km"
    )


def withdrawal_link(signature: Signature) -> str:
    return _absolute(
        "signatures:withdraw", _token(signature, WITHDRAW_SALT), signature.language or "km"
    )


def receipt_check_link(signature: Signature, language: str = "") -> str:
    """The page that checks the signature's receipt in the public count
    record, with the receipt filled in, in `language` (the signer's by default)."""
    with translation.override(language or signature.language or "km"):
        page = settings.SITE_URL + reverse("verify:verify")
    return f"{page}?{urlencode({'receipt': signature.receipt})}"


def _opened(token: str, salt: str, max_age: int | None) -> tuple[object, object]:
    """The (id, secret) a link carries."""
    if ":" in token:  # a link sent before the ids were hidden
        try:
            payload = signing.loads(token, salt=salt, max_age=max_age)
        except signing.SignatureExpired as error:
            raise LinkExpired from error
        except signing.BadSignature as error:
            raise LinkInvalid from error
        if not isinstance(payload, dict):
            raise LinkInvalid
        return payload.get("s"), payload.get("k", "")
    cipher = _cipher(salt)
    sealed = (token + "=" * (-len(token) % 4)).encode("ascii", "replace")
    try:
        plain = cipher.decrypt(sealed).decode()
        made_at = cipher.extract_timestamp(sealed)
    except (InvalidToken, UnicodeDecodeError, ValueError) as error:
        raise LinkInvalid from error
    if max_age is not None and time.time() - made_at > max_age:
        raise LinkExpired
    pk, _, secret = plain.partition(":")
    return (int(pk) if pk.isdigit() else None), secret


def _by_pk(pk: int, *, locked: bool) -> QuerySet[Signature]:
    signatures = Signature.objects.annotate(campaign_slug=F("campaign__slug"))
    if locked:
        signatures = signatures.select_for_update(of=("self",))
    return signatures.filter(pk=pk)[:1]


# Every confirmation and withdrawal reads its signature this way.
READ = CompiledRead(lambda pk: _by_pk(pk, locked=False))
LOCKED_READ = CompiledRead(lambda pk: _by_pk(pk, locked=True))


def _signature_from(
    token: str, salt: str, max_age: int | None, *, for_update: bool = False
) -> Signature:
    pk, secret = _opened(token, salt, max_age)
    if not isinstance(pk, int):
        raise LinkInvalid
    read = LOCKED_READ if for_update else READ
    signature = read.first(pk)
    if signature is None or not hmac.compare_digest(signature.link_secret, str(secret)):
        raise LinkInvalid
    # The campaign as this process keeps it (a few seconds, as the sign POST
    # reads it): no second model to load, and its kept pages serve the page
    # that follows.
    published_copy_attach(signature)
    return signature


def signature_from_confirmation(token: str, *, for_update: bool = False) -> Signature:
    """`for_update`: the row locked, in the caller's transaction."""
    max_age = settings.SIGNATURE_CONFIRM_MAX_AGE_DAYS * 24 * 3600
    return _signature_from(token, CONFIRM_SALT, max_age, for_update=for_update)


def signature_from_withdrawal(token: str) -> Signature:
    # No expiry: a signer may take the signature back at any time.
    return _signature_from(token, WITHDRAW_SALT, None)
