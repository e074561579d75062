"""Confirming, withdrawing and stopping news through Telegram.

The webhook only stores the update (`update_receive`: one INSERT, its
update_id unique, so Telegram's redeliveries do nothing) and a worker
handles it (`update_handle`), with the same guarantees as e-mail: the
person is the Telegram user, kept as a keyed hash (one signature per person
per campaign, by the same kind of unique constraint as the e-mail hash);
only a confirmed signature counts, through `Signature.confirm`; the chat is
kept encrypted, only to answer, and erased on withdrawal. Every answer goes
through the outbox, keyed by the update, so it is sent once.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from core import countlog, telegram_api
from core.background import after_commit
from core.crypto import keyed_hash
from outbox.models import Message
from outbox.services import message_queue, messages_cancel
from signatures import links, services, tallies
from signatures.models import Signature, TelegramUpdate
from signatures.services import Confirmation

if TYPE_CHECKING:
    from telegram import Update

logger = logging.getLogger(__name__)

HANDLE_TASK = "signatures.tasks.telegram_update_handle"
# An update whose task was lost (a broker outage) is handled by the sweep after this.
HANDLE_GRACE = timedelta(seconds=60)
# Telegram redelivers an update for at most a day; its id is kept a week.
HANDLED_KEPT = timedelta(days=7)
# An update that still fails after a day of retries is given up (and logged):
# its content names a person, and retrying it for ever helps nobody.
GIVE_UP_AFTER = timedelta(days=1)
LANGUAGES = ("km", "en")


def user_hash(user_id: int) -> str:
    """What is kept of a Telegram user: a keyed hash, like the e-mail's."""
    return keyed_hash(f"telegram:{user_id}")


# --- In the webhook request ----------------------------------------------------


def update_receive(*, data: dict[str, Any]) -> bool:
    """Keep an update for a worker. False when it was received before."""
    try:
        with transaction.atomic():
            TelegramUpdate.objects.create(update_id=data["update_id"], payload=json.dumps(data))
    except IntegrityError:
        return False
    after_commit(HANDLE_TASK, data["update_id"])
    return True


# --- In the worker -------------------------------------------------------------


def update_handle(*, update_id: int) -> bool:
    """Handle one stored update, once. Returns whether it was handled now."""
    with transaction.atomic():
        stored = (
            TelegramUpdate.objects.select_for_update()
            .filter(update_id=update_id, handled_at__isnull=True)
            .first()
        )
        if stored is None:
            return False
        update = telegram_api.update_parse(json.loads(stored.payload))
        if update is not None:
            _converse(update)
        # What named the person goes; the id stays, so a redelivery does nothing.
        stored.payload = ""
        stored.handled_at = timezone.now()
        stored.save(update_fields=["payload", "handled_at"])
    return True


def updates_handle_due() -> int:
    """Handle updates whose task was lost, and forget the ids of updates
    handled long ago. Returns how many were handled."""
    now = timezone.now()
    TelegramUpdate.objects.filter(handled_at__lt=now - HANDLED_KEPT).delete()
    given_up = TelegramUpdate.objects.filter(
        handled_at__isnull=True, received_at__lt=now - GIVE_UP_AFTER
    ).update(payload="", handled_at=now)
    if given_up:
        logger.error("telegram: gave up %s update(s) that kept failing for a day", given_up)
    due = TelegramUpdate.objects.filter(
        handled_at__isnull=True, received_at__lt=now - HANDLE_GRACE
    ).values_list("update_id", flat=True)
    handled = 0
    for update_id in list(due[:500]):
        try:
            handled += update_handle(update_id=update_id)
        except (OperationalError, InterfaceError):
            raise  # the database is away: the next sweep tries them all again
        except Exception:
            logger.exception("telegram: update %s not handled; retried later", update_id)
    return handled


class _Conversation:
    """One update's person, chat and answer."""

    def __init__(self, update: Update) -> None:
        message = update.effective_message
        user = update.effective_user
        assert message is not None and user is not None
        self.update_id = update.update_id
        self.chat_id = str(message.chat.id)
        self.user_hash = user_hash(user.id)
        code = (user.language_code or "").lower()
        self.language = "km" if code.startswith("km") else "en"

    def answer(self, template: str, language: str = "", **context: Any) -> None:
        language = language if language in LANGUAGES else self.language
        with translation.override(language):
            text = render_to_string(f"telegram/{template}.txt", context).strip()
        message_queue(
            key=f"telegram:update:{self.update_id}",
            channel=Message.Channel.TELEGRAM,
            to=self.chat_id,
            subject="",
            text=text,
        )


def _converse(update: Update) -> None:
    message = update.effective_message
    if (
        message is None
        or update.effective_user is None
        or message.chat.type != "private"
        or not message.text
    ):
        return  # not a person writing to the bot: nothing to answer
    conversation = _Conversation(update)
    command, _, argument = message.text.strip().partition(" ")
    command = command.split("@", 1)[0].lower()
    argument = argument.strip()
    if command == "/start" and argument:
        _start(conversation, token=argument)
    elif command == "/withdraw":
        _withdraw(conversation, slug=argument)
    elif command == "/stop":
        _stop(conversation)
    else:
        conversation.answer("help")


def _start(conversation: _Conversation, *, token: str) -> None:
    signature = (
        Signature.objects.select_for_update(of=("self",))
        .select_related("campaign")
        .filter(telegram_token=token, channel=Signature.Channel.TELEGRAM)
        .first()
    )
    refused = services.confirmation_refused(signature) if signature else Confirmation.INVALID
    if signature is None or refused == Confirmation.INVALID:
        conversation.answer("link_invalid")
        return
    campaign, language = signature.campaign, signature.language
    if signature.telegram_hash is not None:
        # Start pressed again (or the link passed on to someone else).
        mine = signature.telegram_hash == conversation.user_hash
        template = "already_signed" if mine else "link_invalid"
        conversation.answer(template, language, campaign=campaign, count=_count(campaign))
        return
    max_age = timedelta(days=settings.SIGNATURE_CONFIRM_MAX_AGE_DAYS)
    if timezone.now() - signature.created_at > max_age:
        conversation.answer("link_expired", language, campaign=campaign)
        return
    if refused == Confirmation.CLOSED:
        conversation.answer("closed", language, campaign=campaign)
        return
    signature.telegram_hash = conversation.user_hash
    signature.telegram_chat = conversation.chat_id
    try:
        with transaction.atomic():
            signature.save(update_fields=["telegram_hash", "telegram_chat"])
    except IntegrityError:
        # This Telegram account already has a standing signature here.
        conversation.answer("already_signed", language, campaign=campaign, count=_count(campaign))
        return
    # As a confirmation link's: readers' figures follow on their timer; the
    # answer counts this signer (_count reads in this transaction).
    signature.confirm(held_lock=True)
    with translation.override(language if language in LANGUAGES else conversation.language):
        # The campaign's address in the signer's language, as the answer's words are.
        campaign_url = settings.SITE_URL + campaign.get_absolute_url()
    conversation.answer(
        "held" if signature.status == Signature.Status.SUSPECT else "confirmed",
        language,
        campaign=campaign,
        count=_count(campaign),
        campaign_url=campaign_url,
        withdrawal_link=links.withdrawal_link(signature),
        receipt=countlog.receipt_display(signature.receipt),
        verify_link=links.receipt_check_link(signature),
    )


def _count(campaign: Any) -> int:
    # Read in this transaction: it includes the confirmation just made.
    return sum(tallies.stored_counts(campaign.pk).values())


def _withdraw(conversation: _Conversation, *, slug: str) -> None:
    standing = (
        Signature.objects.standing()
        .select_related("campaign")
        .filter(telegram_hash=conversation.user_hash)
        .order_by("-created_at")
    )
    if slug:
        standing = standing.filter(campaign__slug=slug)
    signatures = list(standing)
    if not signatures:
        conversation.answer("nothing_to_withdraw")
        return
    if len(signatures) > 1:
        conversation.answer("withdraw_which", campaigns=[s.campaign for s in signatures])
        return
    signature = signatures[0]
    language, campaign = signature.language, signature.campaign
    if signature.withdraw():
        services.count_moved(campaign)
    conversation.answer("withdrawn", language, campaign=campaign, count=_count(campaign))


def _stop(conversation: _Conversation) -> None:
    Signature.objects.telegram_news_stop(telegram_hash=conversation.user_hash)
    # Statements queued for this person and not sent yet are not sent either
    # (their keys: statements.services.statement_telegram_queue).
    messages_cancel(key_prefix="statement:", key_suffix=f":telegram:{conversation.user_hash}")
    conversation.answer("stopped")
