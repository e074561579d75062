"""Statements' work that spans models or talks to the world: workflow with
permissions, PDF rendering, sending to subscribers, unsubscribing."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.background import after_commit, task_queue
from core.markup import render_markdown
from core.models import StaffLanguage
from outbox.models import Message
from outbox.services import message_queue, messages_cancel
from signatures.models import Signature
from statements import pdf
from statements.models import PressContact, Statement, Transition

logger = logging.getLogger(__name__)

PDF_MAX_ATTEMPTS = 5
SEND_BATCH_SIZE = 100
UNSUBSCRIBE_SALT = "statements.unsubscribe"

# Which permission each workflow action needs (never a group name).
ACTION_PERMISSIONS = {
    Transition.Action.SUBMIT: "statements.submit_statement",
    Transition.Action.SEND_BACK: "statements.review_statement",
    Transition.Action.SCHEDULE: "statements.publish_statement",
    Transition.Action.PUBLISH: "statements.publish_statement",
    Transition.Action.UNPUBLISH: "statements.publish_statement",
}


def allowed_actions(*, statement: Statement, user: Any) -> list[str]:
    """The workflow buttons `user` may press on `statement` now."""
    by_status = {
        Statement.Status.DRAFT: [Transition.Action.SUBMIT],
        Statement.Status.IN_REVIEW: [
            Transition.Action.PUBLISH,
            Transition.Action.SCHEDULE,
            Transition.Action.SEND_BACK,
        ],
        Statement.Status.PUBLISHED: [Transition.Action.UNPUBLISH],
    }
    return [
        action
        for action in by_status.get(Statement.Status(statement.status), [])
        if user.has_perm(ACTION_PERMISSIONS[action])
    ]


def statement_transition(
    *,
    statement: Statement,
    action: str,
    by: Any,
    comment: str = "",
    publish_at: datetime | None = None,
) -> Transition:
    """Move `statement` through the workflow if `by` may; queue what follows."""
    permission = ACTION_PERMISSIONS.get(Transition.Action(action))
    if permission is None or not by.has_perm(permission):
        raise PermissionDenied(_("You may not do this to a statement."))
    with transaction.atomic():
        statement = Statement.objects.select_for_update().get(pk=statement.pk)
        if action == Transition.Action.SUBMIT:
            transition = statement.submit(by=by, comment=comment)
            review_notifications_queue(transition=transition)
        elif action == Transition.Action.SEND_BACK:
            transition = statement.send_back(by=by, comment=comment)
            review_notifications_queue(transition=transition)
        elif action == Transition.Action.SCHEDULE:
            if publish_at is None:
                raise ValidationError(_("Choose when to publish."))
            transition = statement.schedule(by=by, at=publish_at, comment=comment)
        elif action == Transition.Action.PUBLISH:
            transition = statement_publish(statement=statement, by=by, comment=comment)
        else:
            transition = statement.unpublish(by=by, comment=comment)
    return transition


# --- Telling people about review ----------------------------------------------

REVIEW_PERMISSION = ACTION_PERMISSIONS[Transition.Action.SEND_BACK]
# Which mail each move sends (templates/emails/statements/<name>.txt, _subject.txt).
REVIEW_MAILS = {
    Transition.Action.SUBMIT: "review_requested",
    Transition.Action.SEND_BACK: "sent_back",
}


def reviewers_of(*, statement: Statement) -> list[Any]:
    """Who is told a statement waits for review: active staff who may send
    it back (the review permission, by group, by hand or as superuser)."""
    reviewers = get_user_model().objects.with_perm(  # type: ignore[attr-defined]
        REVIEW_PERMISSION,
        is_active=True,
        include_superusers=True,
        backend="django.contrib.auth.backends.ModelBackend",
    )
    return list(reviewers.filter(is_staff=True).exclude(email="").order_by("pk"))


def authors_of(*, statement: Statement) -> list[Any]:
    """Who is told a statement was sent back: who wrote it and who submitted
    it this time, if still active staff."""
    last_submit = (
        statement.transitions.filter(action=Transition.Action.SUBMIT)
        .select_related("by")
        .order_by("-at", "-pk")
        .first()
    )
    people = {
        person.pk: person
        for person in (statement.created_by, last_submit.by if last_submit else None)
        if person is not None and person.is_active and person.is_staff and person.email
    }
    return list(people.values())


def review_notifications_queue(*, transition: Transition) -> int:
    """Mail the people a workflow move concerns, through the outbox, in the
    transaction of the move: reviewers when a statement is submitted, its
    authors when it is sent back; never the person who made the move. One
    outbox key per move and person, so queuing again sends nothing twice.
    Returns how many were queued."""
    template = REVIEW_MAILS.get(Transition.Action(transition.action))
    if template is None:
        return 0
    statement = transition.statement
    if transition.action == Transition.Action.SUBMIT:
        recipients = reviewers_of(statement=statement)
    else:
        recipients = authors_of(statement=statement)
    queued = 0
    for person in recipients:
        if person.pk == transition.by_id:
            continue
        language = StaffLanguage.of(person)
        with translation.override(language):
            context = {
                "statement": statement,
                "title": statement.text("title", language),
                "by": transition.by.get_full_name() or transition.by.get_username()
                if transition.by
                else "",
                "comment": transition.comment,
                "admin_url": settings.SITE_URL
                + reverse("admin:statements_statement_change", args=[statement.pk]),
            }
            subject = render_to_string(f"emails/statements/{template}_subject.txt", context)
            text = render_to_string(f"emails/statements/{template}.txt", context)
        message_queue(
            key=f"statement-review:{transition.pk}:{person.pk}",
            to=person.email,
            subject=subject,
            text=text,
            headers={"Content-Language": language},
        )
        queued += 1
    return queued


def statement_publish(*, statement: Statement, by: Any, comment: str = "") -> Transition:
    """Publish, then (after commit) render the PDF and, if asked, e-mail subscribers."""
    transition = statement.publish(by=by, comment=comment)
    statement_id = statement.pk
    pdf_render_queue(statement=statement)
    if statement.send_to_subscribers and statement.sending_started_at is None:
        statement.sending_started_at = timezone.now()
        statement.save(update_fields=["sending_started_at"])
        after_commit("statements.tasks.statement_send", statement_id)
    return transition


def scheduled_publish(*, at: datetime | None = None) -> int:
    """Publish statements whose time has come, as the editor who scheduled them."""
    published = 0
    for statement_id in Statement.objects.due_for_publication(at).values_list("pk", flat=True):
        with transaction.atomic():
            statement = (
                Statement.objects.select_for_update(skip_locked=True)
                .due_for_publication(at)
                .filter(pk=statement_id)
                .first()
            )
            if statement is None:
                continue
            scheduler = statement.scheduled_by
            if scheduler is None or not scheduler.has_perm("statements.publish_statement"):
                # The person who scheduled it lost the right meanwhile.
                continue
            statement_publish(statement=statement, by=scheduler, comment=_("Scheduled publication"))
            published += 1
    return published


def statement_revised(*, statement: Statement, by: Any) -> None:
    """Content saved: a published statement says "updated on"; its PDF is rendered again."""
    statement.record_revision(by=by)
    if statement.is_published or statement.has_pdf:
        pdf_render_queue(statement=statement)


# --- PDF -------------------------------------------------------------------


def pdf_render_queue(*, statement: Statement) -> None:
    """Ask for a fresh PDF (after commit). The current file stays linked meanwhile."""
    Statement.objects.filter(pk=statement.pk).update(
        pdf_status=Statement.PdfStatus.PENDING, pdf_error="", pdf_attempts=0
    )
    statement_id = statement.pk
    after_commit("statements.tasks.statement_pdf_render", statement_id)


def pdf_render(*, statement_id: int) -> bool:
    """Render and store the PDF. On failure the previous file stays; the error is recorded."""
    statement = Statement.objects.filter(pk=statement_id).first()
    if statement is None:
        return False
    try:
        content = pdf.render_pdf(statement)
        copies = pdf.render_language_copies(statement)  # the footer's URL in each language
    except Exception as error:
        Statement.objects.filter(pk=statement_id).update(
            pdf_status=Statement.PdfStatus.FAILED,
            pdf_error=f"{type(error).__name__}: {error}"[:500],
            pdf_attempts=statement.pdf_attempts + 1,
        )
        logger.exception("statements: PDF of %s failed", statement.slug)
        raise
    with transaction.atomic():
        statement = Statement.objects.select_for_update().get(pk=statement_id)
        previous = statement.pdf.name if statement.pdf else ""
        # A new name each time: a reader or cache holding the old link gets the old file, never half a new one.
        statement.pdf.save(statement.pdf_filename(), ContentFile(content), save=False)
        pdf.language_copies_store(statement, copies)
        statement.pdf_status = Statement.PdfStatus.READY
        statement.pdf_error = ""
        statement.pdf_attempts += 1
        statement.pdf_rendered_at = timezone.now()
        statement.save(
            update_fields=["pdf", "pdf_status", "pdf_error", "pdf_attempts", "pdf_rendered_at"]
        )
    if previous and previous != statement.pdf.name:
        transaction.on_commit(lambda: pdf.language_files_delete(statement.pdf.storage, previous))
    return True


# --- Sending to subscribers ------------------------------------------------


def unsubscribe_token(*, kind: str, ident: str) -> str:
    return signing.dumps({"k": kind, "i": ident}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_url(*, kind: str, ident: str, language: str) -> str:
    with translation.override(language):
        path = reverse(
            "statements:unsubscribe", kwargs={"token": unsubscribe_token(kind=kind, ident=ident)}
        )
    return settings.SITE_URL + path


def subscriber_unsubscribe(*, token: str) -> bool:
    """Stop all statement e-mail to the person behind `token`, at once. False if invalid."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return False
    kind, ident = data.get("k"), str(data.get("i", ""))
    with transaction.atomic():
        if kind == "signer" and ident:
            # The keyed hash of the canonical address: every signature of this person.
            Signature.objects.news_stop(email_hash=ident)
            key_suffix = f":signer:{ident}"
        elif kind == "press" and ident:
            PressContact.objects.filter(unsubscribe_token=ident).update(
                active=False, unsubscribed_at=timezone.now()
            )
            contact = PressContact.objects.filter(unsubscribe_token=ident).first()
            if contact is None:
                return False
            key_suffix = f":press:{contact.pk}"
        else:
            return False
        # Statements already queued for this person and not yet sent are not sent.
        messages_cancel(key_prefix="statement:", key_suffix=key_suffix)
    return True


def recipients_of(*, statement: Statement) -> list[tuple[str, str]]:
    """(kind, ident) of everyone who should get `statement`, one entry per
    person: signers who asked for news of one of the statement's campaigns
    (signatures owns that list), by e-mail ("signer", the e-mail hash) or
    Telegram ("telegram", the Telegram user's hash), then the active press list."""
    campaigns = statement.campaigns.all()
    signer_hashes = (
        Signature.objects.news_subscribers(campaigns)
        .order_by("email_hash")
        .values_list("email_hash", flat=True)
        .distinct()
    )
    recipients = [("signer", str(email_hash)) for email_hash in signer_hashes]
    telegram_hashes = (
        Signature.objects.telegram_news_subscribers(campaigns)
        .order_by("telegram_hash")
        .values_list("telegram_hash", flat=True)
        .distinct()
    )
    recipients += [("telegram", str(telegram_hash)) for telegram_hash in telegram_hashes]
    press = PressContact.objects.press_list().values_list("pk", flat=True)
    recipients += [("press", str(pk)) for pk in press]
    return recipients


def statement_send(*, statement_id: int) -> int:
    """Split the recipients in batches and queue one task per batch. Returns the batch count."""
    statement = Statement.objects.published().filter(pk=statement_id).first()
    if statement is None:
        return 0
    recipients = recipients_of(statement=statement)
    batches = [
        recipients[start : start + SEND_BATCH_SIZE]
        for start in range(0, len(recipients), SEND_BATCH_SIZE)
    ]
    for batch in batches:
        task_queue("statements.tasks.statement_send_batch", statement_id, [list(i) for i in batch])
    return len(batches)


def statement_send_batch(*, statement_id: int, recipients: Iterable[Iterable[str]]) -> int:
    """Queue the statement to each recipient through the outbox, once per person.

    The outbox key is statement + person, so a retried or repeated batch
    queues nothing twice. Opt-outs are read again here: someone who
    unsubscribed after the batch was planned gets nothing.
    """
    statement = Statement.objects.published().filter(pk=statement_id).first()
    if statement is None:
        return 0
    queued = 0
    telegram_texts: dict[str, str] = {}  # by language: the same for every subscriber
    for kind, ident in recipients:
        with transaction.atomic():
            if kind == "telegram":
                queued += statement_telegram_queue(
                    statement=statement, telegram_hash=ident, texts=telegram_texts
                )
                continue
            if kind == "signer":
                signature = (
                    Signature.objects.news_subscribers(statement.campaigns.all())
                    .filter(email_hash=ident)
                    .order_by("-created_at")
                    .first()
                )
                if signature is None or not signature.email:
                    continue
                address, language, key = (
                    signature.email,
                    signature.language,
                    f"statement:{statement.pk}:signer:{ident}",
                )
            else:
                contact = PressContact.objects.press_list().filter(pk=ident).first()
                if contact is None:
                    continue
                address, language, key = (
                    contact.email,
                    contact.language,
                    f"statement:{statement.pk}:press:{contact.pk}",
                )
                ident = contact.unsubscribe_token
            statement_message_queue(
                statement=statement,
                key=key,
                to=address,
                language=language,
                unsubscribe=unsubscribe_url(kind=kind, ident=ident, language=language),
            )
            queued += 1
    return queued


def statement_telegram_queue(
    *, statement: Statement, telegram_hash: str, texts: dict[str, str]
) -> int:
    """Queue `statement` to one Telegram subscriber (title, summary, link, in
    the language of their newest signature), keyed statement + person like
    the e-mail, so a repeated batch sends nothing twice. Returns 1 if queued
    (or queued before), 0 if the person no longer wants news. `texts`: the
    message by language, kept across one batch's subscribers."""
    signature = (
        Signature.objects.telegram_news_subscribers(statement.campaigns.all())
        .filter(telegram_hash=telegram_hash)
        .order_by("-created_at")
        .first()
    )
    if signature is None or not signature.telegram_chat:
        return 0
    language = signature.language if signature.language in {"km", "en"} else settings.LANGUAGE_CODE
    if language not in texts:
        texts[language] = _statement_telegram_text(statement, language)
    message_queue(
        key=f"statement:{statement.pk}:telegram:{telegram_hash}",
        channel=Message.Channel.TELEGRAM,
        to=signature.telegram_chat,
        subject="",
        text=texts[language],
    )
    return 1


def _statement_telegram_text(statement: Statement, language: str) -> str:
    with translation.override(language):
        summary = statement.text("summary", language)
        return render_to_string(
            "telegram/statement.txt",
            {
                "title": statement.text("title", language),
                # Telegram takes 4096 characters; the link must fit after it.
                "summary": summary.text[:3000] if summary else "",
                "page_url": settings.SITE_URL + statement.get_absolute_url(),
            },
        ).strip()


def statement_message_queue(
    *, statement: Statement, key: str, to: str, language: str, unsubscribe: str
) -> Any:
    language = language if language in {"km", "en"} else settings.LANGUAGE_CODE
    with translation.override(language):
        page_url = settings.SITE_URL + statement.get_absolute_url()
        body = statement.text("body", language)
        context = {
            "statement": statement,
            "title": statement.text("title", language),
            "summary": statement.text("summary", language),
            "body": body,
            "body_html": render_markdown(body.text),
            "page_url": page_url,
            "pdf_url": settings.SITE_URL
            + reverse("statements:pdf", kwargs={"slug": statement.slug}),
            "unsubscribe_url": unsubscribe,
            "language": language,
        }
        subject = str(context["title"])
        text = render_to_string("emails/statements/statement.txt", context)
        html = render_to_string("emails/statements/statement.html", context)
    return message_queue(
        key=key,
        to=to,
        subject=subject,
        text=text,
        html=html,
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Content-Language": language,
        },
    )
