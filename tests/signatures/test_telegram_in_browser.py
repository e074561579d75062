"""Confirming by Telegram in real Chromium on a phone, in both languages:
choose Telegram, sign without an e-mail, get a plain link and a QR code,
press Start (delivered to the webhook by a fake Bot API server), see the
count rise, send /withdraw, see it fall."""

import re
from typing import Any

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from signatures.models import Signature
from signatures.tallies import figures_compute
from tests.conftest import axe_violations
from tests.factories import make_campaign
from tests.telegram_fake import FakeTelegram, telegram_api  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JOURNEYS = {
    "km": {"name": "សុខ ដារ៉ា", "zero": "០", "one": "១"},
    "en": {"name": "Sok Dara", "zero": "0", "one": "1"},
}
LINK = re.compile(r"https?://\S+")
START_LINK = re.compile(r"https://t\.me/sitthi_test_bot\?start=([A-Za-z0-9_-]{16,32})")


@pytest.fixture
def campaign(settings: Any, live_server: Any, telegram_api: FakeTelegram) -> Any:  # noqa: F811
    settings.SITE_URL = live_server.url  # links in the bot's answers point at the test server
    settings.SIGNATURE_MIN_FILL_SECONDS = 0
    return make_campaign()


def test_on_a_computer_the_start_page_shows_the_qr_code_drawn_by_us(
    live_server: Any,
    campaign: Any,
    telegram_api: FakeTelegram,  # noqa: F811
    desktop_page: Any,
) -> None:
    page = desktop_page.page
    page.goto(f"{live_server.url}/km/campaigns/{campaign.slug}/")
    token = _sign_choosing_telegram(page, JOURNEYS["km"]["name"])
    qr = page.locator("figure.telegram-qr img")
    expect(qr).to_be_visible()
    page.wait_for_function("() => document.querySelector('figure.telegram-qr img').complete")
    assert qr.evaluate("image => image.naturalWidth") > 0  # an SVG the browser drew
    assert qr.get_attribute("alt") == "កូដ QR នៃតំណសម្រាប់បញ្ជាក់តាមតេឡេក្រាម"
    assert desktop_page.foreign_requests(live_server.url) == []  # nothing from elsewhere
    assert [url for url in desktop_page.requests if url.endswith("/qr.svg")] == [
        f"{live_server.url}/km/campaigns/{campaign.slug}/telegram/{token}/qr.svg"
    ]


def _sign_choosing_telegram(page: Any, name: str) -> str:
    """Fill the form on the open campaign page choosing Telegram, submit it,
    and return the token of the link the page shows."""
    email = page.locator("#id_email")
    expect(email).to_be_visible()  # e-mail is the default choice
    page.locator("input[name=confirm_by][value=telegram]").check()
    # static/js/confirm-by.js: with Telegram chosen the address is not asked for.
    expect(email).to_be_hidden()
    assert email.evaluate("input => input.required") is False
    page.locator("#id_full_name").fill(name)
    page.locator("#id_country").select_option("FR")
    page.locator("#id_consent").check()
    page.locator("form.signature-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/telegram/[A-Za-z0-9_-]+/(#sign)?$"))

    link = page.locator("a[data-telegram-link]")
    expect(link).to_be_visible()
    href = link.get_attribute("href") or ""
    match = START_LINK.fullmatch(href)
    assert match, href
    return match.group(1)


def _press_start(
    fake: FakeTelegram, live_server: Any, token: str, *, user_id: int, lang: str
) -> None:
    update = fake.update_for_start(token, user_id=user_id, language_code=lang)
    status = fake.deliver(
        update,
        url=f"{live_server.url}/telegram/webhook/",
        secret=django_settings.TELEGRAM_WEBHOOK_SECRET,
    )
    assert status == 200


@pytest.mark.parametrize("lang", ["km", "en"])
def test_sign_confirm_in_telegram_and_withdraw_on_a_phone(
    live_server: Any,
    campaign: Any,
    telegram_api: FakeTelegram,  # noqa: F811
    phone_page: Any,
    lang: str,
) -> None:
    words = JOURNEYS[lang]
    user_id = 5100 + len(lang)
    page = phone_page.page
    campaign_url = f"{live_server.url}/{lang}/campaigns/{campaign.slug}/"
    page.goto(campaign_url)
    assert page.locator("html").get_attribute("lang") == lang
    expect(page.locator("[data-count]").first).to_have_text(words["zero"])

    token = _sign_choosing_telegram(page, words["name"])
    assert page.locator("html").get_attribute("lang") == lang
    # No QR code on a phone: no one scans their own screen. Neither shown
    # nor fetched (a lazy image that is not displayed).
    expect(page.locator("figure.telegram-qr")).to_be_hidden()
    assert not [url for url in phone_page.requests if url.endswith("/qr.svg")]
    assert page.locator("script[src*='telegram']").count() == 0  # no Telegram script
    assert "telegram.org" not in page.content()
    assert axe_violations(page) == []
    signature = Signature.objects.get()
    assert signature.channel == Signature.Channel.TELEGRAM
    assert signature.status == Signature.Status.PENDING
    assert signature.email == ""
    assert telegram_api.sent_messages() == []

    # The person opens the link in Telegram and presses Start.
    _press_start(telegram_api, live_server, token, user_id=user_id, lang=lang)
    [answer] = telegram_api.wait_for_messages(1, chat_id=user_id)
    assert words["one"] in answer["text"]  # the count, in the signer's digits
    assert f"/campaigns/{campaign.slug}/" in answer["text"]
    assert "/withdraw" in answer["text"]
    if lang == "km":
        assert "Signatures so far" not in answer["text"]  # in Khmer, not English
    else:
        assert "Signatures so far: 1" in answer["text"]
    assert Signature.objects.get().status == Signature.Status.CONFIRMED

    page.goto(campaign_url)
    expect(page.locator("[data-count]").first).to_have_text(words["one"], timeout=20000)

    # /withdraw from the same Telegram account: the live count falls back.
    status = telegram_api.deliver(
        telegram_api.update_for_text("/withdraw", user_id=user_id, language_code=lang),
        url=f"{live_server.url}/telegram/webhook/",
        secret=django_settings.TELEGRAM_WEBHOOK_SECRET,
    )
    assert status == 200
    withdrawn = telegram_api.wait_for_messages(2, chat_id=user_id)[1]["text"]
    assert words["zero"] in withdrawn
    assert Signature.objects.get().status == Signature.Status.WITHDRAWN
    expect(page.locator("[data-count]").first).to_have_text(words["zero"], timeout=20000)

    assert phone_page.foreign_requests(live_server.url) == []


def test_the_same_telegram_account_pressing_start_on_a_second_link_counts_once(
    live_server: Any,
    campaign: Any,
    telegram_api: FakeTelegram,  # noqa: F811
    phone_page: Any,
) -> None:
    page = phone_page.page
    campaign_url = f"{live_server.url}/km/campaigns/{campaign.slug}/"
    page.goto(campaign_url)
    first = _sign_choosing_telegram(page, "សុខ ដារ៉ា")
    _press_start(telegram_api, live_server, first, user_id=5200, lang="km")
    telegram_api.wait_for_messages(1, chat_id=5200)
    page.goto(campaign_url)
    expect(page.locator("[data-count]").first).to_have_text("១", timeout=20000)

    # Signed again in the same browser (another name), Start pressed by the same account.
    second = _sign_choosing_telegram(page, "ដារ៉ា សុខ")
    assert second != first
    _press_start(telegram_api, live_server, second, user_id=5200, lang="km")
    answer = telegram_api.wait_for_messages(2, chat_id=5200)[1]["text"]
    assert "រួច" in answer and "១" in answer  # "already signed", the count still one
    assert figures_compute(campaign).total == 1

    statuses = sorted(Signature.objects.values_list("status", flat=True))
    assert statuses == sorted([Signature.Status.CONFIRMED, Signature.Status.PENDING])
    page.goto(campaign_url)
    expect(page.locator("[data-count]").first).to_have_text("១")
    assert phone_page.foreign_requests(live_server.url) == []


@pytest.mark.parametrize("lang", ["km", "en"])
def test_the_links_in_the_bots_answer_open_pages_in_the_signers_language(
    live_server: Any,
    campaign: Any,
    telegram_api: FakeTelegram,  # noqa: F811
    phone_page: Any,
    lang: str,
) -> None:
    page = phone_page.page
    page.goto(f"{live_server.url}/{lang}/campaigns/{campaign.slug}/")
    token = _sign_choosing_telegram(page, JOURNEYS[lang]["name"])
    # A Telegram app in the other language: the signer's own language wins.
    other = "en" if lang == "km" else "km"
    _press_start(telegram_api, live_server, token, user_id=5300, lang=other)
    [answer] = telegram_api.wait_for_messages(1, chat_id=5300)
    links = LINK.findall(answer["text"])
    assert links and all(link.startswith(live_server.url) for link in links), links
    for link in links:
        assert f"/{lang}/" in link, link
        page.goto(link)
        assert page.locator("html").get_attribute("lang") == lang, link
    assert phone_page.foreign_requests(live_server.url) == []
