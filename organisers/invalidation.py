"""Invalidation by criteria: preview the matching signatures, then
invalidate them in batches as a cancellable job."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from core.audit import audit_record
from core.background import after_commit
from core.models import AuditEntry
from organisers.models import Invalidation, JobStatus
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


def invalidation_ids(campaign: Campaign, criteria: Criteria) -> Iterator[int]:
    matching = invalidation_matching(campaign, criteria)
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


def invalidation_start(
    *, campaign: Campaign, criteria: Criteria, reason: str, user: Any
) -> Invalidation:
    if criteria.is_empty():
        raise ValueError("Refusing to invalidate a whole campaign without criteria.")
    job = Invalidation.objects.create(
        campaign=campaign,
        criteria=criteria.as_json(),
        reason=reason,
        total=invalidation_preview(campaign, criteria),
        created_by=user,
    )
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
        ids = list(invalidation_ids(job.campaign, criteria))
        for start in range(0, len(ids), INVALIDATION_BATCH):
            if Invalidation.objects.filter(pk=job.pk, cancel_requested=True).exists():
                Invalidation.objects.filter(pk=job.pk).update(
                    status=JobStatus.CANCELLED, finished_at=timezone.now()
                )
                break
            for signature in Signature.objects.filter(
                pk__in=ids[start : start + INVALIDATION_BATCH]
            ):
                if signature.invalidate(reason):
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
