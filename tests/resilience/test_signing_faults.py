"""Signing through the real pages while Redis fails, and counts that drift."""

import pytest

from tests.resilience.conftest import (
    CREATE_CAMPAIGN,
    SIGNING_ENV,
    FaultStack,
    FaultySmtp,
    ThrowawayRedis,
    confirmation_path,
    http,
    recipient,
    settled,
    sign_through_pages,
    wait_until,
)
from tests.resilience.test_outbox_faults import FLUSH_AFTER_GRACE

SLUG = "right-to-vote"
STATE = """
from signatures.models import Signature, Submission
from signatures.tallies import figures_compute
from outbox.models import Message
from campaigns.models import Campaign
campaign = Campaign.objects.get(slug={slug!r})
# Stored: as signatures, or as forms received and waiting for a worker.
print(Signature.objects.filter(campaign=campaign).count()
      + Submission.objects.filter(campaign=campaign).count(),
      Signature.objects.filter(campaign=campaign, status="confirmed").count(),
      figures_compute(campaign).total,
      Message.objects.filter(key__startswith="signature:").count())
"""
SWEEP_AFTER_GRACE = """
from datetime import timedelta
from signatures.services import submissions_process_due
print(submissions_process_due(grace=timedelta(0)))
"""
FOLD = """
from signatures.tallies import tallies_fold
while tallies_fold():
    pass
"""


def state(stack: FaultStack) -> dict[str, int]:
    stored, confirmed, counted, mails = map(int, stack.python(STATE.format(slug=SLUG)).split())
    return {"stored": stored, "confirmed": confirmed, "counted": counted, "mails": mails}


@pytest.fixture
def signing_stack(fault_stack: FaultStack) -> FaultStack:
    fault_stack.env.update(SIGNING_ENV)
    # gunicorn, the worker and the snippet process boot side by side.
    fault_stack.start_web(workers=2, wait=False)
    fault_stack.start_worker(wait=False)
    fault_stack.python(CREATE_CAMPAIGN.format(slug=SLUG))
    fault_stack.wait_ready()
    return fault_stack


def sign(stack: FaultStack, number: int) -> int:
    return sign_through_pages(
        stack.web_url,
        SLUG,
        email=f"signer{number}@example.org",
        full_name=f"Sok Dara {number}",
        ip=f"203.0.113.{number}",
    )


def test_signing_while_redis_is_down_stores_and_confirms_once_it_is_back(
    signing_stack: FaultStack, fault_redis: ThrowawayRedis, fault_smtp: FaultySmtp
) -> None:
    for number in range(3):
        assert sign(signing_stack, number) == 302
    fault_smtp.wait_for(3)

    fault_redis.stop(kill=True)
    for number in range(3, 10):
        assert sign(signing_stack, number) == 302  # no 500: the thanks page
    status, _, page = http(f"{signing_stack.web_url}/en/campaigns/{SLUG}/")
    assert status == 200, page[:500]
    assert state(signing_stack)["stored"] == 10

    fault_redis.start()  # empty: what the pages could not queue is not in it
    # Nothing sent the others while Redis was down, nor once it is back
    # until the sweep and the flush: they wait in the outbox.
    settled(signing_stack, fault_smtp)
    assert len(fault_smtp.received) == 3
    # Beat's sweep, then the outbox's flush, as they run once the grace is over.
    signing_stack.python(SWEEP_AFTER_GRACE)
    signing_stack.python(FLUSH_AFTER_GRACE)
    fault_smtp.wait_for(10)
    settled(signing_stack, fault_smtp)  # a duplicate, were one coming, would be in by now
    assert sorted(recipient(message) for message in fault_smtp.received) == sorted(
        f"signer{number}@example.org" for number in range(10)
    )
    assert len(set(fault_smtp.message_ids())) == 10

    for message in fault_smtp.received:
        assert http(signing_stack.web_url + confirmation_path(message))[0] == 200
    signing_stack.python(FOLD)
    assert state(signing_stack) == {"stored": 10, "confirmed": 10, "counted": 10, "mails": 10}


def test_reconciliation_corrects_a_corrupted_stored_count(
    signing_stack: FaultStack, fault_smtp: FaultySmtp
) -> None:
    for number in range(4):
        assert sign(signing_stack, number) == 302
    for message in fault_smtp.wait_for(4):
        assert http(signing_stack.web_url + confirmation_path(message))[0] == 200
    signing_stack.python(FOLD)
    assert state(signing_stack)["counted"] == 4

    # Someone (a bad restore, a manual UPDATE) corrupts the stored tally.
    signing_stack.python(
        "from signatures.models import CountryTally\n"
        "CountryTally.objects.filter(country='FR').update(confirmed=1234)\n"
    )
    assert state(signing_stack)["counted"] == 1234

    # The hourly task, run by the real worker as beat would.
    signing_stack.python(
        "from signatures.tasks import tallies_reconcile\n"
        "print(tallies_reconcile.delay().get(timeout=60))\n"
    )
    signing_stack.python(FOLD)
    assert state(signing_stack)["counted"] == 4
    wait_until(
        lambda: "drifted by -1230" in signing_stack.log_text("worker"), 10, "the drift logged"
    )
    status, _, page = http(f"{signing_stack.web_url}/en/campaigns/{SLUG}/")
    assert status == 200
    assert "1,234" not in page and "1234" not in page
