"""Organisers' jobs on a real Celery worker, through Redis, on PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

import pytest

from core import roles
from organisers import exports, invalidation
from organisers.invalidation import Criteria
from organisers.models import GeneratedFile, Invalidation, JobStatus
from signatures.models import Signature
from signatures.tallies import figures_compute
from tests.factories import make_campaign, make_signature, make_staff


def _wait_until(check: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the worker did not finish in time"
        time.sleep(0.2)


@pytest.mark.postgres
@pytest.mark.worker
def test_a_worker_invalidates_by_criteria_and_the_counts_follow(
    celery_worker_process: Any,
) -> None:
    campaign = make_campaign()
    for number in range(60):
        make_signature(campaign, email=f"bot{number}@spam.example")
    for number in range(15):
        make_signature(campaign, email=f"person{number}@example.org")
    assert figures_compute(campaign).total == 75
    celery_worker_process()

    criteria = Criteria(email_domain="spam.example")
    staff = make_staff(None)
    job = invalidation.invalidation_start(
        campaign=campaign,
        criteria=criteria,
        reason="bot wave",
        user=staff,
        preview_token=invalidation.preview_token_make(
            campaign=campaign, criteria=criteria, count=60, user=staff
        ),
    )
    _wait_until(lambda: Invalidation.objects.get(pk=job.pk).is_finished)

    job.refresh_from_db()
    assert (job.status, job.total, job.invalidated) == (JobStatus.DONE, 60, 60)
    assert Signature.objects.filter(status=Signature.Status.INVALIDATED).count() == 60
    assert figures_compute(campaign).total == 15


@pytest.mark.postgres
@pytest.mark.worker
def test_a_worker_builds_a_large_export_for_download(
    celery_worker_process: Any, settings: Any
) -> None:
    campaign = make_campaign()
    for _number in range(5):
        make_signature(campaign)
    celery_worker_process(env={"MEDIA_ROOT": str(settings.MEDIA_ROOT)})  # one file store
    job = exports.export_start(campaign=campaign, user=make_staff(roles.ORGANISER, two_factor=True))
    _wait_until(lambda: GeneratedFile.objects.get(pk=job.pk).status == JobStatus.DONE)
    job.refresh_from_db()
    assert job.rows == 5
    assert job.expires_at is not None
    with job.file.open("rb") as handle:
        assert handle.read().count(b"\n") == 6
