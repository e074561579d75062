"""A fake Telegram Bot API server for tests: a real HTTP server on 127.0.0.1.

python-telegram-bot talks to it as to api.telegram.org when built with
`Bot(token, base_url=f"{fake.url}/bot")` (settings.TELEGRAM_API_URL is
`fake.url` under the `telegram_api` fixture). It answers the few methods
Sitthi uses (getMe, sendMessage, setWebhook, deleteWebhook, getWebhookInfo),
keeps what it was asked, can fail or stall on request, and delivers updates
to the webhook as Telegram does.

What python-telegram-bot 22.8 sends (telegram/request/_httpxrequest.py): a
POST to /bot<TOKEN>/<method> with an `application/x-www-form-urlencoded`
body, not JSON; every value that is not a string is JSON-encoded inside the
form (chat_id=12345, reply_markup={"inline_keyboard":...}), and it becomes
`multipart/form-data` only when a file is uploaded. Telegram itself also
takes a JSON body or a query string, and so does this fake.

Not imported by conftest.py: a test module that wants the fixture imports it
(`from tests.telegram_fake import telegram_api`), or conftest.py does.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from html.parser import HTMLParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

import pytest

TEST_TOKEN = "123456:TEST-TOKEN"
TEST_USERNAME = "sitthi_test_bot"
TEST_WEBHOOK_SECRET = "webhook-secret-for-tests"

# Telegram's names; a request may spell them in any case.
_METHODS = {
    name.lower(): name
    for name in ("getMe", "sendMessage", "setWebhook", "deleteWebhook", "getWebhookInfo")
}

# Form fields that are free text. Everything else in a form body is decoded
# as JSON when it parses (PTB JSON-encodes every non-string value), so a
# message text "123" or "true" stays a string.
_TEXT_FIELDS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "url",
        "secret_token",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "description",
        "short_description",
        "name",
        "title",
        "query",
        "language_code",
    }
)

# https://core.telegram.org/bots/api#html-style
_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)

# https://core.telegram.org/bots/api#setwebhook: 1-256 of these characters.
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")

MAX_MESSAGE_LENGTH = 4096  # UTF-16 code units, after entities are parsed


class Call(NamedTuple):
    """One authorised Bot API request, as the fake decoded it."""

    method: str  # Telegram's spelling ("sendMessage") when the method is known
    params: dict[str, Any]


class _ApiError(Exception):
    """Becomes Telegram's error answer: this status and description."""

    def __init__(self, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


@dataclass
class _Fault:
    status: int
    description: str


def _error_body(status: int, description: str | None = None) -> dict[str, Any]:
    """Telegram's error shape: {"ok": false, "error_code", "description"}."""
    if description is None:
        description = _DEFAULT_DESCRIPTIONS.get(status, HTTPStatus(status).phrase)
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        # PTB raises RetryAfter only when `parameters.retry_after` is there.
        body["parameters"] = {"retry_after": 1}
    return body


# What Telegram says for these statuses (the 403 is the usual one for a
# private chat: the person pressed "Stop and block").
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests: retry after 1",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class _TelegramHtml(HTMLParser):
    """Checks a parse_mode=HTML text as Telegram does (only its tags, all
    closed) and keeps the plain text Telegram would return in the Message."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            raise _ApiError(f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}"')
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            raise _ApiError(
                f'Bad Request: can\'t parse entities: Unexpected end tag "{tag}"'
                if tag in _HTML_TAGS
                else f'Bad Request: can\'t parse entities: Unsupported end tag "{tag}"'
            )
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _plain_text(text: str, parse_mode: str | None) -> str:
    """The text Telegram keeps (tags removed, entities decoded); 400 on HTML
    it would refuse. Markdown modes are not checked: their text is kept as is."""
    if (parse_mode or "").lower() != "html":
        return text
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    if parser.open:
        raise _ApiError(
            "Bad Request: can't parse entities: Can't find end tag corresponding to "
            f'start tag "{parser.open[-1]}"'
        )
    return "".join(parser.text)


def _form_value(name: str, value: str) -> Any:
    if name in _TEXT_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # a plain string, such as chat_id="@channel"


def _parse_params(content_type: str, body: bytes, query: str) -> dict[str, Any]:
    """The request's parameters, whichever way they came (Telegram takes a
    query string, form, multipart or JSON body)."""
    params: dict[str, Any] = {name: _form_value(name, value) for name, value in parse_qsl(query)}
    mime = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return params
    if mime == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError as error:
            raise _ApiError(f"Bad Request: invalid JSON body: {error}") from error
        if not isinstance(decoded, dict):
            raise _ApiError("Bad Request: the JSON body is not an object")
        params.update(decoded)
    elif mime == "application/x-www-form-urlencoded":
        text = body.decode("utf-8")
        params.update(
            {
                name: _form_value(name, value)
                for name, value in parse_qsl(text, keep_blank_values=True)
            }
        )
    elif mime == "multipart/form-data":
        # The email parser reads multipart bodies (cgi is gone in 3.13).
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
        )
        for part in message.walk():
            if part.is_multipart():
                continue  # the envelope itself
            name = str(part.get_param("name", "", header="content-disposition"))
            payload = part.get_payload(decode=True)
            content = payload if isinstance(payload, bytes) else b""
            if part.get_filename() is not None:
                params[name] = content  # an uploaded file: its bytes
            else:
                params[name] = _form_value(name, content.decode("utf-8"))
    return params


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stalled answer (hang_next) never blocks shutdown
    fake: FakeTelegram


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects of Telegram
    timeout = 15  # an idle kept-alive connection ends instead of keeping a thread

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self._answer()

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        status, reply = self.server.fake._handle(
            url.path, url.query, self.headers.get("Content-Type", ""), body
        )
        data = json.dumps(reply, ensure_ascii=False).encode("utf-8")
        # The client may have gone (a test killed it during hang_next).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # pytest would show every request of every test


class FakeTelegram:
    """The fake Bot API. Start it with `start()` (or `running_fake`, or the
    `telegram_api` fixture); every record is safe to read from the test's
    thread while the server's threads write."""

    def __init__(self, token: str = TEST_TOKEN, username: str = TEST_USERNAME) -> None:
        self.token = token
        self.username = username
        self.bot_id = int(token.split(":", 1)[0])
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        # Never reset: Telegram does not reuse message or update ids.
        self._next_message_id = 1
        self._next_update_id = 700_000_001
        self.reset()

    # --- lifecycle ------------------------------------------------------

    def start(self) -> FakeTelegram:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-telegram",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # ends any stalled answer at once
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT, what settings.TELEGRAM_API_URL holds."""
        assert self._server is not None, "the fake Telegram is not running"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        """What `telegram.Bot(token, base_url=...)` takes."""
        return f"{self.url}/bot"

    # --- records ----------------------------------------------------------

    def reset(self) -> None:
        """Forget calls, messages, the webhook and any planned fault."""
        with self._lock:
            self._calls: list[Call] = []
            self._messages: list[dict[str, Any]] = []
            self._webhook: dict[str, Any] | None = None
            self._faults: dict[str, list[_Fault]] = {}
            self._hangs: dict[str, list[float]] = {}
            self._losses: dict[str, list[float]] = {}
            self._blocked: set[str] = set()

    @property
    def calls(self) -> list[Call]:
        """Every request made with the right token, failed ones included
        (a retried sendMessage shows twice here, once in sent_messages)."""
        with self._lock:
            return list(self._calls)

    @property
    def webhook(self) -> dict[str, Any] | None:
        """The parameters of the last setWebhook; None before one, or after
        deleteWebhook."""
        with self._lock:
            return dict(self._webhook) if self._webhook is not None else None

    def calls_of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def sent_messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """The messages sendMessage accepted: the request's parameters plus
        the `message_id` it answered (`text` is as sent, markup included)."""
        with self._lock:
            messages = [dict(message) for message in self._messages]
        if chat_id is None:
            return messages
        return [message for message in messages if str(message.get("chat_id")) == str(chat_id)]

    def wait_for_messages(
        self, count: int, chat_id: int | None = None, timeout: float = 20
    ) -> list[dict[str, Any]]:
        """At least `count` sent messages (to `chat_id`), waiting for them:
        the app may send from a Celery worker or another thread."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self.sent_messages(chat_id)
            if len(messages) >= count:
                return messages
            if time.monotonic() >= deadline:
                to = "" if chat_id is None else f" to chat {chat_id}"
                raise AssertionError(
                    f"expected {count} Telegram message(s){to} within {timeout}s, "
                    f"{len(messages)} arrived: {messages!r}; requests: {self.calls!r}"
                )
            time.sleep(0.02)

    def wait_for_calls(self, method: str, count: int = 1, timeout: float = 20) -> list[Call]:
        """At least `count` requests of `method` (failed and stalled ones
        count: they arrived), e.g. to kill a worker once it is inside one."""
        deadline = time.monotonic() + timeout
        while True:
            calls = self.calls_of(method)
            if len(calls) >= count:
                return calls
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"expected {count} {method} request(s) within {timeout}s, "
                    f"{len(calls)} arrived; requests: {self.calls!r}"
                )
            time.sleep(0.02)

    # --- faults -------------------------------------------------------------

    def fail_next(
        self, method: str, times: int = 1, status: int = 500, description: str | None = None
    ) -> None:
        """The next `times` calls of `method` answer `status` in Telegram's
        error shape (429 carries retry_after 1) and do nothing else."""
        fault = _Fault(status, description or _error_body(status)["description"])
        with self._lock:
            self._faults.setdefault(method.lower(), []).extend([fault] * times)

    def hang_next(self, method: str, seconds: float) -> None:
        """The next call of `method` does its work at once (the message is
        sent, as when Telegram got the request) and answers `seconds` later:
        time for a test to kill the worker waiting for the answer."""
        with self._lock:
            self._hangs.setdefault(method.lower(), []).append(seconds)

    def lose_next(self, method: str, seconds: float) -> None:
        """The next call of `method` is lost on the way: recorded in `calls`
        as it arrives, but its work is never done (no message is sent), and
        nothing answers for `seconds`: a network that dropped the request
        before Telegram took it."""
        with self._lock:
            self._losses.setdefault(method.lower(), []).append(seconds)

    def block(self, chat_id: int) -> None:
        """sendMessage to this chat answers 403, as after "Stop and block"."""
        with self._lock:
            self._blocked.add(str(chat_id))

    # --- the Bot API --------------------------------------------------------

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Sitthi",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _handle(
        self, path: str, query: str, content_type: str, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """(status, JSON answer) for one request; runs on a server thread."""
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z0-9_]+)/?", path)
        if match is None:
            return 404, _error_body(404)
        token, sent_name = match.groups()
        if token != self.token:
            return 401, _error_body(401)
        method = _METHODS.get(sent_name.lower(), sent_name)
        try:
            params = _parse_params(content_type, body, query)
        except (_ApiError, UnicodeDecodeError) as error:
            return 400, _error_body(400, str(error))
        with self._lock:
            self._calls.append(Call(method, params))
            faults = self._faults.get(method.lower())
            fault = faults.pop(0) if faults else None
            hangs = self._hangs.get(method.lower())
            delay = hangs.pop(0) if hangs else 0.0
            losses = self._losses.get(method.lower())
            lost = losses.pop(0) if losses else None
        if lost is not None:
            self._stopping.wait(lost)
            return 504, _error_body(504, "Gateway Timeout")
        if fault is not None:
            status, reply = fault.status, _error_body(fault.status, fault.description)
        elif method.lower() not in _METHODS:
            status, reply = 404, _error_body(404)
        else:
            try:
                status, reply = 200, {"ok": True, "result": self._do(method, params)}
            except _ApiError as error:
                status, reply = error.status, _error_body(error.status, error.description)
            if method == "setWebhook" and status == 200:
                reply["description"] = "Webhook was set"
        if delay:
            # Event.wait, not sleep: stop() ends the stall at once.
            self._stopping.wait(delay)
        return status, reply

    def _do(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return self._bot_user()
        if method == "sendMessage":
            return self._send_message(params)
        if method == "setWebhook":
            secret = params.get("secret_token")
            if secret is not None and not _SECRET_TOKEN.fullmatch(str(secret)):
                raise _ApiError("Bad Request: secret token contains unallowed characters")
            with self._lock:
                # An empty url removes the webhook, as deleteWebhook does.
                self._webhook = dict(params) if params.get("url") else None
            return True
        if method == "deleteWebhook":
            with self._lock:
                self._webhook = None
            return True
        if method == "getWebhookInfo":
            webhook = self.webhook or {}
            info: dict[str, Any] = {
                "url": webhook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": 0,
            }
            if webhook:
                info["max_connections"] = webhook.get("max_connections", 40)
                if webhook.get("allowed_updates") is not None:
                    info["allowed_updates"] = webhook["allowed_updates"]
            return info
        raise AssertionError(f"no handler for {method}")  # _METHODS and _do disagree

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise _ApiError("Bad Request: chat_id is empty")
        try:
            chat = int(chat_id)
        except (TypeError, ValueError):
            raise _ApiError("Bad Request: chat not found") from None  # "@name": not a person
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _ApiError("Bad Request: message text is empty")
        plain = _plain_text(text, params.get("parse_mode"))
        if not plain.strip():
            raise _ApiError("Bad Request: message text is empty")
        if len(plain.encode("utf-16-le")) // 2 > MAX_MESSAGE_LENGTH:
            raise _ApiError("Bad Request: message is too long")
        with self._lock:
            if str(chat) in self._blocked:
                raise _ApiError("Forbidden: bot was blocked by the user", status=403)
            message_id = self._next_message_id
            self._next_message_id += 1
            self._messages.append({**params, "message_id": message_id})
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": self._bot_user(),
            "chat": {"id": chat, "type": "private"},
            "date": int(time.time()),
            "text": plain,
        }
        if isinstance(params.get("reply_markup"), dict) and (
            "inline_keyboard" in params["reply_markup"]
        ):
            message["reply_markup"] = params["reply_markup"]  # Telegram echoes inline keyboards
        return message

    # --- updates, as Telegram sends them --------------------------------------

    def update_for_text(
        self,
        text: str,
        *,
        user_id: int,
        chat_id: int | None = None,
        first_name: str = "Dara",
        language_code: str | None = "km",
        username: str | None = None,
        update_id: int | None = None,
    ) -> dict[str, Any]:
        """A private-chat Update carrying `text` from a person; a leading
        "/command" gets its bot_command entity, as Telegram marks it."""
        with self._lock:
            if update_id is None:
                update_id = self._next_update_id
                self._next_update_id += 1
            message_id = self._next_message_id
            self._next_message_id += 1
        person: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username is not None:
            person["username"] = username
        if language_code is not None:
            person["language_code"] = language_code
        chat: dict[str, Any] = {
            "id": user_id if chat_id is None else chat_id,
            "type": "private",
            "first_name": first_name,
        }
        if username is not None:
            chat["username"] = username
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": person,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]  # "/start@sitthi_test_bot" included
            # Offsets count UTF-16 code units.
            length = len(command.encode("utf-16-le")) // 2
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return {"update_id": update_id, "message": message}

    def update_for_start(self, token: str, **person: Any) -> dict[str, Any]:
        """What Telegram sends when a person opens t.me/<bot>?start=<token>
        and presses Start: the message "/start <token>" (`person`: as for
        `update_for_text`, user_id at least)."""
        return self.update_for_text(f"/start {token}", **person)

    def deliver(
        self, update: dict[str, Any], *, url: str | None = None, secret: str | None = None
    ) -> int:
        """POST `update` to the webhook as Telegram does and return the HTTP
        status. `url` defaults to the one setWebhook recorded, `secret` to its
        secret_token (the header is left out when there is none; pass
        secret="" to leave it out anyway)."""
        webhook = self.webhook or {}
        target = url or webhook.get("url")
        if not target:
            raise AssertionError("no webhook: the app did not call setWebhook, pass url=")
        if secret is None:
            secret = webhook.get("secret_token")
        headers = {"Content-Type": "application/json"}
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        request = urllib.request.Request(  # noqa: S310 - a test's own http(s) URL
            target,
            data=json.dumps(update, ensure_ascii=False).encode("utf-8"),
            headers=headers,
            method="POST",
        )
        # No proxy: a proxy from the environment must not see 127.0.0.1.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            error.close()
            return int(error.code)


@contextlib.contextmanager
def running_fake(token: str = TEST_TOKEN, username: str = TEST_USERNAME) -> Iterator[FakeTelegram]:
    """The fake, running, outside pytest (a benchmark, a shell)."""
    fake = FakeTelegram(token, username).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def telegram_api(settings: Any) -> Iterator[FakeTelegram]:
    """A fake Telegram for this test; the app's bot settings point at it."""
    with running_fake(TEST_TOKEN, TEST_USERNAME) as fake:
        settings.TELEGRAM_BOT_TOKEN = fake.token
        settings.TELEGRAM_BOT_USERNAME = fake.username
        settings.TELEGRAM_WEBHOOK_SECRET = TEST_WEBHOOK_SECRET
        settings.TELEGRAM_API_URL = fake.url
        yield fake
