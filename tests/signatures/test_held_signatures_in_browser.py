"""A signature held for review, seen in real Chromium on a phone: the form
sent in under a second (as autofill does) is kept and mailed, and its confirm
page says the truth, received and counted once checked, in the page's language."""

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from signatures.models import Signature
from tests.conftest import axe_violations
from tests.factories import make_campaign
from tests.signatures.conftest import link_in_sent_mail

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORDS = {
    "km": {
        "name": "សុខ ដារ៉ា",
        "heading": "សូមអរគុណ៖ យើងបានទទួលហត្ថលេខារបស់អ្នកហើយ",
        "held": "នឹងត្រូវរាប់បញ្ចូល បន្ទាប់ពីយើងបានពិនិត្យរួច",
        "counted": "ហត្ថលេខារបស់អ្នកត្រូវបានរាប់បញ្ចូលហើយ",
        "zero": "០",
    },
    "en": {
        "name": "Sok Dara",
        "heading": "Thank you: we have received your signature",
        "held": "will be counted once it has been checked",
        "counted": "your signature counts",
        "zero": "0",
    },
}


@pytest.fixture
def campaign(settings: Any, live_server: Any) -> Any:
    settings.SITE_URL = live_server.url  # links in e-mails point at the test server
    return make_campaign()


@pytest.mark.parametrize("lang", ["km", "en"])
def test_an_autofilled_form_is_held_and_its_confirm_page_says_so_on_a_phone(
    live_server: Any, campaign: Any, phone_page: Any, smtp_server: Any, settings: Any, lang: str
) -> None:
    settings.SIGNATURE_MIN_FILL_SECONDS = 60  # the form below is sent in about a second
    words = WORDS[lang]
    page = phone_page.page
    page.goto(f"{live_server.url}/{lang}/campaigns/{campaign.slug}/")
    page.locator("#id_full_name").fill(words["name"])
    page.locator("#id_email").fill(f"autofill-{lang}@example.org")
    page.locator("#id_country").select_option("FR")
    page.locator("#id_consent").check()
    page.locator("form.signature-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/thanks/(#sign)?$"))

    [message] = smtp_server.wait_for(1)
    assert message["To"] == f"autofill-{lang}@example.org"
    held = Signature.objects.get()
    assert held.status == Signature.Status.SUSPECT

    page.goto(link_in_sent_mail(message, "confirm"))
    assert page.locator("html").get_attribute("lang") == lang
    expect(page.get_by_role("heading", level=1)).to_have_text(words["heading"])
    main = page.locator("main").inner_text()
    assert words["held"] in main
    assert words["counted"] not in main.lower()
    expect(page.locator("[data-count]").first).to_have_text(words["zero"])
    held.refresh_from_db()
    assert held.status == Signature.Status.SUSPECT and held.confirmed_at is not None
    # Readable on a phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert axe_violations(page) == []
    assert phone_page.foreign_requests(live_server.url) == []
