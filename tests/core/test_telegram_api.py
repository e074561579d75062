"""core.telegram_api: one TLS context per process, shared by every Bot, and
one that checks Telegram's certificate."""

import ssl
from typing import Any

import pytest

from core import telegram_api
from tests.telegram_fake import running_fake


def test_bots_for_two_api_addresses_share_one_tls_context_that_verifies(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[ssl.SSLContext] = []
    create = ssl.create_default_context

    def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        made.append(create(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(telegram_api, "_loop", telegram_api._Loop())
    monkeypatch.setattr(ssl, "create_default_context", counted)  # as httpx makes them
    sent = []
    for number in range(2):
        with running_fake(f"12345:token-{number}", "sitthi_bot") as fake:
            settings.TELEGRAM_BOT_TOKEN = fake.token
            settings.TELEGRAM_API_URL = fake.url
            telegram_api.message_send(chat_id="5550001", text="សួស្តី")
            sent += [message["text"] for message in fake.sent_messages()]
    assert sent == ["សួស្តី", "សួស្តី"]  # each through its own Bot
    assert len(telegram_api._loop.bots) == 2
    assert len(made) == 1
    assert made[0].verify_mode == ssl.CERT_REQUIRED
    assert made[0].check_hostname
