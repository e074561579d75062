"""Signers' e-mail and phone at rest: Fernet encryption and a keyed hash.

A copy of the database (a backup, a leak) must reveal no address: values are
encrypted with the newest of SIGNER_DATA_KEYS (older keys still decrypt, so
keys can be rotated), and duplicates are found through an HMAC of the
canonical e-mail, never the e-mail itself.
"""

import base64
import hashlib
import hmac
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


def _derived_key(purpose: str) -> bytes:
    # Local development only: settings refuse to start without real keys when DEBUG is off.
    return hashlib.sha256(f"{purpose}:{settings.SECRET_KEY}".encode()).digest()


@cache
def _fernet() -> MultiFernet:
    keys = settings.SIGNER_DATA_KEYS or [
        base64.urlsafe_b64encode(_derived_key("signer-data")).decode()
    ]
    return MultiFernet([Fernet(key) for key in keys])


@cache
def _hash_key() -> bytes:
    return (
        settings.SIGNER_HASH_KEY.encode()
        if settings.SIGNER_HASH_KEY
        else _derived_key("signer-hash")
    )


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise ValueError("Signer data cannot be decrypted with the configured keys.") from error


def rotate(token: str) -> str:
    """Re-encrypt with the newest key (for key rotation)."""
    return _fernet().rotate(token.encode()).decode()


def keyed_hash(value: str) -> str:
    return hmac.new(_hash_key(), value.encode(), hashlib.sha256).hexdigest()


def clear_key_caches() -> None:
    """For tests and key rotation: forget keys read from settings."""
    _fernet.cache_clear()
    _hash_key.cache_clear()


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token; reads decrypt, writes encrypt."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))
