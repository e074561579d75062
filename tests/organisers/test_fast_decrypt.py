import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import crypto
from organisers.fastdecrypt import decryptor


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=300))
def test_the_export_decrypts_exactly_what_signatures_crypto_encrypted(value: str) -> None:
    assert decryptor()(crypto.encrypt(value)) == value


def test_a_tampered_token_is_refused_like_the_library_refuses_it() -> None:
    token = crypto.encrypt("dara@example.org")
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(ValueError):
        decryptor()(tampered)


def test_an_older_key_still_decrypts(settings: object) -> None:
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SIGNER_DATA_KEYS = [old]  # type: ignore[attr-defined]
    crypto.clear_key_caches()
    token = crypto.encrypt("sok@example.org")
    settings.SIGNER_DATA_KEYS = [new, old]  # type: ignore[attr-defined]
    crypto.clear_key_caches()
    try:
        assert decryptor()(token) == "sok@example.org"
    finally:
        crypto.clear_key_caches()
