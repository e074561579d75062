"""Signing and confirming through Telegram: the form, the page with the
link, the webhook and the bot's answers, against a fake Bot API server."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
import segno
from django.db import connection
from django.test import Client
from django.test.signals import template_rendered
from django.utils import timezone

from core import countlog
from outbox.models import Message
from outbox.services import messages_send_due
from signatures import shared_pages, telegram
from signatures.models import Signature, TelegramUpdate
from signatures.tallies import figures_compute
from tests.factories import make_campaign
from tests.signatures.conftest import sign
from tests.telegram_fake import TEST_WEBHOOK_SECRET, FakeTelegram, telegram_api  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

WEBHOOK = "/telegram/webhook/"


def post_update(update: Any, secret: str | None = TEST_WEBHOOK_SECRET, raw: bytes = b"") -> Any:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    body = raw or json.dumps(update).encode()
    return Client().post(WEBHOOK, body, content_type="application/json", headers=headers)


def sign_by_telegram(campaign: Any, lang: str = "km", **fields: Any) -> tuple[Any, str]:
    response = sign(
        Client(), campaign, lang=lang, **{"confirm_by": "telegram", "email": ""} | fields
    )
    assert response.status_code == 302, response.content
    token = response["Location"].rstrip("/").rsplit("/", 1)[1]
    return response, token


def count(campaign: Any) -> int:
    return figures_compute(campaign).total


def test_without_a_bot_the_form_offers_e_mail_only() -> None:
    campaign = make_campaign()
    page = Client().get(f"/en/campaigns/{campaign.slug}/").content.decode()
    assert 'name="confirm_by"' not in page
    assert "Telegram: open our bot" not in page
    response = sign(Client(), campaign, lang="en", email="")
    assert response.status_code == 400  # the address is required again
    assert Client().post(WEBHOOK, b"{}", content_type="application/json").status_code == 404


def test_signing_with_telegram_needs_no_address_and_shows_a_plain_link(
    telegram_api: FakeTelegram,  # noqa: F811
) -> None:
    campaign = make_campaign()
    page = Client().get(f"/km/campaigns/{campaign.slug}/").content.decode()
    assert 'name="confirm_by"' in page
    response, token = sign_by_telegram(campaign, email="someone@example.org")
    signature = Signature.objects.get()
    assert signature.channel == Signature.Channel.TELEGRAM
    assert signature.status == Signature.Status.PENDING
    assert signature.email == ""  # not needed, not kept
    assert signature.telegram_token == token
    assert Message.objects.count() == 0  # no mail
    start = Client().get(response["Location"]).content.decode()
    assert f"https://t.me/sitthi_test_bot?start={token}" in start
    # The QR code: our own image, loaded only where it is shown (telegram_qr).
    assert (
        f'<img src="/km/campaigns/{campaign.slug}/telegram/{token}/qr.svg" loading="lazy"' in start
    )
    assert "<svg" not in start
    assert "telegram.org/js" not in start  # never Telegram's login script


def test_start_pages_share_one_rendering_and_each_shows_its_own_token(
    telegram_api: FakeTelegram,  # noqa: F811
) -> None:
    campaign = make_campaign()
    rendered: list[str] = []

    def note(sender: Any, template: Any, **kwargs: Any) -> None:
        if template.name == "signatures/telegram_start.html":
            rendered.append(template.name)

    template_rendered.connect(note)
    try:
        starts = [sign_by_telegram(campaign, full_name=name) for name in ("Sok Dara", "Chan Vanna")]
        pages = [Client().get(response["Location"]) for response, _ in starts]
    finally:
        template_rendered.disconnect(note)
    assert rendered == ["signatures/telegram_start.html"]
    for page, (_, token) in zip(pages, starts, strict=True):
        html = page.content.decode()
        assert f'href="https://t.me/sitthi_test_bot?start={token}"' in html
        assert f"/telegram/{token}/qr.svg" in html
        assert shared_pages.START_TOKEN not in html and shared_pages.NONCE not in html
        assert "no-store" in page["Cache-Control"]
    assert starts[0][1] != starts[1][1]


def test_the_qr_code_is_the_start_link_drawn_here_with_a_khmer_title(
    telegram_api: FakeTelegram,  # noqa: F811
) -> None:
    campaign = make_campaign()
    response, token = sign_by_telegram(campaign)
    qr = Client().get(f"{response['Location']}qr.svg")
    assert qr.status_code == 200
    assert qr["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert "no-store" in qr["Cache-Control"]  # it carries the token
    drawn = io.BytesIO()
    segno.make(f"https://t.me/sitthi_test_bot?start={token}", error="m").save(
        drawn, kind="svg", scale=5, border=2, omitsize=True, xmldecl=False
    )
    path = re.search(r' d="([^"]+)"', drawn.getvalue().decode())
    assert path and f' d="{path.group(1)}"' in qr.content.decode()  # the same modules
    assert "<title>កូដ QR នៃតំណសម្រាប់បញ្ជាក់តាមតេឡេក្រាម</title>" in qr.content.decode()
    assert "<script" not in qr.content.decode()


def test_the_qr_code_is_refused_where_its_page_is(
    telegram_api: FakeTelegram,  # noqa: F811
    settings: Any,
) -> None:
    campaign = make_campaign()
    _, token = sign_by_telegram(campaign)
    path = f"/en/campaigns/{campaign.slug}/telegram/{token}/qr.svg"
    assert Client().post(path).status_code == 405
    assert Client().get(path.replace(token, "short")).status_code == 404
    assert Client().get(path.replace(token, token + "!")).status_code == 404
    assert Client().get(path.replace(campaign.slug, "no-such-campaign")).status_code == 404
    settings.TELEGRAM_BOT_TOKEN = ""
    assert Client().get(path).status_code == 404


@pytest.mark.parametrize(("lang", "said"), [("en", "The link works for 3 days."), ("km", "៣ ថ្ងៃ")])
def test_the_telegram_page_says_how_long_the_link_works_as_the_bot_reads_it(
    telegram_api: FakeTelegram,  # noqa: F811
    settings: Any,
    lang: str,
    said: str,
) -> None:
    settings.SIGNATURE_CONFIRM_MAX_AGE_DAYS = 3  # what signatures.telegram reads too
    response, _token = sign_by_telegram(make_campaign(), lang=lang)
    assert said in Client().get(response["Location"]).content.decode()


def test_e_mail_is_still_required_when_confirming_by_e_mail(
    telegram_api: FakeTelegram,  # noqa: F811
) -> None:
    campaign = make_campaign()
    response = sign(Client(), campaign, lang="en", confirm_by="email", email="")
    assert response.status_code == 400
    assert "Please enter your e-mail address." in response.content.decode()
    assert not Signature.objects.exists()


def test_pressing_start_confirms_and_the_bot_answers_in_the_signers_language(
    telegram_api: FakeTelegram,  # noqa: F811
) -> None:
    campaign = make_campaign()
    _response, token = sign_by_telegram(campaign, lang="km")
    assert (
        post_update(
            telegram_api.update_for_start(token, user_id=4242, language_code="en")
        ).status_code
        == 200
    )
    signature = Signature.objects.get()
    assert signature.status == Signature.Status.CONFIRMED
    assert count(campaign) == 1
    [answer] = telegram_api.wait_for_messages(1, chat_id=4242)
    assert "១" in answer["text"]  # the count, in Khmer as the signer signed
    assert "/withdraw" in answer["text"]
    assert f"/km/campaigns/{campaign.slug}/" in answer["text"]
    assert countlog.receipt_display(Signature.objects.get().receipt) in answer["text"]
    # Kept: a keyed hash of the user and the chat, encrypted.
    assert signature.telegram_hash == telegram.user_hash(4242)
    assert signature.telegram_chat == "4242"
    with connection.cursor() as cursor:
        cursor.execute("SELECT telegram_chat FROM signatures_signature")
        [(stored,)] = cursor.fetchall()
    assert "4242" not in stored
    assert TelegramUpdate.objects.get().payload == ""  # the update's content is gone


def test_the_same_telegram_user_counts_once(telegram_api: FakeTelegram) -> None:  # noqa: F811
    campaign = make_campaign()
    _first, first_token = sign_by_telegram(campaign, full_name="Sok Dara")
    _second, second_token = sign_by_telegram(campaign, full_name="Dara Sok")
    post_update(telegram_api.update_for_start(first_token, user_id=7))
    post_update(telegram_api.update_for_start(second_token, user_id=7))
    assert count(campaign) == 1
    answers = telegram_api.wait_for_messages(2, chat_id=7)
    assert "already" in answers[1]["text"] or "រួច" in answers[1]["text"]
    # Pressing Start on the first link again counts nothing either.
    post_update(telegram_api.update_for_start(first_token, user_id=7))
    telegram_api.wait_for_messages(3, chat_id=7)
    assert count(campaign) == 1


def test_another_campaign_counts_the_same_user_again(telegram_api: FakeTelegram) -> None:  # noqa: F811
    first, second = make_campaign(), make_campaign(slug="second")
    _a, first_token = sign_by_telegram(first)
    _b, second_token = sign_by_telegram(second)
    post_update(telegram_api.update_for_start(first_token, user_id=8))
    post_update(telegram_api.update_for_start(second_token, user_id=8))
    assert count(first) == count(second) == 1


def test_a_replayed_update_does_nothing(telegram_api: FakeTelegram) -> None:  # noqa: F811
    campaign = make_campaign()
    _response, token = sign_by_telegram(campaign)
    update = telegram_api.update_for_start(token, user_id=9)
    assert post_update(update).status_code == 200
    assert post_update(update).status_code == 200
    telegram_api.wait_for_messages(1, chat_id=9)
    assert count(campaign) == 1
    assert Message.objects.filter(channel=Message.Channel.TELEGRAM).count() == 1
    assert len(telegram_api.sent_messages(chat_id=9)) == 1


@pytest.mark.parametrize("secret", [None, "", "wrong-secret"])
def test_an_update_without_the_secret_is_refused(
    telegram_api: FakeTelegram,  # noqa: F811
    secret: str | None,
) -> None:
    campaign = make_campaign()
    _response, token = sign_by_telegram(campaign)
    response = post_update(telegram_api.update_for_start(token, user_id=10), secret=secret)
    assert response.status_code == 403
    assert not TelegramUpdate.objects.exists()
    assert count(campaign) == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        b'{"message": {}}',
        b'{"update_id": "1"}',
        b'{"update_id": true}',
        b'{"update_id": 1e400}',
        b"\xff\xfe",
        b'{"update_id": 99999999999999999999999}',
    ],
)
def test_bad_input_is_400_never_500(telegram_api: FakeTelegram, raw: bytes) -> None:  # noqa: F811
    assert post_update(None, raw=raw).status_code == 400
    assert not TelegramUpdate.objects.exists()


def test_an_update_that_is_not_a_message_is_accepted_and_ignored(
    telegram_api: FakeTelegram,  # noqa: F811
) -> None:
    assert post_update({"update_id": 5, "edited_message": {"bogus": 1}}).status_code == 200
    assert post_update({"update_id": 6, "message": {"text": "no chat"}}).status_code == 200
    assert TelegramUpdate.objects.filter(handled_at__isnull=False).count() == 2
    assert telegram_api.sent_messages() == []


def test_withdraw_by_command_erases_the_telegram_data(telegram_api: FakeTelegram) -> None:  # noqa: F811
    campaign = make_campaign()
    _response, token = sign_by_telegram(campaign)
    post_update(telegram_api.update_for_start(token, user_id=11))
    assert count(campaign) == 1
    post_update(telegram_api.update_for_text("/withdraw", user_id=11))
    signature = Signature.objects.get()
    assert signature.status == Signature.Status.WITHDRAWN
    assert signature.telegram_hash is None and signature.telegram_chat == ""
    assert count(campaign) == 0
    answers = telegram_api.wait_for_messages(2, chat_id=11)
    assert "០" in answers[1]["text"]
    # Nothing left to withdraw.
    post_update(telegram_api.update_for_text("/withdraw", user_id=11))
    telegram_api.wait_for_messages(3, chat_id=11)


def test_withdraw_asks_which_when_several_were_signed(telegram_api: FakeTelegram) -> None:  # noqa: F811
    first, second = make_campaign(), make_campaign(slug="second")
    for campaign in (first, second):
        _response, token = sign_by_telegram(campaign)
        post_update(telegram_api.update_for_start(token, user_id=12))
    post_update(telegram_api.update_for_text("/withdraw", user_id=12))
    assert count(first) == count(second) == 1
    which = telegram_api.wait_for_messages(3, chat_id=12)[2]["text"]
    assert "/withdraw second" in which and f"/withdraw {first.slug}" in which
    post_update(telegram_api.update_for_text("/withdraw second", user_id=12))
    assert count(first) == 1 and count(second) == 0


def test_stop_ends_the_news(telegram_api: FakeTelegram) -> None:  # noqa: F811
    campaign = make_campaign()
    _response, token = sign_by_telegram(campaign, wants_updates="on")
    post_update(telegram_api.update_for_start(token, user_id=13))
    assert Signature.objects.get().wants_updates
    post_update(telegram_api.update_for_text("/stop", user_id=13))
    assert not Signature.objects.get().wants_updates


def test_an_expired_link_counts_nothing(telegram_api: FakeTelegram, settings: Any) -> None:  # noqa: F811
    campaign = make_campaign()
    _response, token = sign_by_telegram(campaign)
    settings.SIGNATURE_CONFIRM_MAX_AGE_DAYS = 0
    post_update(telegram_api.update_for_start(token, user_id=14))
    assert count(campaign) == 0
    telegram_api.wait_for_messages(1, chat_id=14)


def test_an_unknown_token_is_answered_and_counts_nothing(telegram_api: FakeTelegram) -> None:  # noqa: F811
    post_update(telegram_api.update_for_start("x" * 22, user_id=15))
    assert telegram_api.wait_for_messages(1, chat_id=15)
    assert not Signature.objects.exists()


def test_a_failed_send_is_retried_and_sent_once(telegram_api: FakeTelegram) -> None:  # noqa: F811
    campaign = make_campaign()
    _response, token = sign_by_telegram(campaign)
    telegram_api.fail_next("sendMessage", status=502)
    post_update(telegram_api.update_for_start(token, user_id=16))
    message = Message.objects.get(channel=Message.Channel.TELEGRAM)
    assert message.status == Message.Status.PENDING and message.attempts == 1
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())  # backoff over
    assert messages_send_due() == 1
    assert messages_send_due() == 0  # sent: nothing is due any more
    assert len(telegram_api.sent_messages(chat_id=16)) == 1


def test_a_lost_update_is_handled_by_the_sweep_and_old_ids_are_forgotten(
    telegram_api: FakeTelegram,  # noqa: F811
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    campaign = make_campaign()
    _response, token = sign_by_telegram(campaign)
    update = telegram_api.update_for_start(token, user_id=17)
    # Stored, but its task never ran (the broker was down).
    TelegramUpdate.objects.create(
        update_id=update["update_id"],
        payload=json.dumps(update),
        received_at=timezone.now() - timedelta(minutes=5),
    )
    TelegramUpdate.objects.create(update_id=1, handled_at=timezone.now() - timedelta(days=8))
    assert telegram.updates_handle_due() == 1
    assert count(campaign) == 1
    assert not TelegramUpdate.objects.filter(update_id=1).exists()


def test_a_person_who_blocked_the_bot_is_not_retried(telegram_api: FakeTelegram) -> None:  # noqa: F811
    campaign = make_campaign()
    _response, token = sign_by_telegram(campaign)
    telegram_api.block(18)
    post_update(telegram_api.update_for_start(token, user_id=18))
    assert count(campaign) == 1  # confirmed all the same
    message = Message.objects.get(channel=Message.Channel.TELEGRAM)
    assert message.status == Message.Status.FAILED and message.attempts == 1
    assert "18" not in message.last_error


def test_the_webhook_command_tells_telegram_the_address_and_the_secret(
    telegram_api: FakeTelegram,  # noqa: F811
    settings: Any,
) -> None:
    from io import StringIO

    from django.core.management import call_command

    settings.SITE_URL = "https://sitthi.example.org"
    out = StringIO()
    call_command("telegram_set_webhook", stdout=out)
    assert telegram_api.webhook is not None
    assert telegram_api.webhook["url"] == "https://sitthi.example.org/telegram/webhook/"
    assert telegram_api.webhook["secret_token"] == TEST_WEBHOOK_SECRET
    assert telegram_api.webhook["allowed_updates"] == ["message"]
    assert "Webhook set" in out.getvalue()


def test_the_webhook_command_refuses_without_a_bot() -> None:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("telegram_set_webhook")


@pytest.mark.parametrize(("closed_hours_ago", "counted"), [(2, 1), (30, 0)])
def test_start_after_closing_counts_within_the_grace_only(
    telegram_api: FakeTelegram,  # noqa: F811
    closed_hours_ago: int,
    counted: int,
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from campaigns.models import Campaign

    campaign = make_campaign()
    _response, token = sign_by_telegram(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(
        closes_at=timezone.now() - timedelta(hours=closed_hours_ago)
    )
    Signature.objects.update(created_at=timezone.now() - timedelta(hours=closed_hours_ago + 1))
    post_update(telegram_api.update_for_start(token, user_id=20))
    assert count(campaign) == counted
    telegram_api.wait_for_messages(1, chat_id=20)


def test_a_telegram_signature_over_the_rate_limit_is_held_not_counted(
    telegram_api: FakeTelegram,  # noqa: F811
    settings: Any,
) -> None:
    from signatures.models import SigningSettings

    SigningSettings.objects.update_or_create(pk=1, defaults={"rate_burst": "1/m"})
    campaign = make_campaign()
    _first, first_token = sign_by_telegram(campaign, full_name="Sok Dara")
    _second, second_token = sign_by_telegram(campaign, full_name="Chan Thida")
    held = Signature.objects.get(telegram_token=second_token)
    assert held.status == Signature.Status.SUSPECT  # the same IP twice in a minute
    post_update(telegram_api.update_for_start(first_token, user_id=21))
    post_update(telegram_api.update_for_start(second_token, user_id=22))
    assert count(campaign) == 1
    [answer] = telegram_api.wait_for_messages(1, chat_id=22)
    held.refresh_from_db()
    assert held.status == Signature.Status.SUSPECT and held.confirmed_at is not None
    assert "/withdraw" in answer["text"]
