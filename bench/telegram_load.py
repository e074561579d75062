"""The Telegram share of `python -m bench signing` (issue 16).

A share of the simulated signers choose Telegram on the form (confirm_by=
telegram, no e-mail), follow the redirect to the Telegram page and read the
token from its `https://t.me/<bot>?start=<token>` link; once the worker has
stored their signatures, each "presses Start": the update Telegram would
send (`FakeTelegram.update_for_start`) is POSTed to the app's webhook with
the secret header, as Telegram sends it, from the load client's own
keep-alive connection (Telegram keeps its webhook connections open too;
`FakeTelegram.deliver` would open a new connection per update, which
measures the load generator rather than the app). The worker answers through
the outbox and python-telegram-bot, to one FakeTelegram for the run, which
keeps every message the bot sent.

Each Telegram signer is a Telegram user id; one who signs again (the same
duplicate share as e-mail) presses Start with the same user id on each link
they got. A few press Start twice (a new update, answered "already signed")
and a few updates are delivered twice (Telegram redelivering: the same
update_id, answered once).

The fake Bot API is the tests' own, tests/telegram_fake.py: the benchmark
imports it from the tests package on purpose (one fake, the one the tests
check against python-telegram-bot), only when the Telegram share is not 0.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from bench.signing import Client
    from tests.telegram_fake import FakeTelegram

TELEGRAM = "telegram"  # Signature.Channel.TELEGRAM, the form's confirm_by value
BOT_USERNAME = "sitthi_bench_bot"
WEBHOOK_PATH = "/telegram/webhook/"
# Telegram's servers deliver from 149.154.160.0/20; through our one proxy.
TELEGRAM_ADDRESS = "149.154.167.220"
FIRST_USER_ID = 6_100_000_000  # Telegram user ids are up to 52 bits
START_LINK = re.compile(rb'href="https://t\.me/([A-Za-z0-9_]+)\?start=([A-Za-z0-9_-]{16,32})"')
WITHDRAW_PATH = "/sign/withdraw/"  # in the "confirmed" and "held" replies only


class TelegramPageFailed(Exception):
    """The redirect after signing, or the Telegram page, was not as expected."""


class WebhookFailed(Exception):
    """The webhook did not answer 200 to an update."""


def user_id(number: int) -> int:
    """The Telegram user id of the signer made `number`-th by `_people`."""
    return FIRST_USER_ID + number


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class TelegramFigures:
    """What the Telegram share did, for the report."""

    share: float
    submissions: int = 0
    signers: int = 0  # distinct Telegram users among the submissions
    tokens_read: int = 0  # Telegram pages that showed a start link
    page_p50_ms: float = float("nan")
    page_p99_ms: float = float("nan")
    signatures_wait_seconds: float = 0.0  # after the mails, until every one was stored
    signatures_stored: int = 0
    deliveries: int = 0  # webhook POSTs answered 200, redeliveries included
    updates: int = 0  # distinct update_ids among them: each is owed one reply
    webhook_p50_ms: float = float("nan")
    webhook_p99_ms: float = float("nan")
    replies: int = 0  # messages the bot sent, as the fake received them
    replies_missing: int = 0  # per user: updates without a reply
    replies_extra: int = 0  # per user: replies beyond one per update
    confirmed_once: int = 0  # users who got the "confirmed" reply exactly once
    confirmed_missing: int = 0  # users who got none (nor "held")
    confirmed_duplicate: int = 0  # users who got it more than once
    held: int = 0  # "held for review" replies (a suspect signature: not counted)
    other_replies: int = 0  # "already signed" (Start pressed again, signed twice) and the like
    replies_seconds: float = 0.0  # confirm phase start to the last reply owed
    counted: int = 0  # Telegram signatures counted (true COUNT)
    confirmed_per_second: float = 0.0

    @property
    def replies_exact(self) -> bool:
        """One reply per update, one confirmation per Telegram signer."""
        return (
            self.replies_missing == 0
            and self.replies_extra == 0
            and self.confirmed_missing == 0
            and self.confirmed_duplicate == 0
            and self.confirmed_once == self.signers
        )

    @property
    def count_exact(self) -> bool:
        return self.counted == self.signers


class TelegramLoad:
    """The fake Bot API for the run and what the Telegram signers did."""

    def __init__(self, share: float) -> None:
        # A test helper, imported from the tests package on purpose (see above).
        from tests.telegram_fake import FakeTelegram

        self.share = share
        token = f"{secrets.randbelow(9 * 10**9) + 10**9}:{secrets.token_urlsafe(30)}"
        self.fake: FakeTelegram = FakeTelegram(token, BOT_USERNAME)
        self.secret = secrets.token_urlsafe(32)  # Telegram's rule: [A-Za-z0-9_-]{1,256}
        self.lock = threading.Lock()
        self.tokens: dict[int, str] = {}  # submission (its index) -> token on its page
        self.page_latencies: list[float] = []
        self.webhook_latencies: list[float] = []
        self.user_of_update: dict[int, int] = {}
        self.delivered: set[int] = set()  # update_ids answered 200
        self.deliveries = 0
        self.phase_started = 0.0
        self.replies_seconds = float("nan")
        self.signatures_wait_seconds = 0.0
        self.signatures_stored = 0

    def start(self) -> TelegramLoad:
        self.fake.start()
        return self

    def stop(self) -> None:
        self.fake.stop()

    def env(self) -> dict[str, str]:
        """The stack's bot settings: the fake on 127.0.0.1."""
        return {
            "TELEGRAM_BOT_TOKEN": self.fake.token,
            "TELEGRAM_BOT_USERNAME": self.fake.username,
            "TELEGRAM_WEBHOOK_SECRET": self.secret,
            "TELEGRAM_API_URL": self.fake.url,
        }

    # --- Submitting -------------------------------------------------------------

    def follow(self, client: Client, index: int, location: str) -> None:
        """After the signing POST: open the Telegram page it redirected to and
        keep the token of its start link."""
        path = urlsplit(location).path
        if "/telegram/" not in path:
            raise TelegramPageFailed(f"redirected to {location or 'nowhere'}")
        started = time.perf_counter()
        status, page, _response = client.request("GET", path)
        elapsed = time.perf_counter() - started
        if status != 200:
            raise TelegramPageFailed(f"page HTTP {status}")
        match = START_LINK.search(page)
        if match is None or match.group(1).decode() != self.fake.username:
            raise TelegramPageFailed("no start link to our bot")
        with self.lock:
            self.page_latencies.append(elapsed)
            self.tokens[index] = match.group(2).decode()

    def wait_for_signatures(self, timeout: float = 120) -> None:
        """Wait until the worker has stored a signature for every token read:
        a person opens Telegram seconds after signing, the drain is quicker;
        a Start pressed before would be answered "link not valid"."""
        from django.db import connection

        from signatures.models import Signature

        started = time.perf_counter()
        tokens = list(self.tokens.values())
        deadline = time.monotonic() + timeout
        while True:
            stored = Signature.objects.filter(channel=TELEGRAM, telegram_token__in=tokens).count()
            if stored >= len(tokens) or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        connection.close()  # the driver holds no connection during the load
        self.signatures_stored = stored
        self.signatures_wait_seconds = time.perf_counter() - started

    # --- Pressing Start -----------------------------------------------------------

    def start_jobs(self, people: list[dict[str, str]]) -> list[tuple[str, Any]]:
        """One webhook delivery per token read, then a few Starts pressed
        again (a new update) and a few updates delivered twice (the same)."""
        presses: list[tuple[str, Any]] = []
        for index, token in sorted(self.tokens.items()):
            person = people[index]
            presses.append(self._press(token, person))
        again = [self._press(job[1][2], job[1][3]) for job in presses[: len(presses) // 20]]
        redelivered = presses[len(presses) // 20 : 2 * (len(presses) // 20)]
        return presses + again + redelivered

    def _press(self, token: str, person: dict[str, str]) -> tuple[str, Any]:
        user = int(person["telegram_user"])
        update = self.fake.update_for_start(
            token,
            user_id=user,
            first_name=person["name"].split()[0],
            language_code=person["lang"],
        )
        self.user_of_update[update["update_id"]] = user
        body = json.dumps(update, ensure_ascii=False).encode("utf-8")
        return (TELEGRAM, (update["update_id"], body, token, person))

    def deliver(self, client: Client, job: tuple[int, bytes, str, dict[str, str]]) -> int:
        """POST one update as Telegram does (`FakeTelegram.deliver`'s
        request) on the client's keep-alive connection."""
        update_id, body = job[0], job[1]
        started = time.perf_counter()
        status, _body, _response = client.request(
            "POST",
            WEBHOOK_PATH,
            # UTF-8 JSON, as Telegram sends it: http.client sends a str body
            # as ISO-8859-1, which gives these bytes back unchanged.
            body=body.decode("latin-1"),
            headers={
                "Content-Type": "application/json",
                "X-Telegram-Bot-Api-Secret-Token": self.secret,
                "X-Forwarded-For": TELEGRAM_ADDRESS,
            },
        )
        elapsed = time.perf_counter() - started
        if status != 200:
            raise WebhookFailed(f"HTTP {status}")
        with self.lock:
            self.webhook_latencies.append(elapsed)
            self.delivered.add(update_id)
            self.deliveries += 1
        return status

    def wait_for_replies(self, timeout: float = 300) -> None:
        """Wait until the fake has as many messages as updates delivered."""
        deadline = time.monotonic() + timeout
        while len(self.fake.sent_messages()) < len(self.delivered):
            if time.monotonic() >= deadline:
                return
            time.sleep(0.1)
        self.replies_seconds = time.perf_counter() - self.phase_started

    # --- Figures ----------------------------------------------------------------

    def figures(self, people: list[dict[str, str]], campaign: Any) -> TelegramFigures:
        """Read after the run's last request: late or duplicate replies count."""
        from signatures.models import Signature

        telegram_people = [person for person in people if person.get("channel") == TELEGRAM]
        signers = {int(person["telegram_user"]) for person in telegram_people}
        owed: Counter[int] = Counter(self.user_of_update[u] for u in self.delivered)
        got: Counter[int] = Counter()
        confirmations: Counter[int] = Counter()
        held: Counter[int] = Counter()
        other = 0
        messages = self.fake.sent_messages()
        for message in messages:
            chat = int(message["chat_id"])
            got[chat] += 1
            text = str(message.get("text", ""))
            if WITHDRAW_PATH in text and "/campaigns/" in text:
                confirmations[chat] += 1
            elif WITHDRAW_PATH in text:
                held[chat] += 1
            else:
                other += 1
        chats = set(owed) | set(got)
        counted = Signature.objects.counted().filter(campaign=campaign, channel=TELEGRAM).count()
        seconds = self.replies_seconds
        return TelegramFigures(
            share=self.share,
            submissions=len(telegram_people),
            signers=len(signers),
            tokens_read=len(self.tokens),
            page_p50_ms=1000 * statistics.median(self.page_latencies)
            if self.page_latencies
            else float("nan"),
            page_p99_ms=1000 * _percentile(self.page_latencies, 0.99),
            signatures_wait_seconds=self.signatures_wait_seconds,
            signatures_stored=self.signatures_stored,
            deliveries=self.deliveries,
            updates=len(self.delivered),
            webhook_p50_ms=1000 * statistics.median(self.webhook_latencies)
            if self.webhook_latencies
            else float("nan"),
            webhook_p99_ms=1000 * _percentile(self.webhook_latencies, 0.99),
            replies=len(messages),
            replies_missing=sum(max(0, owed[chat] - got[chat]) for chat in chats),
            replies_extra=sum(max(0, got[chat] - owed[chat]) for chat in chats),
            confirmed_once=sum(1 for user in signers if confirmations[user] == 1),
            confirmed_missing=sum(
                1 for user in signers if confirmations[user] == 0 and held[user] == 0
            ),
            confirmed_duplicate=sum(1 for user in signers if confirmations[user] > 1),
            held=sum(held.values()),
            other_replies=other,
            replies_seconds=seconds,
            counted=counted,
            confirmed_per_second=counted / seconds if seconds and not math.isnan(seconds) else 0.0,
        )


def report_lines(figures: TelegramFigures, errors: list[str]) -> list[str]:
    """The Telegram share's lines of `signing.report`."""
    webhook_errors = [e for e in errors if e.startswith(WebhookFailed.__name__)]
    page_errors = [e for e in errors if e.startswith(TelegramPageFailed.__name__)]
    seconds = (
        "NOT ALL within 300 s"
        if math.isnan(figures.replies_seconds)
        else f"{figures.replies_seconds:.1f} s"
    )
    replies = "EXACT" if figures.replies_exact else "NOT EXACT"
    return [
        f"telegram share          {figures.share:.2f}: {figures.submissions} submissions"
        f" ({figures.signers} distinct Telegram users), {figures.tokens_read} start links read,"
        f" Telegram page p50 / p99 {figures.page_p50_ms:.0f} / {figures.page_p99_ms:.0f} ms,"
        f" errors {len(page_errors)}",
        f"telegram signatures     {figures.signatures_stored} stored by the worker"
        f" ({figures.signatures_wait_seconds:.1f} s more after the last mail)",
        f"telegram webhook        {figures.deliveries} deliveries ({figures.updates} updates),"
        f" p50 / p99 {figures.webhook_p50_ms:.0f} ms / {figures.webhook_p99_ms:.0f} ms,"
        f" errors {len(webhook_errors)}",
        f"telegram confirmed      {figures.counted} / {figures.signers} counted,"
        f" {figures.confirmed_per_second:.1f} signatures/s confirmed by Telegram"
        f" (all replies {seconds} after the confirm phase began)",
        f"telegram bot replies    {figures.replies} for {figures.updates} updates (missing"
        f" {figures.replies_missing}, extra {figures.replies_extra}); confirmations: once"
        f" {figures.confirmed_once}, none {figures.confirmed_missing}, twice or more"
        f" {figures.confirmed_duplicate}, held {figures.held}; other answers (already"
        f" signed...) {figures.other_replies}:"
        f" {replies}",
    ]
