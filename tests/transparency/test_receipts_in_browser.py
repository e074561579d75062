"""A signer's receipt, from the confirmation e-mail to the public record,
checked in Chromium: in the browser with JavaScript, on the server without."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from core import countlog
from signatures.models import Signature
from tests.conftest import axe_violations
from tests.factories import make_campaign
from tests.signatures.conftest import link_in_sent_mail, sent_mail_text
from transparency import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def receipt_in(message: Any) -> str:
    text = sent_mail_text(message)
    found = re.search(r"\b([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})\b", text)
    assert found, text
    return found.group(1)


@pytest.mark.parametrize("lang", ["km", "en"])
def test_a_receipt_from_the_confirmation_mail_verifies_with_and_without_javascript(
    live_server: Any, settings: Any, phone_page: Any, browser: Any, smtp_server: Any, lang: str
) -> None:
    settings.SITE_URL = live_server.url
    settings.SIGNATURE_MIN_FILL_SECONDS = 0  # Playwright fills faster than any person
    campaign = make_campaign()
    page = phone_page.page
    page.goto(f"{live_server.url}/{lang}/campaigns/{campaign.slug}/")
    page.locator("#id_full_name").fill("Sok Dara")
    page.locator("#id_email").fill(f"receipt-{lang}@example.org")
    page.locator("#id_country").select_option("FR")
    page.locator("#id_consent").check()
    page.locator("form.signature-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/thanks/(#sign)?$"))
    [message] = smtp_server.wait_for(1)
    receipt = receipt_in(message)
    assert countlog.receipt_normalise(receipt) == Signature.objects.get().receipt

    # The page after confirming shows the same receipt, ready to copy.
    page.goto(link_in_sent_mail(message, "confirm"))
    expect(page.locator("[data-receipt]")).to_have_value(receipt)

    # Before the day's head: recorded, not yet published.
    page.goto(f"{live_server.url}/{lang}/verify/")
    page.locator("#receipt").fill(receipt.lower().replace("-", " "))
    page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-verdict=pending]")).to_be_visible()

    services.head_publish(campaign)
    page.goto(f"{live_server.url}/{lang}/verify/")
    page.locator("#receipt").fill(receipt)
    page.locator("main form button[type=submit]").click()
    result = page.locator("[data-verify-result]")
    expect(result).to_have_attribute("data-checked-in-browser", "true")
    expect(page.locator("[data-verdict=ok]")).to_be_visible()
    assert page.url.endswith("/verify/")  # checked here: the receipt was not sent
    assert not phone_page.foreign_requests(live_server.url)
    assert axe_violations(page) == []

    # JavaScript off: the form goes to the server, which checks and shows the proof.
    context = browser.new_context(java_script_enabled=False)
    try:
        plain = context.new_page()
        plain.goto(f"{live_server.url}/{lang}/verify/")
        plain.locator("#receipt").fill(receipt)
        plain.locator("main form button[type=submit]").click()
        expect(plain.locator(".record-ok")).to_be_visible()
        assert plain.locator(".record-proof code").count() >= 2
    finally:
        context.close()


def test_a_tampered_leaf_fails_in_the_browser(
    live_server: Any, phone_page: Any, settings: Any
) -> None:
    from tests.factories import make_signature

    campaign = make_campaign()
    signature = make_signature(campaign, country="FR")
    make_signature(campaign, country="KH")
    services.head_publish(campaign)
    # The leaf served no longer matches the signed root.
    from signatures.models import CountEvent

    event = CountEvent.objects.get(
        receipt_hash=bytes.fromhex(countlog.receipt_hash(signature.receipt))
    )
    event.country = "US"
    event.leaf_hash = countlog.leaf_hash(event.leaf())
    event.save()
    page = phone_page.page
    page.goto(f"{live_server.url}/en/verify/")
    page.locator("#receipt").fill(countlog.receipt_display(signature.receipt))
    page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-verdict=bad]")).to_be_visible()
