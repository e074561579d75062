"""Queue e-mail and Telegram messages through the outbox and send each once."""

import logging
import smtplib
import threading
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.db.models import QuerySet

from core import telegram_api
from core.background import drain_after_commit, rows_drain, task_queue
from core.compiled import CompiledRead, insert_instance
from outbox.models import Message

logger = logging.getLogger(__name__)

# A message queued a moment ago is still on its way through the broker: the
# flush leaves it alone for this long before assuming the broker lost it.
FLUSH_GRACE = timedelta(seconds=60)


# Messages are sent by a drain (core.background): one task sends every
# message that is due, instead of one Celery message per e-mail, whose
# publishing and handling cost the worker more than rendering the e-mail.
# The row lock and its status still send each message once.
DRAIN_TASK = "outbox.tasks.messages_drain"
DRAIN_BATCH = 200
# A message is due from its next attempt time, which the host that wrote it
# set by its own clock: a drain on a host whose clock runs a moment behind
# must not leave a message written a moment ago for the flush. Sending one
# a few seconds before its backoff ends does no harm.
CLOCK_TOLERANCE = timedelta(seconds=5)


def messages_send_soon() -> None:
    """Ask for a drain once the current transaction commits (at once outside
    one), unless one is queued already and has not started."""
    drain_after_commit(DRAIN_TASK)


def message_queue(
    *,
    key: str,
    to: str,
    subject: str,
    text: str,
    html: str = "",
    headers: dict[str, str] | None = None,
    fresh: bool = False,
    channel: str = Message.Channel.EMAIL,
) -> Message:
    """Write a message in the current transaction and queue its sending on commit.

    A second call with the same key returns the existing message and sends
    nothing more. `fresh`: the key names a row created in this transaction,
    so it cannot exist yet (one INSERT instead of a look-up and a savepoint,
    on the signing path). `channel` Telegram: `to` is the chat id and `text`
    the message; there is no subject or HTML.
    """
    # A title with a line break would be a header injection: Django refuses to
    # send it (BadHeaderError) and the message would fail for ever.
    subject = " ".join(subject.split())[:300]
    fields = {
        "channel": channel,
        "to": to,
        "subject": subject,
        "body_text": text,
        "body_html": html,
    }
    if fresh:
        # objects.create() with its INSERT written once per process.
        message, created = Message(key=key, headers=headers or {}, **fields), True
        insert_instance(message)
    else:
        message, created = Message.objects.get_or_create(
            key=key, defaults={"headers": headers or {}, **fields}
        )
    if created:
        # A broker outage is logged, not raised: the row is committed, and
        # outbox_flush asks for a drain again later.
        messages_send_soon()
    return message


def messages_erase(*, key_prefix: str) -> int:
    """Delete every message whose key starts with `key_prefix`, sent or not:
    they carry an address that is being erased (a withdrawal, a purge)."""
    deleted, _by_model = Message.objects.filter(key__startswith=key_prefix).delete()
    return deleted


def messages_cancel(*, key_prefix: str, key_suffix: str = "") -> int:
    """Cancel the messages not sent yet whose key starts with `key_prefix`
    (and ends with `key_suffix`): the person asked for no more."""
    return (
        Message.objects.filter(key__startswith=key_prefix, key__endswith=key_suffix)
        .filter(status=Message.Status.PENDING)
        .update(status=Message.Status.CANCELLED)
    )


# One SMTP connection per worker process (per thread, where eager tasks run
# in web threads), reused from message to message: a handshake per e-mail
# cost more than the e-mail (EHLO, STARTTLS, AUTH ...).
_kept = threading.local()


def _kept_smtp_connection() -> SmtpBackend | None:
    """This thread's SMTP connection to the configured server, or None when
    mail does not go over SMTP (files, memory, console)."""
    connection = get_connection()
    if not isinstance(connection, SmtpBackend):
        return None
    where = (
        connection.host,
        connection.port,
        connection.username,
        connection.use_tls,
        connection.use_ssl,
    )
    connections: dict[tuple[Any, ...], SmtpBackend] = _kept.__dict__.setdefault("smtp", {})
    return connections.setdefault(where, connection)


def mail_connections_close() -> None:
    """Close this thread's kept SMTP connections (tests, a changed mail server)."""
    for connection in _kept.__dict__.pop("smtp", {}).values():
        connection.close()


def _deliver(email: EmailMultiAlternatives) -> None:
    connection = _kept_smtp_connection()
    if connection is None:
        email.send()
        return
    email.connection = connection
    try:
        try:
            connection.open()  # nothing to do when it is open already
            email.send()
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPSenderRefused) as error:
            # A kept connection the server dropped while idle: gone, or "421
            # closing channel" at MAIL FROM. Sent again at once on a new
            # connection with the same Message-ID, so should the server have
            # taken it after all, the copy is recognisable as one.
            if isinstance(error, smtplib.SMTPSenderRefused) and error.smtp_code != 421:
                raise
            connection.close()
            connection.open()
            email.send()
    except Exception:
        connection.close()  # a fresh connection for the next message
        raise


def error_describe(error: BaseException) -> str:
    """What went wrong, for the admin: the kind of error and the server's
    replies. A refusal's recipients are left out (they are the signers'
    addresses: `str()` of SMTPRecipientsRefused is a dict keyed by them);
    what is left still passes through `Message.record_failure`'s redaction."""
    kind = type(error).__name__
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = [_reply(code, text) for code, text in error.recipients.values()]
        return f"{kind}: " + "; ".join(dict.fromkeys(replies))
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{kind}: {_reply(error.smtp_code, error.smtp_error)}"
    return f"{kind}: {error}"


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return f"{code} {' '.join(text.split())}"


def messages_send_due(*, limit: int = DRAIN_BATCH) -> int:
    """Send the messages that are due, oldest first, up to `limit`. Returns
    how many were tried (sent, or failed and given their next attempt time).

    Each is sent in a transaction of its own, its row locked (SKIP LOCKED:
    two drains at once take different messages) while the SMTP server is
    talked to, and only while it is still pending: a drain delivered twice
    (after a killed worker) cannot send a message twice. A failure is
    recorded with its next attempt time (backoff), when the flush asks for
    a drain again. A message that fails for another reason (a bug) is
    logged and left for the flush; a database error is raised, for the
    task to retry."""
    return rows_drain(
        _next_due,
        _message_send,
        limit=limit,
        log=logger,
        failure="outbox: message %s not sent; the flush tries again",
    )


def _due(broken: Sequence[int] = ()) -> QuerySet[Message]:
    """The next message due, locked, that no other drain holds."""
    due = Message.objects.due(grace=-CLOCK_TOLERANCE).select_for_update(skip_locked=True)
    if broken:
        due = due.exclude(pk__in=broken)
    return due.order_by("next_attempt_at", "pk")[:1]


# The drain's usual question (nothing broken), written once per process.
NEXT_DUE = CompiledRead(lambda _marker: _due())


def _next_due(broken: list[int]) -> Message | None:
    return _due(broken).first() if broken else NEXT_DUE.first()


def _message_send(message: Message) -> bool:
    """Send `message`, pending and locked. Returns True if it was sent."""
    if message.channel == Message.Channel.TELEGRAM:
        return _telegram_send(message)
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to],
        headers={"Message-ID": message.message_id, **message.headers},
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    try:
        _deliver(email)
    except Exception as error:  # SMTP refusal, timeout, DNS: all retried the same way
        message.record_failure(error_describe(error), settings.OUTBOX_MAX_ATTEMPTS)
        logger.warning("outbox: sending %s failed (attempt %s)", message.key, message.attempts)
        return False
    message.mark_sent()
    return True


def _telegram_send(message: Message) -> bool:
    # Called with the row locked, as for e-mail: a redelivered task waits,
    # then finds it sent. Telegram has no Message-ID or idempotency key to
    # recognise a resend: a worker killed after Telegram received the
    # request and before this commit, or a reply lost to a timeout, means
    # the person gets the message twice (at least once, never lost).
    try:
        telegram_api.message_send(chat_id=message.to, text=message.body_text)
    except telegram_api.Refused as error:
        # The person blocked the bot, or Telegram refuses this message: the
        # same request would be refused again, so it is not retried.
        message.record_failure(str(error), max_attempts=1)
        logger.warning("outbox: Telegram refused %s", message.key)
        return False
    except telegram_api.Unavailable as error:  # timeouts, 5xx, RetryAfter: tried again with backoff
        message.record_failure(str(error), settings.OUTBOX_MAX_ATTEMPTS)
        logger.warning("outbox: sending %s failed (attempt %s)", message.key, message.attempts)
        return False
    message.mark_sent()
    return True


def outbox_flush() -> int:
    """Ask for a drain when messages are due: failed attempts after their
    backoff, and messages whose drain the broker lost (due for a minute).
    Returns how many are due. The drain is queued even if one was asked
    for a moment ago: that one may be the one that was lost."""
    due = Message.objects.due(grace=FLUSH_GRACE).count()
    if due:
        try:
            task_queue(DRAIN_TASK)
        except Exception:
            logger.warning("outbox: could not queue a drain; the next flush tries again")
    return due
