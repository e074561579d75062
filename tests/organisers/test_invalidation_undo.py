"""Undoing an invalidation job: exactly the signatures it invalidated come
back (not those invalidated by hand or by another job, not those that changed
since), the counts follow, it is audited, and it happens once."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse as reverse_in_active_language
from django.utils import translation

from campaigns.models import Campaign
from core import roles
from core.models import AuditEntry
from organisers import invalidation
from organisers.invalidation import Criteria
from organisers.models import InvalidatedSignature, Invalidation, JobStatus
from signatures.models import Signature
from signatures.tallies import figures_compute
from tests.factories import make_signature, make_staff, sign_in

Status = Signature.Status
LIST = "admin:signatures_signature_changelist"


def reverse(name: str, args: list[Any] | None = None) -> str:
    """The English page: the tests read what it says."""
    with translation.override("en"):
        return reverse_in_active_language(name, args=args)


def _status(signature: Signature) -> str:
    return Signature.objects.get(pk=signature.pk).status


def _job(campaign: Campaign, criteria: Criteria, user: Any, capture: Any) -> Invalidation:
    """A job started as the form starts it, from a preview, and run."""
    count = invalidation.invalidation_preview(campaign, criteria)
    token = invalidation.preview_token_make(
        campaign=campaign, criteria=criteria, count=count, user=user
    )
    with capture(execute=True):
        job = invalidation.invalidation_start(
            campaign=campaign, criteria=criteria, reason="bot wave", user=user, preview_token=token
        )
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    return job


def _client(user: User) -> Client:
    client = Client(REMOTE_ADDR="192.0.2.10")
    sign_in(client, user)
    return client


def _undo(client: Client, job: Invalidation, capture: Any) -> Any:
    with capture(execute=True):
        return client.post(reverse("organisers:invalidation_undo", args=[job.pk]), follow=True)


@pytest.fixture
def moderator(db: None) -> User:
    return make_staff(roles.MODERATOR)


@pytest.mark.django_db
def test_undo_restores_exactly_what_the_job_invalidated_and_the_counts_follow(
    campaign: Campaign, moderator: User, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    bots = [make_signature(campaign, email=f"bot{n}@spam.example") for n in range(4)]
    unconfirmed_bot = make_signature(campaign, status=Status.PENDING, email="bot9@spam.example")
    by_hand_before = make_signature(campaign, status=Status.INVALIDATED, email="x@spam.example")
    people = [make_signature(campaign, email=f"p{n}@example.org") for n in range(3)]
    counted_before = figures_compute(campaign).total
    assert counted_before == 4 + 3

    job = _job(campaign, Criteria(email_domain="spam.example"), moderator, capture)
    assert job.invalidated == 5
    assert set(job.invalidated_signatures.values_list("signature_id", flat=True)) == {
        *(b.pk for b in bots),
        unconfirmed_bot.pk,
    }
    # Since the job: one signer withdraws (their data erased), one signature is
    # restored and invalidated again by hand, another job takes in a person.
    withdrawn, re_invalidated = bots[0], bots[1]
    withdrawn.withdraw()
    re_invalidated.restore()
    re_invalidated.invalidate("same person twice")
    other_job = _job(campaign, Criteria(name_pattern=people[0].full_name), moderator, capture)
    assert figures_compute(campaign).total == 3 - 1

    page = _undo(_client(moderator), job, capture)

    assert [str(m) for m in page.context["messages"]] == [
        "Undoing: the signatures this job invalidated are restored, except those that "
        "changed since."
    ]
    job.refresh_from_db()
    assert (job.restored, job.undone_at is not None) == (3, True)
    assert [_status(s) for s in (bots[2], bots[3], unconfirmed_bot)] == [
        Status.CONFIRMED,
        Status.CONFIRMED,
        Status.PENDING,  # never confirmed: back to waiting, not counted
    ]
    assert Signature.objects.get(pk=bots[2].pk).invalidation_reason == ""
    assert _status(withdrawn) == Status.WITHDRAWN
    assert Signature.objects.get(pk=withdrawn.pk).full_name == ""  # still erased
    assert _status(re_invalidated) == Status.INVALIDATED
    assert Signature.objects.get(pk=re_invalidated.pk).invalidation_reason == "same person twice"
    assert _status(by_hand_before) == Status.INVALIDATED
    assert _status(people[0]) == Status.INVALIDATED  # the other job's
    other_job.refresh_from_db()
    assert other_job.undo_requested_at is None
    assert figures_compute(campaign).total == 2 + 2  # two bots back, one person out of three

    entries = AuditEntry.objects.filter(
        action=AuditEntry.Action.RESTORED, object_id=str(job.pk)
    ).order_by("at")
    assert [entry.user for entry in entries] == [moderator, moderator]
    assert entries[1].detail == (
        "Invalidation by criteria undone: 3 of 5 signatures restored (the others changed since)"
    )
    assert entries[0].ip_address == "192.0.2.10"  # the undo was asked from there
    assert "Undoing: 0 restored so far." in page.content.decode()  # the job ran after the answer
    shown = (
        _client(moderator).get(reverse("organisers:invalidation", args=[job.pk])).content.decode()
    )
    assert "3 signatures restored." in shown
    assert "The others changed since the job" in shown
    assert 'id="undo-invalidation"' not in shown


@pytest.mark.django_db
def test_undoing_twice_restores_nothing_more(
    campaign: Campaign, moderator: User, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    bots = [make_signature(campaign, email=f"bot{n}@spam.example") for n in range(3)]
    job = _job(campaign, Criteria(email_domain="spam.example"), moderator, capture)
    client = _client(moderator)
    _undo(client, job, capture)
    # A moderator then rules one of them out again by hand.
    bots[0].invalidate("checked by hand: a bot after all")
    audit_entries = AuditEntry.objects.count()

    again = _undo(client, job, capture)
    assert [str(m) for m in again.context["messages"]] == ["This job has already been undone."]
    invalidation.invalidation_undo_run(job.pk)  # the task delivered twice
    assert invalidation.invalidation_undo_start(job=job, user=moderator) is False

    job.refresh_from_db()
    assert job.restored == 3
    assert _status(bots[0]) == Status.INVALIDATED
    assert AuditEntry.objects.count() == audit_entries
    assert figures_compute(campaign).total == 2


@pytest.mark.django_db
def test_an_undo_cut_short_resumes_and_restores_each_signature_once(
    campaign: Campaign,
    moderator: User,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    capture = django_capture_on_commit_callbacks
    for n in range(5):
        make_signature(campaign, email=f"bot{n}@spam.example")
    job = _job(campaign, Criteria(email_domain="spam.example"), moderator, capture)
    original = Signature.restore
    calls = {"n": 0}

    def restore_then_crash(self: Signature) -> bool:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed")
        return original(self)

    monkeypatch.setattr(Signature, "restore", restore_then_crash)
    assert invalidation.invalidation_undo_start(job=job, user=moderator)
    with pytest.raises(RuntimeError):
        invalidation.invalidation_undo_run(job.pk)
    job.refresh_from_db()
    assert job.undone_at is None
    assert figures_compute(campaign).total == 2

    monkeypatch.setattr(Signature, "restore", original)
    invalidation.invalidation_undo_run(job.pk)  # the task comes back (acks_late)
    job.refresh_from_db()
    assert (job.restored, job.undone_at is not None) == (5, True)
    assert figures_compute(campaign).total == 5
    assert Signature.objects.filter(status=Status.CONFIRMED).count() == 5


@pytest.mark.django_db
def test_undo_is_post_only_and_needs_the_permission_to_start_a_job(
    campaign: Campaign, moderator: User, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    bot = make_signature(campaign, email="bot@spam.example")
    job = _job(campaign, Criteria(email_domain="spam.example"), moderator, capture)
    url = reverse("organisers:invalidation_undo", args=[job.pk])

    assert _client(moderator).get(url).status_code == 405
    for outsider in (make_staff(roles.CAMPAIGN_LEAD), make_staff(roles.VIEWER), make_staff(None)):
        with capture(execute=True):
            assert _client(outsider).post(url).status_code == 403
    anonymous = Client().post(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert _status(bot) == Status.INVALIDATED
    job.refresh_from_db()
    assert job.undo_requested_at is None

    organiser = make_staff(roles.ORGANISER)
    assert _undo(_client(organiser), job, capture).status_code == 200
    assert _status(bot) == Status.CONFIRMED
    assert (
        _client(moderator).post(reverse("organisers:invalidation_undo", args=[999_999])).status_code
        == 404
    )


@pytest.mark.django_db
def test_a_job_still_running_is_not_undone(
    campaign: Campaign, moderator: User, django_capture_on_commit_callbacks: Any
) -> None:
    bot = make_signature(campaign, email="bot@spam.example")
    job = Invalidation.objects.create(
        campaign=campaign,
        criteria={"email_domain": "spam.example"},
        reason="bots",
        total=1,
        status=JobStatus.RUNNING,
        invalidated=1,
    )
    bot.invalidate("bots")
    assert bot.invalidated_at is not None
    InvalidatedSignature.objects.create(
        invalidation=job, signature=bot, invalidated_at=bot.invalidated_at
    )
    page = _undo(_client(moderator), job, django_capture_on_commit_callbacks)
    assert [str(m) for m in page.context["messages"]] == [
        "Cancel the job and wait for it to stop before undoing it."
    ]
    assert _status(bot) == Status.INVALIDATED
    assert 'id="undo-invalidation"' not in page.content.decode()


@pytest.mark.django_db
def test_the_job_page_offers_undo_once_the_job_has_stopped(
    campaign: Campaign, moderator: User, django_capture_on_commit_callbacks: Any
) -> None:
    make_signature(campaign, email="bot@spam.example")
    job = _job(
        campaign,
        Criteria(email_domain="spam.example"),
        moderator,
        django_capture_on_commit_callbacks,
    )
    page = _client(moderator).get(reverse("organisers:invalidation", args=[job.pk]))
    assert 'id="undo-invalidation"' in page.content.decode()
    progress = (
        _client(moderator)
        .get(reverse("organisers:invalidation", args=[job.pk]), {"format": "json"})
        .json()
    )
    assert (progress["undone"], progress["restored"]) == (False, 0)


@pytest.mark.django_db
def test_the_signature_list_filters_by_invalidation_reason_and_by_job(
    campaign: Campaign, moderator: User, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    bots = [make_signature(campaign, email=f"bot{n}@spam.example") for n in range(2)]
    by_hand = make_signature(campaign, email="dup@example.org")
    by_hand.invalidate("same person twice")
    first = _job(campaign, Criteria(email_domain="spam.example"), moderator, capture)
    later_bot = make_signature(campaign, email="bot7@spam.example")
    second = _job(campaign, Criteria(email_domain="spam.example"), moderator, capture)
    client = _client(moderator)

    def listed(**query: str) -> set[int]:
        page = client.get(reverse(LIST), query)
        assert page.status_code == 200
        return {signature.pk for signature in page.context["cl"].result_list}

    assert listed(invalidation_job=str(first.pk)) == {b.pk for b in bots}
    assert listed(invalidation_job=str(second.pk)) == {later_bot.pk}
    assert listed(invalidation_reason="same person twice") == {by_hand.pk}
    assert listed(invalidation_reason="bot wave") == {*(b.pk for b in bots), later_bot.pk}
    page = client.get(reverse(LIST))
    filters = page.content.decode()
    assert f"?invalidation_job={first.pk}" in filters
    assert "?invalidation_reason=same+person+twice" in filters
    # Nonsense in the address is the admin's usual "bad filter", never a 500.
    assert client.get(reverse(LIST), {"invalidation_job": "abc"}).status_code == 302
    assert listed(invalidation_job="999999") == set()
    # The job page links to its signatures.
    job_page = client.get(reverse("organisers:invalidation", args=[first.pk])).content.decode()
    assert f"?invalidation_job={first.pk}" in job_page
