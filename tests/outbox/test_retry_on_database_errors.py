"""A drain that meets a refused database connection is retried by the worker itself."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from celery.exceptions import Retry
from django.db import InterfaceError, OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from outbox.models import Message
from outbox.services import outbox_flush
from outbox.tasks import DATABASE_RETRIES, messages_drain

pytestmark = pytest.mark.django_db


def pending_message() -> Message:
    # Written directly: message_queue would send it at once (eager Celery).
    return Message.objects.create(
        key="test:retry", to="sok@example.org", subject="s", body_text="t"
    )


@contextmanager
def database_refusing(error: Exception) -> Iterator[None]:
    """Every query fails the way a refused or dropped connection does."""
    real_cursor = BaseDatabaseWrapper.cursor

    def refuse(self: BaseDatabaseWrapper) -> Any:
        raise error

    BaseDatabaseWrapper.cursor = refuse  # type: ignore[method-assign]
    try:
        yield
    finally:
        BaseDatabaseWrapper.cursor = real_cursor  # type: ignore[method-assign]


def run_in_worker(*, retries: int) -> int:
    """Run the drain as a worker does on its `retries`-th retry (not eagerly):
    how many messages it tried."""
    messages_drain.push_request(retries=retries, is_eager=False, called_directly=False)  # type: ignore[call-arg]
    try:
        return int(messages_drain.run())
    finally:
        messages_drain.pop_request()


@pytest.fixture
def scheduled_retries(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The retries the task asks Celery for, instead of queueing them."""
    asked: list[dict[str, Any]] = []

    def retry(**options: Any) -> Retry:
        asked.append(options)
        return Retry("retry", options.get("exc"), options.get("countdown"))

    monkeypatch.setattr(messages_drain, "retry", retry)
    return asked


refused: list[Callable[[], Exception]] = [
    lambda: OperationalError("connection to server failed: Connection refused"),
    lambda: InterfaceError("connection already closed"),
]


@pytest.mark.parametrize("error", refused, ids=["refused", "closed"])
def test_a_refused_database_is_retried_with_growing_backoff_then_sent_once(
    error: Callable[[], Exception], scheduled_retries: list[dict[str, Any]], mailoutbox: list
) -> None:
    message = pending_message()

    for attempt in range(3):
        with database_refusing(error()), pytest.raises(Retry):
            run_in_worker(retries=attempt)

    countdowns = [options["countdown"] for options in scheduled_retries]
    assert len(countdowns) == 3
    assert 0 < countdowns[0] < countdowns[1] < countdowns[2]
    assert all(isinstance(options["exc"], type(error())) for options in scheduled_retries)
    assert mailoutbox == []

    assert run_in_worker(retries=3) == 1
    # A second delivery of the same task (a redelivered retry) sends nothing.
    assert run_in_worker(retries=4) == 0

    assert len(mailoutbox) == 1
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert message.attempts == 1  # the refused tries were never counted as SMTP failures


def test_backoff_stops_growing_at_five_minutes(scheduled_retries: list[dict[str, Any]]) -> None:
    pending_message()

    for attempt in range(DATABASE_RETRIES):
        with database_refusing(OperationalError("refused")), pytest.raises(Retry):
            run_in_worker(retries=attempt)

    assert max(options["countdown"] for options in scheduled_retries) <= 300


def test_after_the_last_retry_the_message_is_left_for_the_flush(
    scheduled_retries: list[dict[str, Any]], mailoutbox: list
) -> None:
    message = pending_message()

    with database_refusing(OperationalError("refused")):
        assert run_in_worker(retries=DATABASE_RETRIES) == 0

    assert scheduled_retries == []
    message.refresh_from_db()
    assert message.status == Message.Status.PENDING
    # Beat's flush, a few minutes later, sends it (eager here).
    Message.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5)
    )
    assert outbox_flush() == 1
    assert len(mailoutbox) == 1


def test_other_errors_are_not_retried_as_database_errors(
    scheduled_retries: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    message = pending_message()

    def broken(message: Message) -> bool:
        raise ValueError("a bug")

    monkeypatch.setattr("outbox.services._message_send", broken)

    assert run_in_worker(retries=0) == 0  # logged and left for the flush, not retried
    assert scheduled_retries == []
    assert f"message {message.pk} not sent" in caplog.text
    message.refresh_from_db()
    assert message.status == Message.Status.PENDING and message.attempts == 0
