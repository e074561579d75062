"""The full export decrypts e-mail and phone in batches (core.crypto.decrypt_many):
the same values and the same refusals as core.crypto.decrypt, for every key."""

from __future__ import annotations

import base64
import csv
import io
import os
import struct
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.db import connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core import crypto
from organisers import exports
from signatures.models import Signature
from tests.factories import make_campaign, make_signature

NEWEST, OLDER, OLDEST = (Fernet.generate_key().decode() for _ in range(3))


@pytest.fixture
def three_keys(settings: Any) -> Iterator[None]:
    """Keys rotated twice: values encrypted under each are still stored."""
    settings.SIGNER_DATA_KEYS = [NEWEST, OLDER, OLDEST]
    crypto.clear_key_caches()
    yield
    crypto.clear_key_caches()


def _encrypted_with(key: str, value: str) -> str:
    return Fernet(key).encrypt(value.encode()).decode()


def _signed_token(key: str, padded_plaintext: bytes) -> str:
    """A token with a valid HMAC around any plaintext (bad padding included),
    built from the Fernet spec, as only a holder of the key could."""
    raw = base64.urlsafe_b64decode(key)
    iv = os.urandom(16)
    encryptor = Cipher(algorithms.AES(raw[16:]), modes.CBC(iv)).encryptor()
    body = b"\x80" + struct.pack(">Q", 0) + iv + encryptor.update(padded_plaintext)
    body += encryptor.finalize()
    signature = hmac.HMAC(raw[:16], hashes.SHA256())
    signature.update(body)
    return base64.urlsafe_b64encode(body + signature.finalize()).decode()


@pytest.mark.usefixtures("three_keys")
@hypothesis_settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.sampled_from([NEWEST, OLDER, OLDEST]), st.text(max_size=300))))
def test_a_batch_decrypts_exactly_like_one_value_at_a_time_under_every_key(
    encrypted: list[tuple[str, str]],
) -> None:
    tokens = [_encrypted_with(key, value) for key, value in encrypted]
    assert crypto.decrypt_many(tokens) == [crypto.decrypt(token) for token in tokens]
    assert crypto.decrypt_many(tokens) == [value for _key, value in encrypted]


@pytest.mark.usefixtures("three_keys")
def test_an_empty_value_stays_empty_beside_encrypted_ones() -> None:
    token = crypto.encrypt("dara@example.org")
    assert crypto.decrypt_many(["", token, ""]) == ["", "dara@example.org", ""]
    assert crypto.decrypt_many([]) == []


def _tampered(token: str) -> str:
    position = len(token) // 2
    return token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]


REFUSED = {
    "tampered": lambda: _tampered(crypto.encrypt("dara@example.org")),
    "a key we do not hold": lambda: _encrypted_with(Fernet.generate_key().decode(), "x@y.org"),
    "truncated": lambda: crypto.encrypt("dara@example.org")[:-8],
    "not base64": lambda: "not a token!",
    "not Fernet": lambda: base64.urlsafe_b64encode(b"\x81" + bytes(88)).decode(),
    "signed, bad padding": lambda: _signed_token(OLDER, b"dara@example.org" + b"\x00" * 16),
    "signed, not UTF-8": lambda: _signed_token(OLDEST, b"\xff\xfe" + b"\x0e" * 14),
}


@pytest.mark.usefixtures("three_keys")
@pytest.mark.parametrize("kind", REFUSED)
def test_a_bad_token_is_refused_in_a_batch_as_decrypt_refuses_it(kind: str) -> None:
    bad = REFUSED[kind]()
    with pytest.raises(ValueError) as one_at_a_time:
        crypto.decrypt(bad)
    good = crypto.encrypt("sok@example.org")
    with pytest.raises(ValueError) as in_a_batch:
        crypto.decrypt_many([good, bad, good])
    assert type(in_a_batch.value) is type(one_at_a_time.value)
    assert str(in_a_batch.value) == str(one_at_a_time.value)


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.usefixtures("three_keys")
def test_the_postgresql_export_decrypts_by_batch_never_one_value_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    campaign = make_campaign()
    store = f"UPDATE {Signature._meta.db_table} SET email = %s, phone = %s WHERE id = %s"  # noqa: S608 - our table's name
    expected = {}
    for number, key in enumerate([OLDEST, OLDER, NEWEST, NEWEST, OLDER]):
        phone = f"012345{number:03d}" if number % 2 else ""
        signature = make_signature(campaign)
        # Stored as it was when `key` was the newest (rotation leaves it so),
        # in SQL: the model's field would encrypt the token again.
        with connection.cursor() as cursor:
            cursor.execute(
                store,
                [
                    _encrypted_with(key, f"signer{number}@example.org"),
                    _encrypted_with(key, phone) if phone else "",
                    signature.pk,
                ],
            )
        expected[str(signature.pk)] = (f"signer{number}@example.org", phone)

    batches: list[int] = []
    decrypt_many = crypto.decrypt_many

    def counted_batch(tokens: Sequence[str]) -> list[str]:
        batches.append(len(tokens))
        return decrypt_many(tokens)

    def one_at_a_time(token: str) -> str:
        raise AssertionError("the export decrypted one value at a time")

    monkeypatch.setattr(crypto, "decrypt_many", counted_batch)
    monkeypatch.setattr(crypto, "decrypt", one_at_a_time)
    monkeypatch.setattr(exports, "EXPORT_CHUNK_ROWS", 2)
    content = b"".join(exports.export_lines(campaign))

    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))[1:]
    assert {row[0]: (row[5], row[6]) for row in rows} == expected
    assert batches == [2, 2, 2, 2, 1, 1]  # e-mails then phones, per chunk of rows
