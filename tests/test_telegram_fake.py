"""The fake Telegram Bot API (tests/telegram_fake.py), driven by the real
python-telegram-bot client the app uses, so a test of the app that passes
against the fake passes for reasons Telegram would agree with."""

import asyncio
import concurrent.futures
import json
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
import telegram
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.request import HTTPXRequest

from tests.telegram_fake import (
    TEST_TOKEN,
    TEST_USERNAME,
    TEST_WEBHOOK_SECRET,
    FakeTelegram,
    running_fake,
)
from tests.telegram_fake import telegram_api as telegram_api  # the fixture, for this module

KHMER = "សូមអរគុណ"  # "thank you"
PERSON = 5_550_001


def run(fake: FakeTelegram, action: Any, token: str = TEST_TOKEN, **bot_options: Any) -> Any:
    """`action(bot)` inside `async with Bot(...)` (entering calls getMe), on
    a loop in a thread of its own: a browser test earlier in this process
    leaves Playwright's loop running in this thread, where asyncio.run()
    is refused."""

    async def main() -> Any:
        async with telegram.Bot(token, base_url=fake.base_url, **bot_options) as bot:
            return await action(bot)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


def test_settings_point_at_the_fake(telegram_api: FakeTelegram, settings: Any) -> None:
    assert telegram_api.url == settings.TELEGRAM_API_URL
    assert telegram_api.url.startswith("http://127.0.0.1:")
    assert settings.TELEGRAM_BOT_TOKEN == TEST_TOKEN
    assert settings.TELEGRAM_BOT_USERNAME == TEST_USERNAME
    assert settings.TELEGRAM_WEBHOOK_SECRET == TEST_WEBHOOK_SECRET


def test_get_me_names_the_bot(telegram_api: FakeTelegram) -> None:
    async def me(bot: telegram.Bot) -> telegram.User:
        return await bot.get_me()

    user = run(telegram_api, me)

    assert user.username == TEST_USERNAME
    assert user.is_bot
    assert user.id == 123456
    # `async with Bot` asked once, the test once more.
    assert [call.method for call in telegram_api.calls] == ["getMe", "getMe"]


def test_send_message_is_kept_and_answered_with_a_message(telegram_api: FakeTelegram) -> None:
    keyboard = telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton("ចុះហត្ថលេខា", url="https://sitthi.example/s/abc")]]
    )

    async def send(bot: telegram.Bot) -> telegram.Message:
        return await bot.send_message(
            PERSON,
            f"<b>{KHMER}</b> &amp; welcome",
            parse_mode="HTML",
            reply_markup=keyboard,
            link_preview_options=telegram.LinkPreviewOptions(is_disabled=True),
        )

    message = run(telegram_api, send)

    assert message.text == f"{KHMER} & welcome"  # Telegram returns the text without its tags
    assert message.chat.id == PERSON
    assert message.from_user is not None and message.from_user.username == TEST_USERNAME
    [sent] = telegram_api.sent_messages(PERSON)
    # PTB sends a form; the fake decodes the JSON-encoded values in it.
    assert sent["chat_id"] == PERSON
    assert sent["text"] == f"<b>{KHMER}</b> &amp; welcome"
    assert sent["parse_mode"] == "HTML"
    assert sent["reply_markup"] == {
        "inline_keyboard": [[{"text": "ចុះហត្ថលេខា", "url": "https://sitthi.example/s/abc"}]]
    }
    assert sent["link_preview_options"] == {"is_disabled": True}
    assert sent["message_id"] == message.message_id
    assert telegram_api.sent_messages(chat_id=PERSON + 1) == []


def test_plain_khmer_text_round_trips_and_ids_increase(telegram_api: FakeTelegram) -> None:
    async def send_twice(bot: telegram.Bot) -> list[telegram.Message]:
        return [await bot.send_message(PERSON, KHMER), await bot.send_message(PERSON, "123")]

    first, second = run(telegram_api, send_twice)

    assert first.text == KHMER
    assert second.text == "123"  # a text field stays a string
    assert second.message_id == first.message_id + 1
    assert [m["text"] for m in telegram_api.wait_for_messages(2, chat_id=PERSON)] == [KHMER, "123"]


def test_html_telegram_would_refuse_is_refused(telegram_api: FakeTelegram) -> None:
    async def send(bot: telegram.Bot) -> telegram.Message:
        return await bot.send_message(PERSON, "Sign <here>", parse_mode="HTML")

    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        run(telegram_api, send)
    assert telegram_api.sent_messages() == []


def test_json_bodies_and_any_spelling_of_the_method(telegram_api: FakeTelegram) -> None:
    # Telegram takes JSON as well as forms, and method names in any case.
    request = urllib.request.Request(  # noqa: S310 - the fake's http URL
        f"{telegram_api.base_url}{TEST_TOKEN}/SENDMESSAGE",
        data=json.dumps({"chat_id": PERSON, "text": KHMER}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        answer = json.load(response)

    assert answer["ok"] is True
    assert answer["result"]["text"] == KHMER
    assert telegram_api.calls[-1].method == "sendMessage"
    assert telegram_api.sent_messages(PERSON)[0]["text"] == KHMER


def test_set_webhook_is_kept_and_reported(telegram_api: FakeTelegram) -> None:
    async def set_and_read(bot: telegram.Bot) -> telegram.WebhookInfo:
        assert await bot.set_webhook(
            "https://sitthi.example/telegram/webhook",
            secret_token=TEST_WEBHOOK_SECRET,
            allowed_updates=["message"],
        )
        return await bot.get_webhook_info()

    info = run(telegram_api, set_and_read)

    assert telegram_api.webhook is not None
    assert telegram_api.webhook["url"] == "https://sitthi.example/telegram/webhook"
    assert telegram_api.webhook["secret_token"] == TEST_WEBHOOK_SECRET
    assert telegram_api.webhook["allowed_updates"] == ["message"]
    assert info.url == "https://sitthi.example/telegram/webhook"
    assert info.has_custom_certificate is False
    assert info.pending_update_count == 0

    async def delete(bot: telegram.Bot) -> bool:
        return await bot.delete_webhook()

    assert run(telegram_api, delete) is True
    assert telegram_api.webhook is None


def test_a_secret_telegram_would_refuse_is_refused(telegram_api: FakeTelegram) -> None:
    async def set_webhook(bot: telegram.Bot) -> bool:
        return await bot.set_webhook("https://sitthi.example/hook", secret_token="no spaces!")

    with pytest.raises(BadRequest, match="(?i)secret token"):
        run(telegram_api, set_webhook)
    assert telegram_api.webhook is None


def test_a_wrong_token_is_unauthorized(telegram_api: FakeTelegram) -> None:
    async def nothing(bot: telegram.Bot) -> None:
        return None

    # A 401 on the getMe of `async with Bot` becomes InvalidToken.
    with pytest.raises(InvalidToken):
        run(telegram_api, nothing, token="999:WRONG")
    assert telegram_api.calls == []  # only the bot's own requests are kept


def test_an_unknown_method_is_not_found(telegram_api: FakeTelegram) -> None:
    async def unknown(bot: telegram.Bot) -> Any:
        return await bot.do_api_request("sendTelepathy", {"chat_id": PERSON})

    with pytest.raises(EndPointNotFound):
        run(telegram_api, unknown)


def test_fail_next_fails_once_then_works(telegram_api: FakeTelegram) -> None:
    telegram_api.fail_next("sendMessage", status=500)

    async def send(bot: telegram.Bot) -> telegram.Message:
        return await bot.send_message(PERSON, KHMER)

    with pytest.raises(NetworkError, match="Internal Server Error"):
        run(telegram_api, send)
    assert telegram_api.sent_messages() == []
    assert run(telegram_api, send).text == KHMER
    assert len(telegram_api.sent_messages()) == 1
    assert len(telegram_api.calls_of("sendMessage")) == 2  # the failed one was asked too


def test_fail_next_with_429_is_retry_after(telegram_api: FakeTelegram) -> None:
    telegram_api.fail_next("sendMessage", status=429)

    async def send(bot: telegram.Bot) -> telegram.Message:
        return await bot.send_message(PERSON, KHMER)

    # PTB 22 warns that retry_after becomes a timedelta (PTB_TIMEDELTA=true opts in).
    with pytest.warns(telegram.warnings.PTBDeprecationWarning), pytest.raises(RetryAfter):
        run(telegram_api, send)
    assert run(telegram_api, send).text == KHMER


def test_a_blocked_person_is_forbidden(telegram_api: FakeTelegram) -> None:
    telegram_api.block(PERSON)

    async def send(bot: telegram.Bot) -> telegram.Message:
        return await bot.send_message(PERSON, KHMER)

    with pytest.raises(Forbidden, match="blocked"):
        run(telegram_api, send)


def test_hang_next_stalls_the_answer(telegram_api: FakeTelegram) -> None:
    telegram_api.hang_next("sendMessage", 3)

    async def send(bot: telegram.Bot) -> telegram.Message:
        return await bot.send_message(PERSON, KHMER, read_timeout=0.3)

    with pytest.raises(TimedOut):
        run(telegram_api, send, request=HTTPXRequest())
    # Telegram had the request: the message went, only the answer was late.
    assert telegram_api.wait_for_calls("sendMessage")[0].params["text"] == KHMER
    assert len(telegram_api.sent_messages(PERSON)) == 1


def test_lose_next_sends_nothing_and_stalls(telegram_api: FakeTelegram) -> None:
    telegram_api.lose_next("sendMessage", 3)

    async def send(bot: telegram.Bot) -> telegram.Message:
        return await bot.send_message(PERSON, KHMER, read_timeout=0.3)

    with pytest.raises(TimedOut):
        run(telegram_api, send, request=HTTPXRequest())
    # Asked, but lost on the way: nothing reached the chat.
    assert telegram_api.wait_for_calls("sendMessage")[0].params["text"] == KHMER
    assert telegram_api.sent_messages(PERSON) == []
    assert run(telegram_api, send).text == KHMER  # the next one goes


def test_wait_for_messages_says_what_arrived(telegram_api: FakeTelegram) -> None:
    with pytest.raises(AssertionError, match="0 arrived"):
        telegram_api.wait_for_messages(1, chat_id=PERSON, timeout=0.1)


def test_reset_forgets(telegram_api: FakeTelegram) -> None:
    async def send(bot: telegram.Bot) -> telegram.Message:
        return await bot.send_message(PERSON, KHMER)

    run(telegram_api, send)
    telegram_api.fail_next("getMe")
    telegram_api.reset()

    assert telegram_api.calls == [] and telegram_api.sent_messages() == []
    assert run(telegram_api, send).text == KHMER  # the planned failure is gone


class _Receiver:
    """A webhook endpoint: a stdlib server that keeps what it receives."""

    def __init__(self, status: int) -> None:
        self.requests: list[tuple[dict[str, str], Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), json.loads(body)))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/telegram/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    endpoint = _Receiver(status=200)
    yield endpoint
    endpoint.server.shutdown()
    endpoint.server.server_close()


def test_deliver_posts_to_the_webhook_with_its_secret(
    telegram_api: FakeTelegram, receiver: _Receiver
) -> None:
    async def set_webhook(bot: telegram.Bot) -> bool:
        return await bot.set_webhook(receiver.url, secret_token=TEST_WEBHOOK_SECRET)

    run(telegram_api, set_webhook)
    update = telegram_api.update_for_start("tok-123", user_id=PERSON)

    assert telegram_api.deliver(update) == 200

    [(headers, body)] = receiver.requests
    assert body == update
    assert headers["X-Telegram-Bot-Api-Secret-Token"] == TEST_WEBHOOK_SECRET
    assert headers["Content-Type"] == "application/json"


def test_deliver_to_an_explicit_url_and_secret(receiver: _Receiver) -> None:
    with running_fake() as fake:
        update = fake.update_for_text("/withdraw", user_id=PERSON)
        assert fake.deliver(update, url=receiver.url) == 200  # no webhook, so no secret
        assert fake.deliver(update, url=receiver.url, secret="other") == 200

    (first_headers, _), (second_headers, _) = receiver.requests
    assert "X-Telegram-Bot-Api-Secret-Token" not in first_headers
    assert second_headers["X-Telegram-Bot-Api-Secret-Token"] == "other"


def test_deliver_returns_the_error_status() -> None:
    endpoint = _Receiver(status=403)
    try:
        with running_fake() as fake:
            assert fake.deliver(fake.update_for_text("hi", user_id=1), url=endpoint.url) == 403
    finally:
        endpoint.server.shutdown()
        endpoint.server.server_close()


def test_update_for_start_is_a_telegram_update(telegram_api: FakeTelegram) -> None:
    first = telegram_api.update_for_start("tok-123", user_id=PERSON)
    update = telegram.Update.de_json(first, bot=None)

    assert update.message is not None
    assert update.message.text == "/start tok-123"
    assert update.effective_user is not None and update.effective_user.id == PERSON
    assert update.effective_user.language_code == "km"
    assert update.effective_chat is not None and update.effective_chat.type == "private"
    assert update.effective_chat.id == PERSON
    assert update.message.parse_entities([telegram.MessageEntity.BOT_COMMAND]) == {
        update.message.entities[0]: "/start"
    }
    second = telegram_api.update_for_start("tok-456", user_id=PERSON, chat_id=42, update_id=7)
    assert second["update_id"] == 7 and second["message"]["chat"]["id"] == 42
    assert (
        telegram_api.update_for_text(KHMER, user_id=PERSON)["update_id"] == first["update_id"] + 1
    )


def test_commands_get_an_entity_of_their_length(telegram_api: FakeTelegram) -> None:
    withdraw = telegram_api.update_for_text("/withdraw", user_id=PERSON)["message"]
    plain = telegram_api.update_for_text(KHMER, user_id=PERSON)["message"]

    assert withdraw["entities"] == [{"type": "bot_command", "offset": 0, "length": 9}]
    assert "entities" not in plain
