"""No dead ends, in real Chromium on a phone: switching language after a form
error, and public pages that log nothing in the console (no missing favicon)."""

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import axe_violations
from tests.factories import make_campaign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OTHER = {"en": "km", "km": "en"}


@pytest.mark.parametrize("lang", ["en", "km"])
def test_switching_language_after_a_form_error_opens_the_campaign_page(
    live_server: Any, phone_page: Any, lang: str
) -> None:
    campaign = make_campaign()
    page = phone_page.page
    page.goto(f"{live_server.url}/{lang}/campaigns/{campaign.slug}/")
    page.locator("#id_full_name").fill("Sok Dara")
    page.locator("#id_email").fill("not an address")
    page.locator("form.signature-form button[type=submit]").click()
    expect(page.locator("[role=alert]")).to_be_visible()

    other = OTHER[lang]
    with page.expect_navigation() as navigation:
        page.locator(f".language-switcher a[hreflang={other}]").click()
    assert navigation.value.status == 200
    assert page.url == f"{live_server.url}/{other}/campaigns/{campaign.slug}/"
    assert page.locator("html").get_attribute("lang") == other
    expect(page.locator("form.signature-form")).to_be_visible()


@pytest.mark.parametrize("path", ["/km/", "/en/", "/en/about/", "/km/campaigns/right-to-vote/"])
def test_public_pages_log_no_console_error(live_server: Any, phone_page: Any, path: str) -> None:
    make_campaign()
    page = phone_page.page
    errors: list[str] = []
    failed: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error":
            errors.append(message.text)

    def on_response(response: Any) -> None:
        if response.status >= 400:
            failed.append(response.url)

    page.on("console", on_console)
    page.on("response", on_response)
    page.goto(f"{live_server.url}{path}")
    page.wait_for_load_state("networkidle")
    # Headless Chromium fetches no icon by itself: fetch the ones the page names.
    icons = page.eval_on_selector_all("link[rel~=icon]", "links => links.map(l => l.href)")
    assert icons
    for icon in icons:
        response = page.request.get(icon)
        assert response.status == 200, icon
        assert response.headers["content-type"].startswith("image/"), icon
    assert errors == []
    assert failed == []


def test_the_favicon_is_served_at_the_address_browsers_ask_for(
    live_server: Any, phone_page: Any
) -> None:
    response = phone_page.page.request.get(f"{live_server.url}/favicon.ico")
    assert response.status == 200
    assert re.match(r"image/(x-icon|vnd\.microsoft\.icon)", response.headers["content-type"])
    assert response.body()[:4] == b"\x00\x00\x01\x00"  # the ICO header


@pytest.mark.parametrize(("lang", "back"), [("en", "Back to the petition"), ("km", "ត្រឡប់ទៅញត្តិវិញ")])
def test_a_form_sent_after_its_cookie_is_gone_leads_back_to_a_working_form(
    live_server: Any, phone_page: Any, lang: str, back: str
) -> None:
    campaign = make_campaign()
    page = phone_page.page
    page.goto(f"{live_server.url}/{lang}/campaigns/{campaign.slug}/")
    page.context.clear_cookies()  # the browser session ended with the page open
    page.locator("#id_full_name").fill("Sok Dara")
    page.locator("#id_email").fill("dara@example.org")
    page.locator("#id_country").select_option("FR")
    page.locator("#id_consent").check()
    with page.expect_navigation() as navigation:
        page.locator("form.signature-form button[type=submit]").click()
    assert navigation.value.status == 403
    assert page.locator("html").get_attribute("lang") == lang
    assert axe_violations(page) == []

    page.get_by_role("link", name=back).click()
    page.wait_for_url(f"{live_server.url}/{lang}/campaigns/{campaign.slug}/")
    expect(page.locator("form.signature-form")).to_be_visible()
