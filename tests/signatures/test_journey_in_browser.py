"""A signer's whole journey in real Chromium on a phone: sign, get the e-mail
from a real SMTP server, confirm, see the count rise, withdraw, see it fall."""

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from signatures.models import Signature
from tests.conftest import axe_violations
from tests.factories import make_campaign
from tests.signatures.conftest import link_in_sent_mail

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JOURNEYS = {
    "km": {"name": "សុខ ដារ៉ា", "zero": "០", "one": "១"},
    "en": {"name": "Sok Dara", "zero": "0", "one": "1"},
}


@pytest.fixture
def campaign(settings: Any, live_server: Any) -> Any:
    settings.SITE_URL = live_server.url  # links in e-mails point at the test server
    return make_campaign()


def _fill(page: Any, name: str, email: str) -> None:
    page.locator("#id_full_name").fill(name)
    page.locator("#id_email").fill(email)
    page.locator("#id_country").select_option("FR")
    page.locator("#id_consent").check()


@pytest.mark.parametrize("lang", ["km", "en"])
def test_sign_confirm_and_withdraw_on_a_phone(
    live_server: Any, campaign: Any, phone_page: Any, smtp_server: Any, lang: str
) -> None:
    words = JOURNEYS[lang]
    page = phone_page.page
    page.goto(f"{live_server.url}/{lang}/campaigns/{campaign.slug}/")
    assert page.locator("html").get_attribute("lang") == lang
    expect(page.locator("[data-count]").first).to_have_text(words["zero"])

    _fill(page, words["name"], f"journey-{lang}@example.org")
    page.locator("form.signature-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/thanks/(#sign)?$"))
    assert page.get_by_role("heading", level=1).is_visible()

    [message] = smtp_server.wait_for(1)
    assert message["To"] == f"journey-{lang}@example.org"
    page.goto(link_in_sent_mail(message, "confirm"))
    assert Signature.objects.get().status == Signature.Status.CONFIRMED
    # The live count catches up within a few seconds (figures are cached 3 s).
    expect(page.locator("[data-count]").first).to_have_text(words["one"], timeout=20000)

    page.goto(link_in_sent_mail(message, "withdraw"))
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert Signature.objects.get().status == Signature.Status.WITHDRAWN
    expect(page.locator("[data-count]").first).to_have_text(words["zero"], timeout=20000)

    assert phone_page.foreign_requests(live_server.url) == []


@pytest.mark.parametrize("lang", ["km", "en"])
def test_campaign_form_errors_and_thanks_pages_have_no_accessibility_violations(
    live_server: Any, campaign: Any, phone_page: Any, lang: str
) -> None:
    page = phone_page.page
    page.goto(f"{live_server.url}/{lang}/campaigns/{campaign.slug}/")
    assert axe_violations(page) == []

    page.locator("#id_email").fill("not an address")
    page.locator("form.signature-form button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("[role=alert]")).to_be_visible()
    assert page.locator("[aria-invalid=true]").count() >= 3
    assert axe_violations(page) == []

    _fill(page, "Chan Sophea", "axe@example.org")
    page.locator("form.signature-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/thanks/(#sign)?$"))
    assert axe_violations(page) == []
    assert phone_page.foreign_requests(live_server.url) == []


def test_the_copy_link_button_appears_with_javascript(
    live_server: Any, campaign: Any, phone_page: Any
) -> None:
    page = phone_page.page
    page.goto(f"{live_server.url}/en/campaigns/{campaign.slug}/")
    button = page.locator(".share [data-copy-link]")
    expect(button).to_be_visible()
    assert page.locator("#share-url").input_value().endswith(f"/en/campaigns/{campaign.slug}/")
