"""What the signing form accepts, and how it says no."""

import re
from html import unescape
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from signatures import tallies
from signatures.identity import email_canonical
from signatures.models import Signature
from tests.factories import make_campaign
from tests.signatures.conftest import links_in, sign


@pytest.fixture
def mailed(django_capture_on_commit_callbacks: Any) -> Any:
    """Run on-commit work (queueing the outbox) inside a test transaction."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def count(campaign: Any) -> int:
    return tallies.figures_compute(campaign).total


# --- One Gmail account, two domains -------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "SokDara@googlemail.com",
        "s.o.k.dara@GoogleMail.COM",
        "sok.dara+petition@googlemail.com.",
        "SOKDARA@GMAIL.COM",
    ],
)
def test_a_googlemail_address_is_its_gmail_address(typed: str) -> None:
    assert email_canonical(typed) == "sokdara@gmail.com"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("s.o.k.dara@gmail.com", "SokDara@googlemail.com"),
        ("SokDara@googlemail.com", "s.o.k.dara@gmail.com"),
        ("Sok.Dara+news@GOOGLEMAIL.com", "sokdara@Gmail.Com"),
    ],
)
def test_one_gmail_account_signing_with_both_domains_is_one_person(
    client: Client, campaign: Any, mailed: Any, first: str, second: str
) -> None:
    with mailed():
        sign(client, campaign, email=first)
    client.get(links_in(mail.outbox[0])["confirm"])
    with mailed():
        response = sign(client, campaign, email=second, full_name="Someone Else")
    assert response.status_code == 302
    signature = Signature.objects.get()
    assert signature.full_name == "Sok Dara"
    assert count(campaign) == 1
    assert "already" in mail.outbox[1].subject.lower()


@pytest.mark.parametrize(
    "typed",
    [
        "Sok.Dara+news@googlemail.org",
        "Sok.Dara+news@mail.googlemail.com",
        "Sok.Dara+news@example.org",
    ],
)
def test_a_domain_not_listed_is_left_as_typed_but_for_case(typed: str) -> None:
    assert email_canonical(typed) == typed.casefold()


def test_two_addresses_on_an_unlisted_domain_stay_two_people(
    client: Client, campaign: Any, mailed: Any
) -> None:
    with mailed():
        sign(client, campaign, email="sok.dara@googlemail.org")
        sign(client, campaign, email="sokdara@gmail.org")
    assert Signature.objects.count() == 2


def test_provider_aliases_are_configured_with_the_canonical_domains(settings: Any) -> None:
    settings.EMAIL_CANONICAL_DOMAINS = ["fastmail.com", " FastMail.FM = fastmail.com "]
    assert email_canonical("Sok.Dara+x@fastmail.fm") == "sokdara@fastmail.com"
    # Without the alias entry, googlemail.com is just another domain.
    assert email_canonical("Sok.Dara+x@googlemail.com") == "sok.dara+x@googlemail.com"


# --- Phone numbers --------------------------------------------------------------


def shown_error(message: str, lang: str, **params: Any) -> str:
    """The error as the page in `lang` must show it (HTML-escaped as rendered);
    a Khmer page must not fall back to English."""
    with translation.override(lang):
        text = gettext(message) % params if params else gettext(message)
    if lang == "km":
        assert text != (message % params if params else message), f"not translated: {message}"
    return escape(text)


@pytest.fixture
def phone_campaign(db: None) -> Any:
    return make_campaign(ask_phone=True)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+44 7700 900123", "+447700900123"),  # possible, in a range marked unassigned
        ("0085512345678", "+85512345678"),  # the international prefix Cambodians dial
        ("00 855 12 345 678", "+85512345678"),
        ("+855 23 123 456", "+85523123456"),  # a Phnom Penh landline
        ("+៨៥៥ ១២ ៣៤៥ ៦៧៨", "+85512345678"),  # Khmer digits
        ("០០៨៥៥ ១២ ៣៤៥ ៦៧៨", "+85512345678"),
        ("＋855-12-345-678", "+85512345678"),  # a full-width plus, dashes
        ("+44 (0)7700 900123", "+447700900123"),
        ("+0085512345678", "+85512345678"),
        ("+1 (212) 555-2368", "+12125552368"),
    ],
)
def test_a_possible_phone_number_is_accepted_and_stored_in_e164(
    client: Client, phone_campaign: Any, mailed: Any, typed: str, stored: str
) -> None:
    with mailed():
        response = sign(client, phone_campaign, phone=typed)
    assert response.status_code == 302
    assert Signature.objects.get().phone == stored


PHONE_REFUSALS = [
    ("12345", "Please enter a phone number with its country code, like +855 12 345 678.", {}),
    ("012 345 678", "Please enter a phone number with its country code, like +855 12 345 678.", {}),
    ("+855 abc", "Please enter a phone number in digits, like +855 12 345 678.", {}),
    ("+855 12 345 678 ext 9", "Please enter a phone number in digits, like +855 12 345 678.", {}),
    ("+855 12+345 678", "Please enter a phone number in digits, like +855 12 345 678.", {}),
    ("+", "Please enter a phone number in digits, like +855 12 345 678.", {}),
    (
        "+999 1234567",
        "This phone number does not start with a country code we know. Please check it, "
        "like +855 for Cambodia.",
        {},
    ),
    ("+855 1234", "This phone number is too short for country code +%(code)s.", {"code": 855}),
    ("+44 1234", "This phone number is too short for country code +%(code)s.", {"code": 44}),
    ("0044 1234", "This phone number is too short for country code +%(code)s.", {"code": 44}),
    (
        "+855 12345678901234",
        "This phone number is too long for country code +%(code)s.",
        {"code": 855},
    ),
    (
        "+47 222 222",  # Norway: 5 or 8 digits, never 6
        "This phone number has the wrong number of digits for country code +%(code)s.",
        {"code": 47},
    ),
    (
        "+855 222 222",  # a Phnom Penh number without its area code
        "This phone number is too short for country code +%(code)s.",
        {"code": 855},
    ),
    ("+8551", "This phone number is too short.", {}),
    ("+44 7700 9001 2300 0000 0000", "This phone number is too long.", {}),
    ("+855 " + "1 " * 30, "This phone number is too long.", {}),
]


@pytest.mark.parametrize("lang", ["km", "en"])
@pytest.mark.parametrize(("typed", "message", "params"), PHONE_REFUSALS)
def test_a_refused_phone_number_says_why_in_the_signers_language(
    client: Client,
    phone_campaign: Any,
    typed: str,
    message: str,
    params: dict[str, Any],
    lang: str,
) -> None:
    response = sign(client, phone_campaign, lang=lang, phone=typed)
    assert response.status_code == 400
    page = response.content.decode()
    assert shown_error(message, lang, **params) in page
    assert Signature.objects.count() == 0


# --- Names --------------------------------------------------------------------

BIDI = "A name cannot contain invisible characters that change the direction of text."
MARKUP = "A name cannot contain the signs < or >."


@pytest.mark.parametrize(
    "typed",
    [
        "\u202eanirak",  # shows as "karina"
        "Sok \u202eArad\u202c",
        "\u202dSok Dara",
        "Sok\u2066 Dara\u2069",
        "Sok Dara\u200f",
        "\u061cសុខ ដារ៉ា",
    ],
)
@pytest.mark.parametrize("lang", ["km", "en"])
def test_a_name_with_a_direction_control_is_refused(
    client: Client, campaign: Any, typed: str, lang: str
) -> None:
    response = sign(client, campaign, lang=lang, full_name=typed)
    assert response.status_code == 400
    assert shown_error(BIDI, lang) in response.content.decode()
    assert Signature.objects.count() == 0


@pytest.mark.parametrize(
    "typed",
    [
        "<script>alert(1)</script>",
        "Sok <b>Dara</b>",
        "<img src=x onerror=alert(1)>",
        "Dara>",
        "Sok \uff1cscript\uff1e Dara",  # full-width < and >
        "Sok \ufe64b\ufe65 Dara",  # small < and >
    ],
)
@pytest.mark.parametrize("lang", ["km", "en"])
def test_a_name_that_is_markup_is_refused(
    client: Client, campaign: Any, typed: str, lang: str
) -> None:
    response = sign(client, campaign, lang=lang, full_name=typed)
    assert response.status_code == 400
    page = response.content.decode()
    assert shown_error(MARKUP, lang) in page
    assert "<script>alert" not in page and "<b>Dara" not in page
    assert Signature.objects.count() == 0


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("សុខ\u200bដារ៉ា", "សុខដារ៉ា"),  # a Khmer keyboard's zero-width space: still just dropped
        ("Sok\u200d Dara", "Sok Dara"),
        ("O'Brien-Sok Dara (ដារ៉ា)", "O'Brien-Sok Dara (ដារ៉ា)"),
        ("Sok & Dara", "Sok & Dara"),
    ],
)
def test_real_names_with_invisible_joiners_or_punctuation_are_still_accepted(
    client: Client, campaign: Any, mailed: Any, typed: str, stored: str
) -> None:
    with mailed():
        response = sign(client, campaign, full_name=typed)
    assert response.status_code == 302
    assert Signature.objects.get().full_name == stored


# --- Every error a Khmer page shows is Khmer --------------------------------------

ERRORS_SHOWN = re.compile(
    r'<div class="message message-error".*?</div>|<ul class="errorlist".*?</ul>', re.DOTALL
)
TAGS = re.compile(r"<[^>]+>")


def error_texts(page: str) -> str:
    """The text of the error summary and of each field's errors, minus the one
    example in Latin letters a Khmer message may give (name@example.com)."""
    text = "\n".join(unescape(TAGS.sub(" ", html)) for html in ERRORS_SHOWN.findall(page))
    return text.replace("name@example.com", "")


@pytest.mark.parametrize(
    "fields",
    [
        {"full_name": "Sok\x00Dara"},
        {"email": "dara\x00@example.org"},
        {"city": "Paris\x00"},
        {"phone": "+855 12\x00345 678"},
        {"full_name": "", "email": "", "country": "", "consent": None},
        {"phone": "+855 abc", "full_name": "<b>Dara</b>"},
        {"phone": "+44 1234", "full_name": "\u202eanirak"},
    ],
)
def test_every_error_on_a_khmer_page_is_in_khmer(
    client: Client, db: None, fields: dict[str, Any]
) -> None:
    campaign = make_campaign(ask_phone=True, ask_city=True)
    response = sign(client, campaign, lang="km", **fields)
    assert response.status_code == 400
    shown = error_texts(response.content.decode())
    assert shown.strip()
    assert not re.search(r"[A-Za-z]{2,}", shown), shown
    assert Signature.objects.count() == 0


def test_a_null_character_is_explained_in_khmer(client: Client, campaign: Any) -> None:
    page = sign(client, campaign, lang="km", full_name="Sok\x00Dara").content.decode()
    assert shown_error("Null characters are not allowed.", "km") in page
    # Not in any text the page shows; the random form token in an attribute
    # may spell it by chance.
    assert "Null" not in unescape(TAGS.sub(" ", page))


def summary_items(page: str) -> list[str]:
    summary = re.search(r'<div class="message message-error".*?</div>', page, re.DOTALL)
    assert summary, "no error summary"
    return [
        re.sub(r"\s+", " ", item).strip()
        for item in re.findall(r"<li><a [^>]*>(.*?)</a></li>", summary.group(0), re.DOTALL)
    ]


def test_the_khmer_error_summary_joins_label_and_message_the_khmer_way(
    client: Client, campaign: Any
) -> None:
    page = sign(client, campaign, lang="km", full_name="", consent=None).content.decode()
    items = summary_items(page)
    assert "ឈ្មោះពេញ៖ សូមបញ្ចូលឈ្មោះរបស់អ្នក។" in items
    consent = [item for item in items if "សូមយល់ព្រម" in item]
    assert consent and consent[0].endswith("យុទ្ធនាការនេះ។ សូមយល់ព្រមតាមគោលការណ៍ឯកជនភាព ដើម្បីចុះហត្ថលេខា។")
    assert not any(":" in item for item in items), items


def test_the_english_error_summary_still_reads_well(client: Client, campaign: Any) -> None:
    page = sign(client, campaign, lang="en", full_name="", consent=None).content.decode()
    items = summary_items(page)
    assert "Full name: Please enter your name." in items
    assert (
        "I have read the privacy notice and agree that my signature is stored for this "
        "campaign. Please agree to the privacy notice to sign." in items
    )
    assert not any(".:" in item or "?:" in item for item in items), items
