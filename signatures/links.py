"""Signed links in the signer's e-mails: confirm (expires) and withdraw.

A link carries the signature id and its `link_secret`; withdrawing replaces
the secret, so every link already sent stops working once the data is erased.
The salt differs per purpose: a confirm link cannot be used to withdraw.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import translation

from signatures.models import Signature

CONFIRM_SALT = "signatures.confirm"
WITHDRAW_SALT = "signatures.withdraw"


class LinkExpired(Exception):
    """A genuine link, too old to use."""


class LinkInvalid(Exception):
    """Not one of our links, or its signature was withdrawn or erased."""


def _token(signature: Signature, salt: str) -> str:
    return signing.dumps({"s": signature.pk, "k": signature.link_secret}, salt=salt)


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


def _signature_from(token: str, salt: str, max_age: int | None) -> Signature:
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired as error:
        raise LinkExpired from error
    except signing.BadSignature as error:
        raise LinkInvalid from error
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int):
        raise LinkInvalid
    signature = Signature.objects.select_related("campaign").filter(pk=payload["s"]).first()
    if signature is None or not hmac.compare_digest(
        signature.link_secret, str(payload.get("k", ""))
    ):
        raise LinkInvalid
    return signature


def signature_from_confirmation(token: str) -> Signature:
    max_age = settings.SIGNATURE_CONFIRM_MAX_AGE_DAYS * 24 * 3600
    return _signature_from(token, CONFIRM_SALT, max_age)


def signature_from_withdrawal(token: str) -> Signature:
    # No expiry: a signer may take the signature back at any time.
    return _signature_from(token, WITHDRAW_SALT, None)
