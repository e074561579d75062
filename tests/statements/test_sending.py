"""Publishing e-mails the statement to signers who asked for updates and to the
press list, each in their language, once, and never to someone who unsubscribed."""

import re
import time
from email.header import decode_header, make_header
from email.message import Message as EmailMessage
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from campaigns.models import Campaign
from outbox.models import Message
from outbox.services import message_queue
from signatures.identity import email_hash
from signatures.models import Signature
from statements import services
from statements.models import PressContact, Statement
from tests.factories import make_campaign, make_signature, make_statement


def make_signer(
    campaign: Campaign,
    email: str,
    *,
    language: str = "km",
    wants_updates: bool = True,
    status: str = Signature.Status.CONFIRMED,
) -> Signature:
    return make_signature(
        campaign,
        full_name="សុខ ចាន់",
        email=email,
        language=language,
        wants_updates=wants_updates,
        status=status,
    )


def subject_of(message: EmailMessage) -> str:
    return str(make_header(decode_header(message["Subject"])))


def recipients(messages: list[EmailMessage]) -> list[str]:
    return sorted(message["To"] for message in messages)


def body_of(message: EmailMessage) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    return ""


def unsubscribe_header(message: EmailMessage) -> str:
    return "".join(str(message["List-Unsubscribe"]).split())  # long headers are folded


def people(campaign: Campaign) -> None:
    make_signer(campaign, "dara@example.org", language="km")
    make_signer(campaign, "Sok.Chan@example.org", language="en")
    make_signer(campaign, "quiet@example.org", wants_updates=False)
    make_signer(campaign, "pending@example.org", status=Signature.Status.PENDING)
    PressContact.objects.create(
        name="Reporter", outlet="Daily", email="desk@news.example", language="en"
    )
    PressContact.objects.create(name="Gone", email="gone@news.example", active=False)


def publish(statement: Statement, editor: Any) -> None:
    services.statement_transition(statement=statement, action="submit", by=editor)
    services.statement_transition(statement=statement, action="publish", by=editor)


def finished(result: Any, timeout: float = 60) -> None:
    """Poll a task's state (never result.get(): Celery refuses it in a process
    that ran tasks eagerly before)."""
    deadline = time.monotonic() + timeout
    while not result.ready():
        assert time.monotonic() < deadline, "the task never finished"
        time.sleep(0.05)
    assert result.successful()


def settle(smtp_server: Any, count: int) -> list[EmailMessage]:
    """Wait for `count` messages, then for a sentinel mail queued after them.

    The worker (one process, one queue, in order) sends the sentinel only
    after every task queued before it, so a duplicate already on its way
    would have arrived first: no fixed sleep, and no wait for a mail that
    must not come."""
    smtp_server.wait_for(count)
    sentinel = f"sentinel-{time.monotonic_ns()}@example.org"
    with transaction.atomic():
        message_queue(key=f"test:{sentinel}", to=sentinel, subject="sentinel", text="the end")
    deadline = time.monotonic() + 60
    while sentinel not in recipients(smtp_server.received) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sentinel in recipients(smtp_server.received), "the sentinel mail never came"
    return [message for message in smtp_server.received if "sentinel-" not in message["To"]]


@pytest.mark.postgres
@pytest.mark.worker
def test_worker_sends_each_person_the_statement_in_their_language(
    celery_worker_process: Any, smtp_server: Any, editor: Any, settings: Any
) -> None:
    campaign = make_campaign()
    people(campaign)
    statement = make_statement(send_to_subscribers=True, campaign=campaign)
    celery_worker_process(
        env={"EMAIL_URL": smtp_server.url, "MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    )
    publish(statement, editor)
    received = settle(smtp_server, 3)
    assert recipients(received) == ["Sok.Chan@example.org", "dara@example.org", "desk@news.example"]
    by_address = {message["To"]: message for message in received}
    assert subject_of(by_address["dara@example.org"]) == statement.title_km
    assert subject_of(by_address["Sok.Chan@example.org"]) == statement.title_en
    for message in received:
        unsubscribe = unsubscribe_header(message)
        assert re.fullmatch(r"<http://[^>]+/statements/unsubscribe/[^>]+/>", unsubscribe)
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert unsubscribe.strip("<>") in body_of(message)
    statement.refresh_from_db()
    assert statement.sending_started_at is not None


@pytest.mark.postgres
@pytest.mark.worker
def test_a_retried_batch_sends_no_duplicates(
    celery_worker_process: Any, smtp_server: Any, editor: Any, settings: Any
) -> None:
    from statements.tasks import statement_send, statement_send_batch

    campaign = make_campaign()
    people(campaign)
    statement = make_statement(send_to_subscribers=True, campaign=campaign)
    celery_worker_process(
        env={"EMAIL_URL": smtp_server.url, "MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    )
    publish(statement, editor)
    assert len(settle(smtp_server, 3)) == 3
    # The broker redelivers the whole job and one batch again (a worker died before acking).
    # Waiting until the job is done puts the batches it queues before the sentinel.
    finished(statement_send.delay(statement.pk))
    batch = [list(item) for item in services.recipients_of(statement=statement)]
    finished(statement_send_batch.delay(statement.pk, batch))
    received = settle(smtp_server, 3)
    assert recipients(received) == ["Sok.Chan@example.org", "dara@example.org", "desk@news.example"]
    assert Message.objects.filter(key__startswith=f"statement:{statement.pk}:").count() == 3


@pytest.mark.postgres
@pytest.mark.worker
def test_an_unsubscribed_person_receives_nothing(
    celery_worker_process: Any, smtp_server: Any, editor: Any, settings: Any, client: Client
) -> None:
    campaign = make_campaign()
    people(campaign)
    first = make_statement("first", send_to_subscribers=True, campaign=campaign)
    celery_worker_process(
        env={"EMAIL_URL": smtp_server.url, "MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    )
    publish(first, editor)
    received = settle(smtp_server, 3)
    to_dara = next(message for message in received if message["To"] == "dara@example.org")
    to_desk = next(message for message in received if message["To"] == "desk@news.example")
    # One click from each mail client (RFC 8058): a POST with no cookie or CSRF token.
    for message in (to_dara, to_desk):
        url = unsubscribe_header(message).strip("<>").split("127.0.0.1:8000", 1)[-1]
        response = client.post(url, {"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200
    assert not Signature.objects.filter(
        email_hash=email_hash("dara@example.org"), wants_updates=True
    ).exists()
    smtp_server.received.clear()
    second = make_statement("second", send_to_subscribers=True, campaign=campaign)
    publish(second, editor)
    received = settle(smtp_server, 1)
    assert recipients(received) == ["Sok.Chan@example.org"]


@pytest.mark.django_db(transaction=True)
def test_unsubscribing_cancels_what_is_queued_and_get_changes_nothing(
    client: Client, editor: Any, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    campaign = make_campaign()
    signer = make_signer(campaign, "dara@example.org")
    statement = make_statement(status=Statement.Status.PUBLISHED, campaign=campaign)
    url = services.unsubscribe_url(kind="signer", ident=str(signer.email_hash), language="km")
    path = url.split("127.0.0.1:8000", 1)[-1]
    with transaction.atomic():
        # Queued, not yet sent (the broker has not handed it to a worker).
        Message.objects.create(
            key=f"statement:{statement.pk}:signer:{signer.email_hash}",
            to="dara@example.org",
            subject="x",
            body_text="x",
        )
    assert client.get(path).status_code == 200
    signer.refresh_from_db()
    assert signer.wants_updates is True
    assert client.post(path).status_code == 200
    signer.refresh_from_db()
    assert signer.wants_updates is False
    assert Message.objects.get().status == Message.Status.CANCELLED
    assert client.post(path.replace("unsubscribe/", "unsubscribe/x")).status_code == 400


@pytest.mark.django_db(transaction=True)
def test_publishing_without_the_option_sends_nothing(editor: Any, mailoutbox: Any) -> None:
    campaign = make_campaign()
    make_signer(campaign, "dara@example.org")
    statement = make_statement(send_to_subscribers=False, campaign=campaign)
    publish(statement, editor)
    assert mailoutbox == []
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_statement_for_one_campaign_reaches_no_signer_of_another_only() -> None:
    campaign_a = make_campaign("campaign-a")
    campaign_b = make_campaign("campaign-b")
    make_signer(campaign_a, "a-only@example.org")
    make_signer(campaign_b, "b-only@example.org")
    both = "both@example.org"
    make_signer(campaign_a, both, wants_updates=False)  # no news of A, thank you
    make_signer(campaign_b, both)
    statement = make_statement(status=Statement.Status.PUBLISHED, campaign=campaign_a)
    signers = [ident for kind, ident in services.recipients_of(statement=statement)]
    assert signers == [email_hash("a-only@example.org")]
    services.statement_send_batch(
        statement_id=statement.pk,
        recipients=[["signer", email_hash(address)] for address in ("b-only@example.org", both)],
    )
    assert not Message.objects.exists()  # a stale batch naming B's signers sends nothing


@pytest.mark.django_db
def test_a_statement_tied_to_no_campaign_goes_to_the_press_list_only() -> None:
    make_signer(make_campaign(), "signer@example.org")
    PressContact.objects.create(name="Reporter", email="desk@news.example")
    statement = make_statement(status=Statement.Status.PUBLISHED)
    assert [kind for kind, _ident in services.recipients_of(statement=statement)] == ["press"]
