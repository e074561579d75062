"""Names and e-mail addresses made comparable."""

import pytest

from signatures.identity import email_canonical, email_hash, name_clean, name_key


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("Dara.Sok@Gmail.com", "darasok@gmail.com"),
        ("dara.sok+petition@googlemail.com", "darasok@gmail.com"),
        ("Dara.Sok+petition@example.org", "dara.sok+petition@example.org"),
        ("DARA@EXAMPLE.ORG", "dara@example.org"),
    ],
)
def test_the_canonical_email_key(typed: str, canonical: str) -> None:
    assert email_canonical(typed) == canonical


def test_canonical_domains_are_configurable(settings) -> None:
    settings.EMAIL_CANONICAL_DOMAINS = ["fastmail.com"]
    assert email_canonical("a.b+x@fastmail.com") == "ab@fastmail.com"
    assert email_canonical("a.b+x@gmail.com") == "a.b+x@gmail.com"


def test_the_hash_is_keyed_and_reveals_nothing(settings) -> None:
    from core.crypto import clear_key_caches

    first = email_hash("dara@example.org")
    assert "dara" not in first and len(first) == 64
    settings.SIGNER_HASH_KEY = "another-key"
    clear_key_caches()
    try:
        assert email_hash("dara@example.org") != first
    finally:
        clear_key_caches()


@pytest.mark.parametrize(
    "spelling",
    [
        "សុខ ស្ដា",  # subscript DA
        "សុខ ស្តា",  # subscript TA
        "ស\u200bុខ ស្ដា",  # a zero-width space inside
        "សុខ\u00a0\u00a0ស្ដា ",  # other spaces
    ],
)
def test_look_alike_khmer_spellings_share_one_key(spelling: str) -> None:
    assert name_key(spelling) == name_key("សុខ ស្តា")


def test_a_name_keeps_what_was_typed_minus_invisible_characters() -> None:
    assert name_clean("  Sok\u200b  Dara\u2060 ") == "Sok Dara"
    assert name_clean("សុខ ស្ដា") == "សុខ ស្ដា"  # DA stays DA: only the key changes it
