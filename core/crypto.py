"""Signers' e-mail and phone at rest: Fernet encryption and a keyed hash.

A copy of the database (a backup, a leak) must reveal no address: values are
encrypted with the newest of SIGNER_DATA_KEYS (older keys still decrypt, so
keys can be rotated), and duplicates are found through an HMAC of the
canonical e-mail, never the e-mail itself.

`decrypt_many` is the same decryption for exports of a million rows: one
AES-CBC pass per batch instead of one cipher per value (see its docstring).
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from functools import cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.db import models


def _derived_key(purpose: str) -> bytes:
    # Local development only: settings refuse to start without real keys when DEBUG is off.
    return hashlib.sha256(f"{purpose}:{settings.SECRET_KEY}".encode()).digest()


def signer_data_keys() -> list[str]:
    """The Fernet keys (urlsafe base64) that encrypt signer data, newest first."""
    return list(settings.SIGNER_DATA_KEYS) or [
        base64.urlsafe_b64encode(_derived_key("signer-data")).decode()
    ]


@cache
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in signer_data_keys()])


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


# The Fernet token layout (https://github.com/fernet/spec/blob/master/Spec.md):
# version 0x80, 8-byte timestamp, 16-byte IV, AES-128-CBC ciphertext of the
# PKCS7-padded value, HMAC-SHA256 of all that. A key is 16 bytes of HMAC key
# then 16 bytes of AES key.
_VERSION = 0x80
_IV_START = 9
_BLOCK = 16
_MAC_SIZE = 32
_SHORTEST_TOKEN = _IV_START + _BLOCK + _BLOCK + _MAC_SIZE
_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")


@cache
def _bulk_keys() -> tuple[tuple[crypto_hmac.HMAC, algorithms.AES], ...]:
    """Per Fernet key, newest first: a keyed HMAC (only ever copied) and the AES key."""
    raw_keys = [base64.urlsafe_b64decode(key) for key in signer_data_keys()]
    return tuple(
        (crypto_hmac.HMAC(raw[:16], hashes.SHA256()), algorithms.AES(raw[16:])) for raw in raw_keys
    )


def _verified_key(data: bytes) -> int | None:
    """Index of the key whose HMAC this token carries (checked in constant
    time by the library), None for a malformed or foreign token."""
    if len(data) < _SHORTEST_TOKEN or data[0] != _VERSION or (len(data) - _IV_START) % _BLOCK:
        return None
    signed, mac = data[:-_MAC_SIZE], data[-_MAC_SIZE:]
    for index, (keyed_hmac, _aes) in enumerate(_bulk_keys()):
        check = keyed_hmac.copy()
        check.update(signed)
        try:
            check.verify(mac)
        except InvalidSignature:
            continue
        return index
    return None


def decrypt_many(tokens: Sequence[str]) -> list[str]:
    """decrypt() of every token, in order, with "" kept as "" (an empty
    field is stored empty, as EncryptedTextField does).

    The same results and the same refusals as decrypt(), about five times
    faster: setting up an AES-CBC context per token is most of the cost of
    decrypt(), and an export of a million rows decrypts 1.3 million values.
    Every token's HMAC is verified first (encrypt-then-MAC, as Fernet); then
    the verified tokens of one key go through ONE AES-CBC decryption, each
    token's IV placed just before its ciphertext. CBC decrypts a block with
    the block before it, so the library decrypts each token with its own IV
    and each IV block yields one block of noise, which is skipped. Padding is
    removed by the library's PKCS7 unpadder, per token. Any token that fails
    a step goes to decrypt(), which raises ValueError as it always does.
    """
    results = [""] * len(tokens)  # every non-empty token's place is filled below
    by_key: dict[int, list[tuple[int, bytes]]] = {}
    for position, token in enumerate(tokens):
        if not token:
            continue
        try:
            # base64.urlsafe_b64decode without its per-call checks: a second per million.
            data = binascii.a2b_base64(token.encode("ascii").translate(_URLSAFE_TO_STANDARD))
        except (binascii.Error, ValueError):  # UnicodeEncodeError is a ValueError
            results[position] = decrypt(token)  # raises
            continue
        key_index = _verified_key(data)
        if key_index is None:
            results[position] = decrypt(token)  # raises, or decrypts what we did not foresee
            continue
        by_key.setdefault(key_index, []).append((position, data))
    unpadding = padding.PKCS7(algorithms.AES.block_size)
    for key_index, verified in by_key.items():
        aes = _bulk_keys()[key_index][1]
        # IV of the stream: any block, its plaintext is the first token's IV block, skipped.
        decryptor = Cipher(aes, modes.CBC(bytes(_BLOCK))).decryptor()
        plain = decryptor.update(b"".join(data[_IV_START:-_MAC_SIZE] for _, data in verified))
        plain += decryptor.finalize()
        start = 0
        for position, data in verified:
            end = start + len(data) - _IV_START - _MAC_SIZE
            unpadder = unpadding.unpadder()
            try:
                value = unpadder.update(plain[start + _BLOCK : end]) + unpadder.finalize()
                results[position] = value.decode()
            except ValueError:  # bad padding or not UTF-8
                results[position] = decrypt(tokens[position])
            start = end
    return results


def rotate(token: str) -> str:
    """Re-encrypt with the newest key (for key rotation)."""
    return _fernet().rotate(token.encode()).decode()


def keyed_hash(value: str) -> str:
    return hmac.new(_hash_key(), value.encode(), hashlib.sha256).hexdigest()


def clear_key_caches() -> None:
    """For tests and key rotation: forget keys read from settings."""
    _fernet.cache_clear()
    _bulk_keys.cache_clear()
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
