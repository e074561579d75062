"""Signing, confirming and withdrawing: the work that spans models and mail."""

from __future__ import annotations

import copy
import enum
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.published import published_copy_attach
from core.background import drain_after_commit, rows_drain
from core.compiled import CompiledRead, delete_row, insert_instance, insert_row
from core.http import client_ip, network_of
from outbox.services import message_queue, messages_erase
from signatures import identity, links, mails, policy, tallies
from signatures.models import Signature, Submission

logger = logging.getLogger(__name__)

# A pending signature may still be confirmed this long after its campaign closed.
CONFIRMATION_GRACE = timedelta(hours=24)

DRAIN_TASK = "signatures.tasks.submissions_drain"
# A submission received a moment ago is still on its way to a worker: the
# periodic sweep leaves it alone this long before assuming its drain was lost.
SUBMISSION_GRACE = timedelta(seconds=60)
# A drain hands over to a new one after this many, so that other tasks run.
DRAIN_BATCH = 500


# --- Screening a submission ---------------------------------------------


@dataclass(frozen=True)
class Screening:
    """What to do with a valid submission before storing it."""

    store: bool = True  # False: show the normal page, keep nothing
    suspect_reason: str = ""


def submission_screen(
    *,
    request: HttpRequest,
    campaign: Campaign,
    email: str,
    suspect_reason: str = "",
    form_token: str = "",
) -> Screening:
    """The organisers' rules (signatures.policy), then the marks the
    submission leaves: its form token's first use (`form_token`, "" for
    none) and the rate limits of its client, IPv4 clients by address and
    IPv6 clients by network."""
    ip_address = client_ip(request)
    verdict = policy.submission_verdict(
        campaign=campaign, email_domain=identity.email_domain(email), ip_address=ip_address
    )
    if verdict.blocked:
        return Screening(store=False)
    client = network_of(ip_address, ipv6_prefix=settings.SIGNATURE_RATE_IPV6_PREFIX)
    marks = policy.submission_marks(form_token=form_token, client=client or "unknown")
    if marks.over_rate_limit:
        return Screening(suspect_reason=policy.OVER_RATE_LIMIT_REASON)
    if marks.token_reused:
        suspect_reason = policy.REPLAYED_FORM_REASON
    return Screening(suspect_reason=verdict.suspect_reason or suspect_reason)


# --- Receiving a submission (in the request) ------------------------------


def submission_receive(
    *,
    campaign: Campaign,
    data: dict[str, Any],
    ip_address: str | None,
    language: str,
    suspect_reason: str = "",
) -> None:
    """Keep a valid signing form for a worker, and ask for a drain.

    Nothing here depends on whether the address has signed before: one
    INSERT and one cache write (a Celery message too, when no drain is
    queued), every time, so neither the answer nor its timing tells anyone.
    Everything that depends on the address's history happens in the worker
    (`submissions_process`). With the broker down the row is kept, and the
    periodic sweep (`submissions_process_due`) takes it later.
    """
    payload = {
        "data": data,
        "ip_address": ip_address,
        "language": language,
        "suspect_reason": suspect_reason,
    }
    # One INSERT is atomic by itself: no BEGIN and COMMIT around it (two
    # round trips to PostgreSQL). Written once per process (core.compiled):
    # the ORM's create() cost a fifth of the request, and nothing reads the
    # row back here. Outside a transaction the drain is asked for at once;
    # inside the caller's, when it commits.
    insert_row(
        Submission,
        {
            "campaign": campaign.pk,
            "payload": json.dumps(payload, cls=DjangoJSONEncoder),
            "received_at": timezone.now(),
        },
    )
    drain_after_commit(DRAIN_TASK)


# --- Processing a submission (in the worker) ------------------------------


def _submission_process(submission: Submission) -> Signature:
    received = json.loads(submission.payload)
    signature = signature_submit(
        campaign=submission.campaign,
        data=received["data"],
        ip_address=received["ip_address"],
        language=received["language"],
        suspect_reason=received["suspect_reason"],
        signed_at=submission.received_at,
    )
    delete_row(submission)
    return signature


def _waiting(
    *, failed: Sequence[int] = (), received_before: datetime | None = None
) -> QuerySet[Submission]:
    """The oldest submission waiting, locked, that no other drain holds:
    each is processed once however many drains run."""
    waiting = (
        Submission.objects.select_for_update(skip_locked=True, of=("self",))
        .annotate(campaign_slug=F("campaign__slug"))
        .order_by("pk")
    )
    if failed:
        waiting = waiting.exclude(pk__in=failed)
    if received_before is not None:
        waiting = waiting.filter(received_at__lt=received_before)
    return waiting[:1]


# The drain's usual question (nothing failed, no time limit), written once
# per process: the ORM wrote it afresh for every submission, a fifth of the
# worker's CPU.
NEXT_WAITING = CompiledRead(lambda _marker: _waiting())


def _next_waiting(failed: list[int], received_before: datetime | None) -> Submission | None:
    if failed or received_before is not None:
        submission = _waiting(failed=failed, received_before=received_before).first()
    else:
        submission = NEXT_WAITING.first()
    if submission is not None:
        published_copy_attach(submission)  # the campaign as the sign POST read it
    return submission


def submissions_process(
    *, received_before: datetime | None = None, limit: int = DRAIN_BATCH
) -> int:
    """Turn received submissions into signatures (or mails to people who sign
    again), oldest first, up to `limit`. Returns how many were processed.

    Each is processed and deleted in a transaction of its own, under a row
    lock taken with SKIP LOCKED: exactly once, even with two drains at once.
    A submission that fails for a reason other than the database is logged
    and left for the periodic sweep; a database error is raised, for the
    task to retry."""
    return rows_drain(
        lambda failed: _next_waiting(failed, received_before),
        _submission_process,
        limit=limit,
        log=logger,
        failure="submission %s not processed; the periodic sweep retries",
    )


def submissions_process_due(
    *, grace: timedelta = SUBMISSION_GRACE, limit: int = DRAIN_BATCH
) -> int:
    """Process the submissions whose drain was lost (the broker was down, a
    worker was killed). Returns how many were processed."""
    return submissions_process(received_before=timezone.now() - grace, limit=limit)


def signature_submit(
    *,
    campaign: Campaign,
    data: dict[str, Any],
    ip_address: str | None,
    language: str,
    suspect_reason: str = "",
    signed_at: datetime | None = None,
) -> Signature:
    """Store a signature as pending (or suspect) and queue its confirmation.
    Called by the worker (`submissions_process`), never in the request.

    Signing again with the same e-mail is not an error: the database's unique
    constraint decides under concurrency, and the person gets the
    confirmation again (while pending) or an "already signed" e-mail. The
    caller shows the same page in every case.
    """
    email = data["email"]
    if data.get("channel") == Signature.Channel.TELEGRAM:
        return _telegram_signature_create(
            campaign=campaign,
            data=data,
            ip_address=ip_address,
            language=language,
            suspect_reason=suspect_reason,
            signed_at=signed_at,
        )
    email_hash = identity.email_hash(email)
    for _attempt in range(3):
        try:
            # No savepoint on the common path: when the constraint refuses the
            # INSERT, the whole transaction rolls back (with its queued mail)
            # and the person is handled as signing again, in a new transaction.
            with transaction.atomic():
                signature = Signature(
                    campaign=campaign,
                    email=email,
                    email_hash=email_hash,
                    confirmation_sends=1,  # the mail queued just below
                    created_at=signed_at or timezone.now(),
                    **_signature_fields(
                        data,
                        ip_address=ip_address,
                        language=language,
                        suspect_reason=suspect_reason,
                    ),
                )
                # objects.create() with its INSERT written once per process.
                insert_instance(signature)
                _mail(signature, "confirm", counted=True)
                return signature
        except IntegrityError:
            pass
        with transaction.atomic():
            # An invalidated signature keeps its hash but no longer stands
            # (the unique constraint leaves it out): never "signing again" to it.
            existing = (
                Signature.objects.standing()
                .select_for_update()
                .filter(campaign=campaign, email_hash=email_hash)
                .first()
            )
            if existing is not None:
                if not suspect_reason:  # never mail someone on behalf of a flooding IP
                    _signing_again(existing, language=language)
                return existing
        # Withdrawn between our INSERT and this read (its hash is gone): try again.
    raise RuntimeError("signature_submit: the unique constraint kept refusing a new signature")


def _signature_fields(
    data: dict[str, Any], *, ip_address: str | None, language: str, suspect_reason: str
) -> dict[str, Any]:
    return {
        "status": Signature.Status.SUSPECT if suspect_reason else Signature.Status.PENDING,
        "suspect_reason": suspect_reason[:200],
        "full_name": data["full_name"],
        "name_key": identity.name_key(data["full_name"])[:200],
        "phone": data.get("phone", ""),
        "country": data["country"],
        "city": data.get("city", ""),
        "province": data.get("province", ""),
        "answers": data.get("answers", {}),
        "show_publicly": data.get("show_publicly", False),
        "wants_updates": data.get("wants_updates", False),
        "language": language,
        "ip_address": ip_address,
        "referrer": data.get("referrer", ""),
        "utm": data.get("utm", {}),
    }


def _telegram_signature_create(
    *,
    campaign: Campaign,
    data: dict[str, Any],
    ip_address: str | None,
    language: str,
    suspect_reason: str,
    signed_at: datetime | None,
) -> Signature:
    """A signature to be confirmed through Telegram: no address, no mail.
    Who the person is becomes known when they press Start with the link's
    token (signatures.telegram), and duplicates are found then."""
    signature = Signature(
        campaign=campaign,
        channel=Signature.Channel.TELEGRAM,
        telegram_token=data["telegram_token"],
        created_at=signed_at or timezone.now(),
        **_signature_fields(
            data, ip_address=ip_address, language=language, suspect_reason=suspect_reason
        ),
    )
    insert_instance(signature)  # objects.create(), its INSERT written once per process
    return signature


def _signing_again(signature: Signature, *, language: str) -> None:
    # The mail answers the page the person signed from this time, whatever
    # language they signed in first.
    if signature.awaits_confirmation:
        confirmation_send(signature, language=language)
    elif signature.status in {Signature.Status.CONFIRMED, Signature.Status.SUSPECT}:
        already_signed_send(signature, language=language)
    # Invalidated: nothing to say; the page looks the same anyway.


# --- E-mails ---------------------------------------------------------------


def _sends_left(signature: Signature) -> bool:
    return signature.confirmation_sends < settings.SIGNATURE_MAX_CONFIRMATION_SENDS


def _mail(
    signature: Signature,
    kind: str,
    counted: bool = False,
    language: str = "",
) -> None:
    """Render `emails/signatures/<kind>.*` in the signer's language (or in
    `language`, the page they are on now) and queue it in the current
    transaction, once per signature and send number.
    `counted`: the caller already counted this send in `confirmation_sends`
    (a signature created in this transaction: its first mail's key is new).
    The templates read `signature.status`: a signature held for review
    (suspect) is never promised that it counts."""
    if not counted:
        Signature.objects.filter(pk=signature.pk).update(
            confirmation_sends=signature.confirmation_sends + 1
        )
        signature.confirmation_sends += 1
    mail = mails.mail_make(_in_language(signature, language), kind)
    message_queue(
        key=f"{Signature.mail_key_prefix(signature.pk)}{kind}:{signature.confirmation_sends}",
        to=signature.email,
        subject=mail.subject,
        text=mail.text,
        html=mail.html,
        headers={"Auto-Submitted": "auto-generated"},
        fresh=counted,
    )


def confirmation_send(signature: Signature, *, language: str = "") -> bool:
    """Queue the confirmation e-mail; at most SIGNATURE_MAX_CONFIRMATION_SENDS in all."""
    if not _sends_left(signature) or not signature.email:
        return False
    _mail(signature, "confirm", language=language)
    return True


def _in_language(signature: Signature, language: str) -> Signature:
    """The signature as one mail shows it: text, links and <html lang> in
    `language` (the page the person is on now). The stored choice, which later
    news follows, stays the person's first one: only a copy changes."""
    if not language or language == signature.language:
        return signature
    shown = copy.copy(signature)
    shown.language = language
    return shown


def already_signed_send(signature: Signature, *, language: str = "") -> bool:
    """Tell a confirmed signer who signs again that it is already counted (or,
    held for review, that it will be once checked). Shares the send limit, so
    nobody can flood an inbox through our form."""
    if not _sends_left(signature) or not signature.email:
        return False
    _mail(signature, "already_signed", language=language)
    return True


# --- Confirming and withdrawing --------------------------------------------


class Confirmation(enum.Enum):
    CONFIRMED = "confirmed"  # counted, now or earlier: the page is the same
    HELD = "held"  # e-mail confirmed, but held for review (suspect): not counted yet
    EXPIRED = "expired"
    INVALID = "invalid"
    CLOSED = "closed"


@dataclass(frozen=True)
class ConfirmationResult:
    outcome: Confirmation
    campaign: Campaign | None = None
    receipt: str = ""  # confirmed or held: the signer's code for the public record
    # Confirmed or held: the figures the signer's page shows, with their own
    # signature counted when it counts (tallies.figures_with).
    figures: tallies.Figures | None = None


def confirmations_open(campaign: Campaign) -> bool:
    """Open campaigns, and closed ones for CONFIRMATION_GRACE after closing."""
    if campaign.is_open():
        return True
    ended_at = campaign.ended_at()
    if ended_at is None:
        return False  # a draft, or not opened yet
    return timezone.now() - ended_at < CONFIRMATION_GRACE


def confirmation_refused(signature: Signature) -> Confirmation | None:
    """Why `signature` cannot be confirmed now, whichever way the signer
    confirms (an e-mail link, Start in Telegram); None when it can."""
    if signature.status in {Signature.Status.WITHDRAWN, Signature.Status.INVALIDATED}:
        return Confirmation.INVALID
    if signature.confirmed_at is None and not confirmations_open(signature.campaign):
        return Confirmation.CLOSED
    return None


def signature_confirm(*, token: str) -> ConfirmationResult:
    # The link's read locks the row, and the confirmation changes that row
    # in the same transaction: one read, and two clicks at once still count
    # once (the second waits, then finds it confirmed).
    with transaction.atomic():
        try:
            signature = links.signature_from_confirmation(token, for_update=True)
        except links.LinkExpired:
            return ConfirmationResult(Confirmation.EXPIRED)
        except links.LinkInvalid:
            return ConfirmationResult(Confirmation.INVALID)
        campaign = signature.campaign
        refused = confirmation_refused(signature)
        if refused is not None:
            return ConfirmationResult(refused, campaign)
        signature.confirm(held_lock=True)
        # Counted now, by this request, or not (held as suspect, or counted
        # by an earlier click).
        change = signature.count_change
    # Committed: readers' figures follow on their timer; this signer's page
    # shows them counted at once.
    if change is not None:
        figures = tallies.figures_with(campaign, change)
    else:  # held (not counted), or counted by an earlier click, perhaps a moment ago
        counted_at = signature.confirmed_at if signature.is_counted else None
        figures = tallies.figures_after(campaign, counted_at)
    # confirm() refreshed the status from the locked row: say what it is now.
    outcome = (
        Confirmation.HELD
        if signature.status == Signature.Status.SUSPECT
        else Confirmation.CONFIRMED
    )
    return ConfirmationResult(outcome, campaign, signature.receipt, figures)


def count_moved(campaign: Campaign) -> None:
    # A withdrawal, an erasure or a correction: the page that follows shows
    # the figures recounted, not those kept a moment before (readers share
    # the recount). A confirmation leaves readers' figures to their timer
    # and shows its signer counted by itself (signature_confirm,
    # signatures.telegram): signatures arrive far more often than these.
    transaction.on_commit(lambda: tallies.figures_forget(campaign))


def withdrawal_campaign(*, token: str) -> Campaign | None:
    """The campaign a withdrawal link belongs to, if the link still works."""
    try:
        signature = links.signature_from_withdrawal(token)
    except (links.LinkExpired, links.LinkInvalid):
        return None
    if signature.status == Signature.Status.WITHDRAWN:
        return None
    return signature.campaign


def signature_withdraw(*, token: str) -> Campaign | None:
    """Withdraw through the e-mail link. Returns the campaign, or None for a
    link that is not (or no longer) valid."""
    try:
        signature = links.signature_from_withdrawal(token)
    except (links.LinkExpired, links.LinkInvalid):
        return None
    if signature.status == Signature.Status.WITHDRAWN:
        return None
    if signature.withdraw():
        count_moved(signature.campaign)
    return signature.campaign


def signature_erase(*, signature: Signature) -> bool:
    """Staff erase a signer's personal data at their request (by e-mail or
    letter; a paper signer has no withdrawal link): exactly a withdrawal, its
    count, its erased data and its erased mails. False if already withdrawn."""
    if signature.withdraw():
        count_moved(signature.campaign)
        return True
    return False


def signature_correct(*, signature: Signature, **fields: Any) -> bool:
    """Staff correct a paper signature (`Signature.correct`); the public
    figures follow at once when its country changed."""
    if signature.correct(**fields):
        count_moved(signature.campaign)
        return True
    return False


# --- Retention ---------------------------------------------------------------


def ip_addresses_erase(*, older_than: timedelta | None = None) -> int:
    """Forget signers' IP addresses once fraud review no longer needs them."""
    age = older_than or timedelta(days=settings.SIGNATURE_IP_RETENTION_DAYS)
    return Signature.objects.filter(
        ip_address__isnull=False, created_at__lt=timezone.now() - age
    ).update(ip_address=None)


def unconfirmed_purge(*, older_than: timedelta | None = None) -> int:
    """Delete signatures whose e-mail was never confirmed: they never counted,
    so no tally changes. Their queued mails go too (they carry the address)."""
    age = older_than or timedelta(days=settings.SIGNATURE_UNCONFIRMED_PURGE_DAYS)
    stale = Signature.objects.awaiting_confirmation().filter(created_at__lt=timezone.now() - age)
    purged = 0
    for signature_id in stale.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            # Confirmed since the list was read: not stale any more.
            deleted, _rows = (
                Signature.objects.awaiting_confirmation().filter(pk=signature_id).delete()
            )
            if deleted:
                messages_erase(key_prefix=Signature.mail_key_prefix(signature_id))
                purged += 1
    return purged
