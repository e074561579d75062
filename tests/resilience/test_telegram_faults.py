"""A Celery worker SIGKILLed while it sends the bot's answer to Telegram.

Sitthi runs as in production (gunicorn, a real Celery worker, throwaway
PostgreSQL and Redis); Telegram is the fake Bot API server of
tests/telegram_fake.py, in this process. The signer signs through the real
pages choosing Telegram, and presses Start: the update reaches the webhook
on gunicorn, the worker confirms the signature and queues the answer in the
outbox, and the fake holds the worker's sendMessage without answering while
the worker is killed.

What "exactly once" can mean here: the fake, like Telegram, takes the
message when the request arrives (`hang_next` delivers, then stalls the
answer), and Telegram has no idempotency key for sendMessage. A worker
killed before it read Telegram's answer cannot know whether the message was
taken, and the outbox row is still pending (its transaction died with the
worker): the resend after the restart reaches the chat a second time. The
guarantee tested is what the outbox can keep: the answer is delivered after
the restart, the outbox row is sent, and Telegram answered exactly one
sendMessage for it; a late redelivery of the original task sends nothing more.
"""

import json
import os
import signal
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.resilience.conftest import (
    CREATE_CAMPAIGN,
    HTTPS,
    SIGNING_ENV,
    FaultStack,
    FaultySmtp,
    http,
    settled,
    sign_through_pages,
    wait_until,
)
from tests.resilience.test_outbox_faults import FLUSH_AFTER_GRACE
from tests.telegram_fake import TEST_WEBHOOK_SECRET, FakeTelegram

SLUG = "right-to-vote"
USER_ID = 424242
# Longer than the test: the killed worker's request is never answered while
# it runs (stop() ends the stall at teardown). The worker is killed as soon
# as the request arrives, well within its own 10 s read timeout.
HANG_SECONDS = 600


class AnsweringFake(FakeTelegram):
    """The fake, also keeping the sendMessage requests it has answered
    successfully (`sent_messages` keeps them when they arrive)."""

    def __init__(self) -> None:
        super().__init__()
        self.answered: list[dict[str, Any]] = []

    def _handle(
        self, path: str, query: str, content_type: str, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        status, reply = super()._handle(path, query, content_type, body)
        if (
            status == 200
            and path.rstrip("/").lower().endswith("/sendmessage")
            and not self._stopping.is_set()  # a stall ended by stop(): nobody to answer
        ):
            with self._lock:
                self.answered.append(reply["result"])
        return status, reply

    def answered_to(self, chat_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return [message for message in self.answered if message["chat"]["id"] == chat_id]


@pytest.fixture
def telegram_fake() -> Iterator[AnsweringFake]:
    fake = AnsweringFake()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


def deliver(stack: FaultStack, update: dict[str, Any]) -> int:
    """POST an update to the stack's webhook as Telegram does, through our TLS proxy."""
    request = urllib.request.Request(  # noqa: S310 - the stack's own http URL
        f"{stack.web_url}/telegram/webhook/",
        data=json.dumps(update).encode(),
        headers={
            **HTTPS,
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": TEST_WEBHOOK_SECRET,
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.close()
        return int(error.code)


def outbox_row(stack: FaultStack) -> tuple[str, int]:
    [(status, attempts)] = stack.sql(
        "SELECT status, attempts FROM outbox_message WHERE channel = 'telegram'"
    )
    return str(status), int(attempts)


@pytest.mark.parametrize("request_fate", ["taken", "lost"])
def test_a_worker_killed_while_telegram_holds_its_answer_sends_it_after_restart(
    fault_stack: FaultStack,
    fault_smtp: FaultySmtp,
    telegram_fake: AnsweringFake,
    request_fate: str,
) -> None:
    """`taken`: Telegram took the message and its answer never came back;
    `lost`: the request never reached Telegram. Either way the answer is sent
    after the restart, once by the outbox; the person reads it once when the
    killed request was lost, twice when Telegram had taken it."""
    fault_stack.env.update(
        {
            **SIGNING_ENV,
            "TELEGRAM_BOT_TOKEN": telegram_fake.token,
            "TELEGRAM_BOT_USERNAME": telegram_fake.username,
            "TELEGRAM_WEBHOOK_SECRET": TEST_WEBHOOK_SECRET,
            "TELEGRAM_API_URL": telegram_fake.url,
            "NO_PROXY": "127.0.0.1,localhost",  # the fake is here, never behind a proxy
        }
    )
    fault_stack.start_web(workers=1, wait=False)
    doomed = fault_stack.start_worker("doomed", wait=False)
    fault_stack.python(CREATE_CAMPAIGN.format(slug=SLUG))
    fault_stack.wait_ready()

    # Signed through the real pages, confirming by Telegram, without an address.
    status = sign_through_pages(
        fault_stack.web_url, SLUG, email="", full_name="Sok Dara", ip="203.0.113.9",
        lang="km", extra={"confirm_by": "telegram"},
    )  # fmt: skip
    assert status == 302
    [(token,)] = wait_until(
        lambda: fault_stack.sql(
            "SELECT telegram_token FROM signatures_signature WHERE channel = 'telegram'"
        ),
        60,
        "the worker to store the signature",
    )
    status, _, page = http(f"{fault_stack.web_url}/km/campaigns/{SLUG}/telegram/{token}/")
    assert status == 200
    assert f"https://t.me/{telegram_fake.username}?start={token}" in page

    # Start pressed; Telegram (the fake) takes the answer and holds its reply.
    if request_fate == "taken":
        telegram_fake.hang_next("sendMessage", HANG_SECONDS)
    else:
        telegram_fake.lose_next("sendMessage", HANG_SECONDS)
    assert deliver(fault_stack, telegram_fake.update_for_start(token, user_id=USER_ID)) == 200
    telegram_fake.wait_for_calls("sendMessage", 1, timeout=60)
    os.killpg(doomed.pid, signal.SIGKILL)  # the worker and its pool, mid-request
    doomed.wait(timeout=10)

    assert telegram_fake.answered_to(USER_ID) == []  # the killed request got no answer
    # The confirmation was committed before the answer was sent; the answer was not.
    [(confirmed,)] = fault_stack.sql("SELECT status FROM signatures_signature")
    assert confirmed == "confirmed"
    assert outbox_row(fault_stack) == ("pending", 0)

    # A worker again. Its drain died unacknowledged with the old worker (the
    # broker hands it out again only after the visibility timeout, an hour),
    # and the row's lock with its connection: the outbox's periodic flush
    # asks for a drain (as the next message queued would), which sends it.
    survivor = fault_stack.start_worker("survivor")
    assert len(telegram_fake.calls_of("sendMessage")) == 1
    fault_stack.python(FLUSH_AFTER_GRACE)
    wait_until(lambda: telegram_fake.answered_to(USER_ID), 60, "the answer to be sent again")
    settled(fault_stack, fault_smtp)
    [answer] = telegram_fake.answered_to(USER_ID)
    assert "១" in answer["text"]  # the count, in Khmer digits
    assert outbox_row(fault_stack) == ("sent", 1)
    # What the person reads: once when the killed request was lost; twice
    # when Telegram had taken it (the Bot API has no idempotency key).
    sent = telegram_fake.sent_messages(USER_ID)
    read = 2 if request_fate == "taken" else 1
    assert [message["text"] for message in sent] == [answer["text"]] * read

    # A late redelivery of the original drain (the visibility timeout) sends nothing more.
    fault_stack.python("from outbox.tasks import messages_drain\nmessages_drain.delay()\n")
    settled(fault_stack, fault_smtp)
    assert len(telegram_fake.calls_of("sendMessage")) == 2
    assert len(telegram_fake.answered_to(USER_ID)) == 1
    assert outbox_row(fault_stack) == ("sent", 1)
    assert survivor.poll() is None
