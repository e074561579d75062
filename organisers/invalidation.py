"""Invalidation by criteria: preview the matching signatures, then
invalidate them in batches as a cancellable job."""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core import signing
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from core.audit import audit_record
from core.background import after_commit
from core.models import AuditEntry
from core.templatetags.sitthi import digits
from organisers.models import FINISHED, InvalidatedSignature, Invalidation, JobStatus
from signatures.identity import email_domain, name_key
from signatures.models import Signature
from signatures.tallies import figures_forget

Status = Signature.Status

INVALIDATION_BATCH = 200
MATCH_CHUNK_ROWS = 2_000


@dataclass(frozen=True)
class Criteria:
    """What to invalidate. Empty fields do not narrow the match."""

    email_domain: str = ""
    network: str = ""  # an IP address or CIDR range
    signed_from: datetime | None = None
    signed_until: datetime | None = None
    country: str = ""
    name_pattern: str = ""  # * matches any run of characters

    def as_json(self) -> dict[str, str]:
        return {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in self.__dict__.items()
            if value
        }

    @classmethod
    def from_json(cls, data: dict[str, str]) -> Criteria:
        values: dict[str, Any] = dict(data)
        for key in ("signed_from", "signed_until"):
            if values.get(key):
                values[key] = datetime.fromisoformat(values[key])
        return cls(**values)

    def is_empty(self) -> bool:
        return not self.as_json()


def _name_regex(pattern: str) -> str:
    parts = [re.escape(part) for part in name_key(pattern).split("*")]
    return "^" + ".*".join(parts) + "$"


def invalidation_matching(campaign: Campaign, criteria: Criteria) -> QuerySet[Signature]:
    """Signatures the criteria match among those that can be invalidated.

    The e-mail domain is encrypted with the address, so that criterion (and
    the IP range on SQLite) is checked row by row: see `invalidation_ids`.
    """
    matching = Signature.objects.invalidatable().filter(campaign=campaign)
    if criteria.country:
        matching = matching.filter(country=criteria.country)
    if criteria.signed_from:
        matching = matching.filter(created_at__gte=criteria.signed_from)
    if criteria.signed_until:
        matching = matching.filter(created_at__lt=criteria.signed_until)
    if criteria.name_pattern:
        matching = matching.filter(name_key__regex=_name_regex(criteria.name_pattern))
    if criteria.network:
        network = ipaddress.ip_network(criteria.network, strict=False)
        if connection.vendor == "postgresql":
            matching = matching.alias(
                in_network=RawSQL(
                    '"signatures_signature"."ip_address" <<= %s::inet',
                    [str(network)],
                    output_field=BooleanField(),
                )
            ).filter(in_network=True)
        else:
            matching = matching.filter(ip_address__isnull=False)
    return matching.order_by("pk")


def _row_matches(criteria: Criteria, email: str, ip_address: str | None) -> bool:
    if criteria.email_domain:
        wanted = criteria.email_domain.strip().lower().lstrip("@")
        domain = email_domain(email) if email else ""
        if not (domain == wanted or domain.endswith("." + wanted)):
            return False
    if criteria.network and connection.vendor != "postgresql":
        network = ipaddress.ip_network(criteria.network, strict=False)
        address = ipaddress.ip_address(ip_address) if ip_address else None
        if address is None or address.version != network.version or address not in network:
            return False
    return True


def invalidation_ids(
    campaign: Campaign, criteria: Criteria, *, signed_by: datetime | None = None
) -> Iterator[int]:
    matching = invalidation_matching(campaign, criteria)
    if signed_by is not None:
        matching = matching.filter(created_at__lte=signed_by)
    if not criteria.email_domain and (not criteria.network or connection.vendor == "postgresql"):
        yield from matching.values_list("pk", flat=True).iterator(chunk_size=MATCH_CHUNK_ROWS)
        return
    for pk, email, ip_address in matching.values_list("pk", "email", "ip_address").iterator(
        chunk_size=MATCH_CHUNK_ROWS
    ):
        if _row_matches(criteria, email, ip_address):
            yield pk


def invalidation_preview(campaign: Campaign, criteria: Criteria) -> int:
    if not criteria.email_domain and (not criteria.network or connection.vendor == "postgresql"):
        return invalidation_matching(campaign, criteria).count()
    return sum(1 for _pk in invalidation_ids(campaign, criteria))


# --- The preview's token ----------------------------------------------------
# The start button carries what was previewed, signed: the criteria, the
# campaign, the count and the person. The job starts only if all four still
# hold, so the button never acts on criteria typed after the count was read.

PREVIEW_TOKEN_SALT = "organisers.invalidation.preview"  # noqa: S105 # nosec B105 # a salt, not a secret
PREVIEW_TOKEN_MAX_AGE = 60 * 60  # seconds; the refusal message says "an hour"


class PreviewRefused(Exception):
    """The start was refused; the message says why, in the reader's language."""


class PreviewAlreadyUsed(Exception):
    """This preview already started `job` (a double click, a resent form)."""

    def __init__(self, job: Invalidation) -> None:
        super().__init__(job.pk)
        self.job = job


def preview_token_make(*, campaign: Campaign, criteria: Criteria, count: int, user: Any) -> str:
    return signing.dumps(
        {
            "campaign": campaign.pk,
            "criteria": criteria.as_json(),
            "count": count,
            "user": getattr(user, "pk", None),
            "nonce": secrets.token_hex(16),
        },
        salt=PREVIEW_TOKEN_SALT,
        compress=True,
    )


_TOKEN_KEYS = frozenset({"campaign", "criteria", "count", "user", "nonce"})


def _never_previewed() -> PreviewRefused:
    return PreviewRefused(
        _("Count the matching signatures first, then press the button that shows the count.")
    )


def _altered() -> PreviewRefused:
    return PreviewRefused(
        _("This preview could not be checked. Count the matching signatures again.")
    )


def _preview_checked(
    *, token: str, campaign: Campaign, criteria: Criteria, user: Any
) -> tuple[int, str]:
    """The previewed count and the preview's nonce, if the token is this
    person's preview of these criteria on this campaign; else PreviewRefused."""
    if not token or len(token) > 4000:
        raise _never_previewed()
    try:
        payload = signing.loads(token, salt=PREVIEW_TOKEN_SALT, max_age=PREVIEW_TOKEN_MAX_AGE)
    except signing.SignatureExpired as error:
        raise PreviewRefused(
            _(
                "This preview is more than an hour old. Check the fresh count, then press "
                "the button again."
            )
        ) from error
    except signing.BadSignature as error:
        # No separator: nothing we signed, so never previewed; else altered.
        raise (_altered() if ":" in token else _never_previewed()) from error
    if not isinstance(payload, dict) or not payload.keys() >= _TOKEN_KEYS:
        raise _altered()
    if payload["campaign"] != campaign.pk:
        raise PreviewRefused(
            _("This preview was made for another campaign. Check the count for this one.")
        )
    if payload["user"] != getattr(user, "pk", None):
        raise PreviewRefused(
            _(
                "This preview was made by someone else. Check the count yourself before "
                "invalidating."
            )
        )
    used = Invalidation.objects.filter(preview_nonce=payload["nonce"]).first()
    if used is not None:
        raise PreviewAlreadyUsed(used)
    if payload["criteria"] != criteria.as_json():
        raise PreviewRefused(
            _(
                "The criteria changed since the preview. Nothing was invalidated: check the "
                "count for the criteria now in the form, then press the button again."
            )
        )
    count = invalidation_preview(campaign, criteria)
    if count != payload["count"]:
        raise PreviewRefused(
            _(
                "The number of matching signatures changed since the preview (%(previewed)s "
                "then, %(now)s now). Nothing was invalidated: check the new count, then press "
                "the button again."
            )
            % {"previewed": digits(payload["count"]), "now": digits(count)}
        )
    return count, str(payload["nonce"])


def invalidation_start(
    *, campaign: Campaign, criteria: Criteria, reason: str, user: Any, preview_token: str
) -> Invalidation:
    """Start the job the preview showed: `preview_token` comes from
    `preview_token_make` for these criteria, this campaign and this person,
    and the count must still be the one previewed. PreviewRefused if not;
    PreviewAlreadyUsed if that preview started a job already."""
    if criteria.is_empty():
        raise ValueError("Refusing to invalidate a whole campaign without criteria.")
    count, nonce = _preview_checked(
        token=preview_token, campaign=campaign, criteria=criteria, user=user
    )
    try:
        with transaction.atomic():
            job = Invalidation.objects.create(
                campaign=campaign,
                criteria=criteria.as_json(),
                reason=reason,
                total=count,
                created_by=user,
                preview_nonce=nonce,
            )
    except IntegrityError:
        # The same preview sent twice at the same moment: the other request won.
        raise PreviewAlreadyUsed(Invalidation.objects.get(preview_nonce=nonce)) from None
    audit_record(
        action=AuditEntry.Action.INVALIDATED,
        user=user,
        obj=job,
        detail=_("Invalidation by criteria started: %(criteria)s, %(count)s matching")
        % {"criteria": job.criteria, "count": job.total},
    )
    after_commit("organisers.tasks.invalidation_run", job.pk)
    return job


def invalidation_run(invalidation_id: int) -> Invalidation:
    """Invalidate the matching signatures in batches, one locked row at a
    time through Signature.invalidate (which writes the count deltas).
    Checks for cancellation between batches; rerunning resumes harmlessly,
    as already invalidated signatures no longer match."""
    job = Invalidation.objects.select_related("campaign").get(pk=invalidation_id)
    if job.is_finished:
        return job
    Invalidation.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    criteria = Criteria.from_json(job.criteria)
    reason = job.reason
    processed, invalidated = job.processed, job.invalidated
    try:
        # Only what could have been previewed: a signature arriving while
        # the job waits in the queue was in no count the organiser saw.
        ids = list(invalidation_ids(job.campaign, criteria, signed_by=job.created_at))
        for start in range(0, len(ids), INVALIDATION_BATCH):
            if Invalidation.objects.filter(pk=job.pk, cancel_requested=True).exists():
                Invalidation.objects.filter(pk=job.pk).update(
                    status=JobStatus.CANCELLED, finished_at=timezone.now()
                )
                break
            for signature in Signature.objects.filter(
                pk__in=ids[start : start + INVALIDATION_BATCH]
            ):
                # The record of what the job did commits with the change itself.
                with transaction.atomic():
                    if signature.invalidate(reason):
                        assert signature.invalidated_at is not None
                        InvalidatedSignature.objects.create(
                            invalidation=job,
                            signature=signature,
                            invalidated_at=signature.invalidated_at,
                        )
                        invalidated += 1
                processed += 1
            Invalidation.objects.filter(pk=job.pk).update(
                processed=processed, invalidated=invalidated
            )
        else:
            Invalidation.objects.filter(pk=job.pk).update(
                status=JobStatus.DONE, finished_at=timezone.now()
            )
    except Exception as error:
        Invalidation.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED, error=str(error)[:500], finished_at=timezone.now()
        )
        raise
    job.refresh_from_db()
    figures_forget(job.campaign)
    audit_record(
        action=AuditEntry.Action.INVALIDATED,
        user=job.created_by,
        obj=job,
        detail=_("Invalidation by criteria %(status)s: %(count)s signatures invalidated")
        % {"status": job.get_status_display(), "count": job.invalidated},
    )
    return job


def invalidation_cancel(job: Invalidation) -> None:
    Invalidation.objects.filter(pk=job.pk).update(cancel_requested=True)
    # A job still waiting in the queue never starts.
    Invalidation.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED, finished_at=timezone.now()
    )


# --- Undo -------------------------------------------------------------------


def invalidation_undo_start(
    *, job: Invalidation, user: Any, request: HttpRequest | None = None
) -> bool:
    """Ask for the job to be undone. False (and nothing queued) when it is
    not finished, has nothing to undo, or was asked to be undone already:
    two presses, or two people at once, make one undo."""
    asked = Invalidation.objects.filter(
        pk=job.pk,
        status__in=FINISHED,
        undo_requested_at__isnull=True,
        invalidated__gt=0,
    ).update(undo_requested_at=timezone.now(), undo_requested_by=user)
    if not asked:
        return False
    job.refresh_from_db()
    audit_record(
        action=AuditEntry.Action.RESTORED,
        request=request,
        user=user,
        obj=job,
        detail=_("Undo of invalidation by criteria started: %(count)s signatures to look at")
        % {"count": job.invalidated},
    )
    after_commit("organisers.tasks.invalidation_undo_run", job.pk)
    return True


def invalidation_undo_run(invalidation_id: int) -> Invalidation:
    """Restore the signatures this job invalidated that are still as it left
    them: invalidated, at the time it stamped. Any other (withdrawn and
    erased since, restored by hand, invalidated again by hand or by another
    job) stays as it is. Each record is settled in the transaction of its
    restore, so a rerun after a crash resumes and restores nothing twice."""
    job = Invalidation.objects.select_related("campaign", "undo_requested_by").get(
        pk=invalidation_id
    )
    if job.undo_requested_at is None or job.undone_at is not None:
        return job
    pending = job.invalidated_signatures.filter(undone_at__isnull=True).order_by("pk")
    while batch := list(pending[:INVALIDATION_BATCH]):
        for record in batch:
            with transaction.atomic():
                signature = Signature.objects.select_for_update().get(pk=record.signature_id)
                restored = (
                    signature.status == Status.INVALIDATED
                    and signature.invalidated_at == record.invalidated_at
                    and signature.restore()
                )
                InvalidatedSignature.objects.filter(pk=record.pk).update(
                    undone_at=timezone.now(), restored=restored
                )
        Invalidation.objects.filter(pk=job.pk).update(
            restored=job.invalidated_signatures.filter(restored=True).count()
        )
    Invalidation.objects.filter(pk=job.pk).update(undone_at=timezone.now())
    job.refresh_from_db()
    figures_forget(job.campaign)
    audit_record(
        action=AuditEntry.Action.RESTORED,
        user=job.undo_requested_by,
        obj=job,
        detail=_(
            "Invalidation by criteria undone: %(restored)s of %(invalidated)s signatures "
            "restored (the others changed since)"
        )
        % {"restored": job.restored, "invalidated": job.invalidated},
    )
    return job
