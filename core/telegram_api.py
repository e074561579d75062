"""The Telegram Bot API, through python-telegram-bot, for the rest of the
app's synchronous code (web requests, Celery tasks).

Why python-telegram-bot: maintained (22.x, 2026), typed objects for every
update and method, its own handling of Telegram's errors (RetryAfter,
Forbidden when a user blocked the bot), and a configurable API address, so
tests talk to a local fake and nothing here writes HTTP by hand. It is
asyncio-first; every call here runs on one event loop per process (`_Loop`).

The library is imported by the functions that call it, as WeasyPrint is in
`core.pdf`: every web and worker process imports this module at start, and
python-telegram-bot with httpx cost each about 0.15 s of CPU (measured with
-X importtime), though most never talk to Telegram. Its errors leave this
module as `Refused` or `Unavailable`, so no caller imports it either.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings

if TYPE_CHECKING:
    from telegram import Bot, Update
    from telegram.request import HTTPXRequest

T = TypeVar("T")
TIMEOUT_SECONDS = 10.0
ALLOWED_UPDATES = ["message"]


class NotDone(Exception):
    """A call Telegram did not carry out; the message names the library's
    error ("Forbidden: bot was blocked by the user")."""


class Refused(NotDone):
    """Telegram will not deliver this message: the person blocked the bot,
    or the chat or the text is refused. Sending it again changes nothing."""


class Unavailable(NotDone):
    """Telegram did not take the message now (a timeout, a server error,
    flood control): it may be sent again later."""


def enabled() -> bool:
    """Confirming by Telegram is offered only with a configured bot."""
    return bool(settings.TELEGRAM_BOT_TOKEN)


def start_link(token: str) -> str:
    """The deep link that opens our bot with Start and this token."""
    return f"https://t.me/{settings.TELEGRAM_BOT_USERNAME}?start={token}"


class _Loop:
    """One event loop per process, in a thread of its own, for every call.

    The callers are synchronous and may already be inside a running loop
    (Playwright in tests, an ASGI server), where asyncio.run() is refused;
    and a loop of our own keeps one Bot and its HTTP connections open from
    one message to the next, instead of a new connection for each. Made on
    first use in each process (a Celery worker forks after start-up).

    The Bots share one TLS context: building one reads the whole CA bundle,
    about 20 ms of CPU (measured), and a Bot is made anew for every token
    and API address the process meets."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.bots: dict[tuple[str, str], Bot] = {}
        self.tls: ssl.SSLContext | None = None

    def running(self) -> asyncio.AbstractEventLoop:
        with self.lock:
            if self.loop is None or self.pid != os.getpid():
                self.loop = asyncio.new_event_loop()
                self.pid = os.getpid()
                self.bots = {}
                threading.Thread(
                    target=self.loop.run_forever, name="telegram-api", daemon=True
                ).start()
            return self.loop

    def _request(self, *, pool_size: int) -> HTTPXRequest:
        from telegram.request import HTTPXRequest

        return HTTPXRequest(
            connect_timeout=TIMEOUT_SECONDS,
            read_timeout=TIMEOUT_SECONDS,
            write_timeout=TIMEOUT_SECONDS,
            pool_timeout=TIMEOUT_SECONDS,
            connection_pool_size=pool_size,
            httpx_kwargs={"verify": self.tls},
        )

    def bot(self) -> Bot:
        import httpx
        from telegram import Bot

        key = (settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_API_URL)
        with self.lock:
            if key not in self.bots:
                self.tls = self.tls or httpx.create_ssl_context()
                self.bots[key] = Bot(
                    key[0],
                    base_url=f"{key[1]}/bot",
                    request=self._request(pool_size=8),
                    # Never used (updates come by webhook), but a Bot makes
                    # one of its own when not given it, with a TLS context
                    # of its own.
                    get_updates_request=self._request(pool_size=1),
                )
            return self.bots[key]


_loop = _Loop()


def _call(method: Callable[[Bot], Awaitable[T]]) -> T:
    loop = _loop.running()
    bot = _loop.bot()

    async def run() -> T:
        return await method(bot)

    future = asyncio.run_coroutine_threadsafe(run(), loop)
    return future.result(timeout=3 * TIMEOUT_SECONDS)


@contextmanager
def _errors_translated() -> Iterator[None]:
    from telegram.error import BadRequest, Forbidden, TelegramError

    try:
        yield
    except (BadRequest, Forbidden) as error:
        raise Refused(f"{type(error).__name__}: {error}") from error
    except TelegramError as error:  # timeouts, 5xx, RetryAfter
        raise Unavailable(f"{type(error).__name__}: {error}") from error


def message_send(*, chat_id: str, text: str) -> None:
    """Send `text` to a chat. Raises Refused or Unavailable when it was not sent."""
    with _errors_translated():
        _call(lambda bot: bot.send_message(chat_id=int(chat_id), text=text))


def webhook_set(*, url: str) -> bool:
    """Point Telegram at our webhook. Raises Refused or Unavailable when it was not set."""
    with _errors_translated():
        return bool(
            _call(
                lambda bot: bot.set_webhook(
                    url=url,
                    secret_token=settings.TELEGRAM_WEBHOOK_SECRET,
                    allowed_updates=ALLOWED_UPDATES,
                    drop_pending_updates=False,
                )
            )
        )


def update_parse(data: dict[str, Any]) -> Update | None:
    """An update as Telegram sent it, or None when it is not one."""
    from telegram import Update

    try:
        return Update.de_json(data, None)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
