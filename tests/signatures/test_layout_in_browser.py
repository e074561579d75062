"""What a signer on a 390 px phone sees in real Chromium: the country list on
/km/, a long name in the public list, and the HTML e-mails."""

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail

from signatures import services
from signatures.countries import khmer_sort_key
from signatures.models import Signature
from tests.factories import make_campaign, make_signature

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_WIDTH = 390
FIRST_CODES = ["US", "FR", "AU", "CA", "NZ", "KR", "TH", "JP", "MY", "GB", "DE", "VN", "LA"]
LONG_NAME = "ស" * 60 + "Sokha" * 12  # 120 characters, no break opportunity
KHMER_FONTS = ["Noto Sans Khmer", "Khmer Sangam MN", "Khmer OS", "Leelawadee UI"]


def _page_width(page: Any) -> int:
    return int(page.evaluate("document.scrollingElement.scrollWidth"))


def test_on_a_khmer_phone_the_country_list_starts_with_where_cambodians_live(
    live_server: Any, phone_page: Any
) -> None:
    campaign = make_campaign()
    page = phone_page.page
    page.goto(f"{live_server.url}/km/campaigns/{campaign.slug}/")
    options = page.eval_on_selector_all(
        "#id_country option",
        "options => options.map(o => [o.value, o.textContent, o.parentElement.label || ''])",
    )
    assert options[0][0] == ""
    groups = [label for _value, _text, label in options[1:]]
    first_label, all_label = groups[0], groups[-1]
    assert first_label == "ប្រទេសដែលមានពលរដ្ឋខ្មែររស់នៅច្រើនជាងគេ"
    assert all_label == "ប្រទេសទាំងអស់"
    first = [value for value, _text, label in options if label == first_label]
    assert first == FIRST_CODES
    everything = [(value, text) for value, text, label in options if label == all_label]
    assert everything[0] == ("KH", "កម្ពុជា")
    names = [text for _value, text in everything]
    assert names == sorted(names, key=khmer_sort_key)

    # Choosing the USA from the first group sends its code.
    page.locator("#id_country").select_option("US")
    assert page.locator("#id_country").input_value() == "US"


def test_a_long_unbroken_name_in_the_public_list_does_not_widen_the_page(
    live_server: Any, phone_page: Any
) -> None:
    campaign = make_campaign()
    make_signature(campaign, full_name=LONG_NAME, show_publicly=True)
    page = phone_page.page
    page.goto(f"{live_server.url}/km/campaigns/{campaign.slug}/")
    signers = page.locator("ul.signers li")
    assert LONG_NAME in signers.first.inner_text()
    assert _page_width(page) <= PHONE_WIDTH
    box = signers.first.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE_WIDTH


@pytest.fixture
def mailed(django_capture_on_commit_callbacks: Any) -> Callable[[], Any]:
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.mark.parametrize("kind", ["confirm", "already_signed"])
def test_a_khmer_html_mail_fits_a_phone_and_names_khmer_fonts(
    phone_page: Any, mailed: Callable[[], Any], kind: str
) -> None:
    campaign = make_campaign()
    status = Signature.Status.PENDING if kind == "confirm" else Signature.Status.CONFIRMED
    signature = make_signature(campaign, status=status, full_name=LONG_NAME, language="km")
    with mailed():
        if kind == "confirm":
            services.confirmation_send(signature)
        else:
            services.already_signed_send(signature)
    [message] = mail.outbox
    page = phone_page.page
    page.set_content(str(message.alternatives[0][0]))  # type: ignore[union-attr]
    assert page.evaluate("document.documentElement.lang") == "km"
    assert _page_width(page) <= PHONE_WIDTH
    font_family = page.evaluate("getComputedStyle(document.querySelector('p')).fontFamily")
    for font in KHMER_FONTS:
        assert font in font_family
    assert font_family.rstrip().endswith("sans-serif")


def test_a_khmer_statement_mail_fits_a_phone_and_names_khmer_fonts(phone_page: Any) -> None:
    from statements.models import Statement
    from statements.services import statement_message_queue
    from tests.factories import make_statement

    statement = make_statement(status=Statement.Status.PUBLISHED, title_km="ស" * 120)
    message = statement_message_queue(
        statement=statement,
        key="layout-test",
        to="reader@example.org",
        language="km",
        unsubscribe="http://example.org/unsubscribe/",
    )
    page = phone_page.page
    page.set_content(message.body_html)
    assert page.evaluate("document.documentElement.lang") == "km"
    assert _page_width(page) <= PHONE_WIDTH
    font_family = page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
    for font in KHMER_FONTS:
        assert font in font_family
