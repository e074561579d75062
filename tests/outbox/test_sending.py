import socket
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from core import background
from outbox import services
from outbox.models import Message
from outbox.services import message_queue, messages_send_due, outbox_flush
from tests.drains import taken_by_another_drain


def queue_hello(key: str = "test:hello") -> Message:
    with transaction.atomic():
        return message_queue(
            key=key, to="sok@example.org", subject="សួស្តី", text="Hello", html="<p>Hello</p>"
        )


@pytest.mark.django_db(transaction=True)
def test_a_queued_message_is_sent_once_even_if_queued_twice(mailoutbox) -> None:
    queue_hello()
    queue_hello()
    assert len(mailoutbox) == 1
    assert mailoutbox[0].extra_headers["Message-ID"] == "<test.hello@sitthi>"
    assert Message.objects.get().status == Message.Status.SENT


@pytest.mark.django_db(transaction=True)
def test_sending_a_sent_message_again_sends_nothing(mailoutbox) -> None:
    queue_hello()
    assert messages_send_due() == 0  # sent: nothing is due
    assert len(mailoutbox) == 1


@pytest.mark.django_db(transaction=True)
def test_a_refusing_server_is_retried_with_backoff(smtp_server) -> None:
    smtp_server.refuse = True
    message = queue_hello()
    message.refresh_from_db()
    assert message.status == Message.Status.PENDING
    assert message.attempts == 1
    assert "451" in message.last_error
    assert message.next_attempt_at > message.created_at

    smtp_server.refuse = False
    # Its backoff has passed, and the broker has had a minute to deliver it.
    Message.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=2)
    )
    assert outbox_flush() == 1
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert len(smtp_server.received) == 1


@pytest.mark.django_db(transaction=True)
def test_repeated_failures_mark_the_message_failed_for_the_admin(smtp_server, settings) -> None:
    settings.OUTBOX_MAX_ATTEMPTS = 2
    smtp_server.refuse = True
    message = queue_hello()
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())  # backoff over
    assert messages_send_due() == 1
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert list(Message.objects.failing()) == [message]


@pytest.mark.django_db
def test_addresses_and_bodies_are_encrypted_at_rest() -> None:
    queue_hello()
    with connection.cursor() as cursor:
        cursor.execute('SELECT "to", body_text FROM outbox_message')
        to, body = cursor.fetchone()
    assert "sok@example.org" not in to
    assert "Hello" not in body


@pytest.mark.worker
def test_a_real_worker_sends_through_redis(celery_worker_process, smtp_server) -> None:
    celery_worker_process(env={"EMAIL_URL": smtp_server.url})
    queue_hello("test:worker")
    received = smtp_server.wait_for(1)
    assert len(received) == 1
    assert received[0]["Message-ID"] == "<test.worker@sitthi>"


@pytest.mark.django_db(transaction=True)
def test_one_process_sends_many_messages_over_one_smtp_connection(smtp_server) -> None:
    for number in range(3):
        queue_hello(key=f"test:hello:{number}")
    assert len(smtp_server.wait_for(3)) == 3
    assert smtp_server.sessions == 1
    assert Message.objects.filter(status=Message.Status.SENT).count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_dropped_is_opened_again(smtp_server) -> None:
    from outbox.services import _kept

    queue_hello(key="test:before")
    (kept,) = _kept.smtp.values()
    kept.connection.sock.shutdown(socket.SHUT_RDWR)  # gone, as an idle connection a server dropped

    queue_hello(key="test:after")
    assert len(smtp_server.wait_for(2)) == 2
    assert smtp_server.sessions == 2
    assert not Message.objects.exclude(status=Message.Status.SENT).exists()


@pytest.mark.django_db(transaction=True)
def test_a_refused_message_does_not_spoil_the_next_one(smtp_server) -> None:
    smtp_server.refuse = True
    refused = queue_hello(key="test:refused")
    smtp_server.refuse = False
    queue_hello(key="test:next")
    refused.refresh_from_db()
    assert refused.status == Message.Status.PENDING and refused.attempts == 1
    assert len(smtp_server.wait_for(1)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_server_closing_an_idle_connection_with_421_gets_the_message_on_a_new_one(
    smtp_server,
) -> None:
    queue_hello(key="test:first")
    smtp_server.close_at_next_mail = True
    second = queue_hello(key="test:second")
    second.refresh_from_db()
    assert second.status == Message.Status.SENT and second.attempts == 1
    assert len(smtp_server.wait_for(2)) == 2
    assert smtp_server.sessions == 2


def written(key: str, **fields: object) -> Message:
    # Written directly: message_queue would send it at once (eager Celery).
    return Message.objects.create(
        key=key, to="sok@example.org", subject="s", body_text="t", **fields
    )


@pytest.mark.django_db
def test_a_drain_sends_every_due_message_oldest_first_and_not_those_waiting(mailoutbox) -> None:
    now = timezone.now()
    written("test:later", next_attempt_at=now - timedelta(minutes=1))
    written("test:first", next_attempt_at=now - timedelta(minutes=5))
    written("test:backoff", next_attempt_at=now + timedelta(minutes=1))  # not yet
    written("test:sent", status=Message.Status.SENT)
    written("test:cancelled", status=Message.Status.CANCELLED)

    assert messages_send_due() == 2

    assert [m.extra_headers["Message-ID"] for m in mailoutbox] == [
        "<test.first@sitthi>",
        "<test.later@sitthi>",
    ]
    assert Message.objects.get(key="test:backoff").status == Message.Status.PENDING


@pytest.mark.django_db
def test_a_drain_stops_at_its_limit_and_the_task_hands_over(mailoutbox, monkeypatch) -> None:
    from outbox import tasks

    for number in range(3):
        written(f"test:{number}")
    assert messages_send_due(limit=2) == 2
    assert len(mailoutbox) == 2

    handed_over: list[str] = []
    monkeypatch.setattr(services, "DRAIN_BATCH", 1)
    monkeypatch.setattr(background, "task_queue", handed_over.append)
    assert tasks.messages_drain() == 1
    assert handed_over == [services.DRAIN_TASK]  # a full batch: more may wait


@pytest.mark.django_db
def test_a_message_that_breaks_the_sender_does_not_hold_up_the_others(
    mailoutbox, monkeypatch, caplog
) -> None:
    broken = written("test:broken", headers={"X-Broken": "yes"})
    written("test:fine")
    send = services._message_send

    def breaks_on_one(message: Message) -> bool:
        if message.headers:
            raise ValueError("a bug")
        return send(message)

    monkeypatch.setattr(services, "_message_send", breaks_on_one)

    assert messages_send_due() == 1
    assert [m.extra_headers["Message-ID"] for m in mailoutbox] == ["<test.fine@sitthi>"]
    assert f"message {broken.pk} not sent" in caplog.text
    broken.refresh_from_db()
    assert broken.status == Message.Status.PENDING  # left for the flush, which tries again


@pytest.mark.django_db
def test_the_flush_asks_for_a_drain_only_when_a_message_waited_past_its_grace(
    monkeypatch,
) -> None:
    asked: list[str] = []
    monkeypatch.setattr(services, "task_queue", asked.append)
    written("test:fresh")  # its drain is on its way
    assert outbox_flush() == 0 and asked == []

    Message.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=2))
    assert outbox_flush() == 1
    assert asked == [services.DRAIN_TASK]


@pytest.mark.django_db
def test_a_message_written_by_a_host_whose_clock_runs_ahead_is_sent_at_once(mailoutbox) -> None:
    now = timezone.now()
    written("test:ahead", next_attempt_at=now + timedelta(seconds=2))  # another host, a moment ago
    written("test:backoff", next_attempt_at=now + timedelta(minutes=1))

    assert messages_send_due() == 1
    assert [m.extra_headers["Message-ID"] for m in mailoutbox] == ["<test.ahead@sitthi>"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_two_drains_at_once_take_different_messages_oldest_first() -> None:
    """The drain's question, written once per process, still locks what it
    takes and skips what another drain holds (a second connection, in a
    thread, holding the oldest message)."""
    now = timezone.now()
    first, second = (
        written(f"test:{n}", next_attempt_at=now - timedelta(minutes=2 - n)) for n in range(2)
    )
    with taken_by_another_drain(lambda: services._next_due([])) as taken:
        assert taken == first.pk
        with transaction.atomic():
            mine = services._next_due([])
            assert mine is not None and mine.pk == second.pk  # the oldest is held: skipped
            assert services._next_due([second.pk]) is None  # the ORM's question, the same way
