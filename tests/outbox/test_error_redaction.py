"""A failed send is recorded without the recipient's address: `last_error` is
shown in the admin (to staff without two-factor too) and kept in every
database dump."""

from __future__ import annotations

import logging
import smtplib
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from core import roles
from outbox import services
from outbox.models import Message
from outbox.services import message_queue, messages_send_due
from tests.factories import make_staff, sign_in

ADDRESS = "Sok.Dara+petition@example.org"


def queue(to: str = ADDRESS, key: str = "test:refused") -> Message:
    with transaction.atomic():
        return message_queue(key=key, to=to, subject="សួស្តី", text="Hello")


class RefuseRecipients:
    """An SMTP server that refuses every recipient as a real one does: the
    address is echoed back in the reply."""

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's name
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in mailbox"


@pytest.fixture
def refusing_smtp_server(settings: Any) -> Iterator[None]:
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(RefuseRecipients(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield
    services.mail_connections_close()
    controller.stop()


def assert_no_address(text: str) -> None:
    lowered = text.lower()
    for part in ("sok.dara", "petition@", "example.org", "sok.dara%40"):
        assert part not in lowered, text


@pytest.mark.django_db(transaction=True)
def test_a_refused_recipient_is_recorded_without_the_address(
    refusing_smtp_server: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    message = queue()
    message.refresh_from_db()
    assert message.status == Message.Status.PENDING and message.attempts == 1
    assert message.last_error.startswith("SMTPRecipientsRefused")
    assert "550" in message.last_error and "User unknown" in message.last_error
    assert_no_address(message.last_error)
    assert "[email]" in message.last_error
    for record in caplog.records:
        assert_no_address(record.getMessage())


@pytest.mark.django_db(transaction=True)
def test_the_outbox_admin_shows_the_error_without_the_address(
    refusing_smtp_server: None,
) -> None:
    queue()
    client = Client()
    client.force_login(make_staff(roles.ORGANISER))  # no two-factor
    listing = client.get("/en/admin/outbox/message/").content.decode()
    assert "SMTPRecipientsRefused" in listing
    assert_no_address(listing)


# The exception types smtplib raises, each carrying the address its own way.
ERRORS = {
    "recipients-refused": lambda: smtplib.SMTPRecipientsRefused(
        {ADDRESS: (550, f"5.1.1 <{ADDRESS}>: Recipient address rejected".encode())}
    ),
    "recipients-refused-lowercased": lambda: smtplib.SMTPRecipientsRefused(
        {ADDRESS.lower(): (550, b"5.7.1 relay denied")}
    ),
    "data-error": lambda: smtplib.SMTPDataError(
        554, f"5.7.1 Message to {ADDRESS} rejected as spam".encode()
    ),
    "sender-refused": lambda: smtplib.SMTPSenderRefused(
        553, b"5.7.1 Sender rejected", "noreply@ceroc.example"
    ),
    "response": lambda: smtplib.SMTPResponseException(
        452, f"4.2.2 Mailbox full: {ADDRESS}".encode()
    ),
    "disconnected": lambda: smtplib.SMTPServerDisconnected(f"lost while sending to {ADDRESS}"),
    "quoted-local-part": lambda: smtplib.SMTPRecipientsRefused(
        {'"sok dara"@example.org': (550, b"5.1.1 no such user")}
    ),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("make_error", ERRORS.values(), ids=ERRORS.keys())
def test_every_smtp_error_is_stored_without_addresses(
    monkeypatch: pytest.MonkeyPatch, make_error: Any
) -> None:
    monkeypatch.setattr(services, "_kept_smtp_connection", lambda: None)
    message = Message.objects.create(key="test:x", to=ADDRESS, subject="s", body_text="t")

    def refuse(self: Any, fail_silently: bool = False) -> int:
        raise make_error()

    from django.core.mail import EmailMessage

    monkeypatch.setattr(EmailMessage, "send", refuse)
    assert messages_send_due() == 1  # tried, and refused
    message.refresh_from_db()
    assert message.attempts == 1
    assert message.last_error.startswith(type(make_error()).__name__)
    assert_no_address(message.last_error)
    assert "sok dara" not in message.last_error
    # The sender is ours, not a signer's: it may stay to tell what went wrong.
    if isinstance(make_error(), smtplib.SMTPSenderRefused):
        assert "553" in message.last_error


@pytest.mark.django_db
def test_an_address_cut_by_the_length_limit_is_still_removed() -> None:
    message = Message.objects.create(key="test:long", to=ADDRESS, subject="s", body_text="t")
    message.record_failure("x" * 480 + f" <{ADDRESS}>", max_attempts=8)
    message.refresh_from_db()
    assert len(message.last_error) <= 500
    assert "sok" not in message.last_error.lower()


@pytest.mark.django_db
def test_staff_with_two_factor_still_read_the_cause() -> None:
    message = Message.objects.create(key="test:cause", to=ADDRESS, subject="s", body_text="t")
    message.record_failure(
        f"SMTPRecipientsRefused: 550 5.1.1 <{ADDRESS}>: User unknown", max_attempts=8
    )
    client = Client()
    sign_in(client, make_staff(roles.ORGANISER, two_factor=True))
    page = client.get(f"/en/admin/outbox/message/{message.pk}/change/").content.decode()
    assert "550 5.1.1 &lt;[email]&gt;: User unknown" in page


@pytest.mark.django_db
def test_errors_stored_before_redaction_are_redacted_by_the_migration() -> None:
    from importlib import import_module

    from django.apps import apps

    migration = import_module("outbox.migrations.0003_redact_stored_errors")
    message = Message.objects.create(key="test:old", to=ADDRESS, subject="s", body_text="t")
    old = f"SMTPRecipientsRefused: {{'{ADDRESS.lower()}': (550, b'5.1.1 <{ADDRESS}>: unknown')}}"
    Message.objects.filter(pk=message.pk).update(last_error=old)
    untouched = Message.objects.create(
        key="test:fine", to=ADDRESS, subject="s", body_text="t", last_error="451 Try again later"
    )
    migration.redact_stored_errors(apps, None)
    message.refresh_from_db()
    untouched.refresh_from_db()
    assert_no_address(message.last_error)
    assert "(550, b'5.1.1 <[email]>: unknown')" in message.last_error
    assert untouched.last_error == "451 Try again later"
