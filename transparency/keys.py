"""The Ed25519 key that signs the record's heads, read from the settings.

RECORD_SIGNING_KEY is the base64 of the 32-byte private key (`python -m
transparency.keygen` makes one). Heads name the key by its id, and every key
in RECORD_RETIRED_PUBLIC_KEYS stays published, so heads signed before a
rotation still verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core import countlog

if TYPE_CHECKING:
    from transparency.models import TreeHead


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    raw: bytes
    current: bool

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.key_id,
            "algorithm": "Ed25519",
            "public_key": base64.b64encode(self.raw).decode(),
            "current": self.current,
        }


def _raw_public(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def signing_key() -> Ed25519PrivateKey:
    configured = settings.RECORD_SIGNING_KEY
    if not configured:
        # Local runs only (settings refuse to start without it when DEBUG is
        # off): a key derived from SECRET_KEY, stable across restarts.
        seed = hashlib.sha256(f"sitthi-record:{settings.SECRET_KEY}".encode()).digest()
        return Ed25519PrivateKey.from_private_bytes(seed)
    try:
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(configured, validate=True))
    except (binascii.Error, ValueError) as error:
        raise ImproperlyConfigured(
            "RECORD_SIGNING_KEY: the base64 of a 32-byte Ed25519 private key."
        ) from error


def public_keys() -> list[PublicKey]:
    """The current key first, then the retired ones still published."""
    current = _raw_public(signing_key())
    keys = [PublicKey(countlog.key_id(current), current, True)]
    for encoded in settings.RECORD_RETIRED_PUBLIC_KEYS:
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error as error:
            raise ImproperlyConfigured(
                "RECORD_RETIRED_PUBLIC_KEYS: base64 public keys, comma-separated."
            ) from error
        if raw != current:
            keys.append(PublicKey(countlog.key_id(raw), raw, False))
    return keys


def sign(data: bytes) -> tuple[str, str]:
    """(key id, base64 signature) of `data` with the current key."""
    key = signing_key()
    return countlog.key_id(_raw_public(key)), base64.b64encode(key.sign(data)).decode()


def verify(head: TreeHead) -> bool:
    """Whether one of the published keys signed this head as it stands."""
    for key in public_keys():
        if key.key_id != head.key_id:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(key.raw).verify(
                base64.b64decode(head.signature),
                countlog.head_signed_bytes(head.signed_fields()),
            )
        except (InvalidSignature, ValueError):
            return False
        return True
    return False
