"""Received signing forms are worked through by drains: one Celery message
for a burst of forms, not one per form; none lost, none processed twice."""

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign
from core import background
from signatures import services, tasks
from signatures.models import Signature, Submission
from tests.drains import taken_by_another_drain

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tasks queued, recorded instead of run: a drain runs when the test says."""
    names: list[str] = []
    monkeypatch.setattr(background, "task_queue", lambda name, *args: names.append(name))
    return names


def receive(campaign: Campaign, email: str, capture: Any) -> None:
    """A signing form as the request keeps it, committed."""
    data = {"full_name": "Sok Dara", "email": email, "country": "FR"}
    with capture(execute=True):
        services.submission_receive(campaign=campaign, data=data, ip_address=None, language="en")


def test_a_burst_of_forms_asks_for_one_drain_that_processes_them_all(
    campaign: Campaign, queued: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    for number in range(3):
        receive(campaign, f"dara{number}@example.org", django_capture_on_commit_callbacks)
    assert queued == [services.DRAIN_TASK]
    assert tasks.submissions_drain.apply().get() == 3
    assert Submission.objects.count() == 0
    assert Signature.objects.filter(status=Signature.Status.PENDING).count() == 3
    assert tasks.submissions_drain.apply().get() == 0  # nothing twice


def test_a_form_received_once_a_drain_started_asks_for_a_new_one(
    campaign: Campaign, queued: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    receive(campaign, "dara@example.org", django_capture_on_commit_callbacks)
    background.drain_started(services.DRAIN_TASK)  # the queued drain starts ...
    receive(campaign, "vanna@example.org", django_capture_on_commit_callbacks)  # ... then this
    assert queued == [services.DRAIN_TASK, services.DRAIN_TASK]


def test_a_broker_outage_leaves_the_next_form_to_ask_again(
    campaign: Campaign,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    attempts: list[str] = []

    def broker_down(name: str, *args: Any) -> None:
        attempts.append(name)
        raise ConnectionError("broker down")

    monkeypatch.setattr(background, "task_queue", broker_down)
    receive(campaign, "dara@example.org", django_capture_on_commit_callbacks)
    receive(campaign, "vanna@example.org", django_capture_on_commit_callbacks)
    assert attempts == [services.DRAIN_TASK, services.DRAIN_TASK]
    assert "could not queue signatures.tasks.submissions_drain" in caplog.text
    assert Submission.objects.count() == 2  # kept for the sweep


def test_a_form_that_fails_is_left_for_the_sweep_and_the_others_go_through(
    campaign: Campaign,
    queued: list[str],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for email in ("dara@example.org", "broken@example.org", "vanna@example.org"):
        receive(campaign, email, django_capture_on_commit_callbacks)
    submit = services.signature_submit

    def failing(**kwargs: Any) -> Signature:
        if kwargs["data"]["email"] == "broken@example.org":
            raise ValueError("a bug")
        return submit(**kwargs)

    monkeypatch.setattr(services, "signature_submit", failing)
    with caplog.at_level(logging.ERROR):
        assert tasks.submissions_drain.apply().get() == 2
    assert "not processed; the periodic sweep retries" in caplog.text
    assert Submission.objects.count() == 1
    monkeypatch.setattr(services, "signature_submit", submit)  # the bug fixed
    assert services.submissions_process_due(grace=timedelta(0)) == 1
    assert sorted(Signature.objects.values_list("email", flat=True)) == [
        "broken@example.org",
        "dara@example.org",
        "vanna@example.org",
    ]


def test_a_full_batch_hands_over_to_a_new_drain(
    campaign: Campaign,
    queued: list[str],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    for number in range(3):
        receive(campaign, f"dara{number}@example.org", django_capture_on_commit_callbacks)
    monkeypatch.setattr(services, "DRAIN_BATCH", 2)
    queued.clear()
    assert tasks.submissions_drain.apply().get() == 2
    assert queued == [services.DRAIN_TASK]
    assert tasks.submissions_drain.apply().get() == 1
    assert queued == [services.DRAIN_TASK]


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_two_drains_at_once_take_different_forms_oldest_first(campaign: Campaign) -> None:
    """The drain's question, written once per process, still locks what it
    takes and skips what another drain holds (the other drain here is a
    second connection, in a thread, holding the oldest form)."""
    first, second, third = (
        Submission.objects.create(campaign=campaign, payload="{}") for _ in range(3)
    )
    with taken_by_another_drain(lambda: services._next_waiting([], None)) as taken:
        assert taken == first.pk
        with transaction.atomic():
            mine = services._next_waiting([], None)
            assert mine is not None and mine.pk == second.pk  # the oldest is held: skipped
            assert mine.campaign == campaign  # the campaign this process keeps
            # A form that failed is left out, the same way, by the ORM's question.
            other = services._next_waiting([second.pk], None)
            assert other is not None and other.pk == third.pk


def test_the_sweep_takes_only_forms_older_than_its_grace(campaign: Campaign) -> None:
    old = Submission.objects.create(
        campaign=campaign, payload="{}", received_at=timezone.now() - timedelta(minutes=5)
    )
    Submission.objects.create(campaign=campaign, payload="{}")
    received_before = timezone.now() - timedelta(minutes=1)

    with transaction.atomic():
        due = services._next_waiting([], received_before)
        assert due is not None and due.pk == old.pk
        assert services._next_waiting([old.pk], received_before) is None
