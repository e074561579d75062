from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core import roles
from organisers import figures, invalidation
from organisers.invalidation import Criteria
from organisers.models import Invalidation, JobStatus
from signatures.models import Signature
from signatures.tallies import figures_compute
from tests.factories import make_campaign, make_signature, make_staff, sign_in

Status = Signature.Status


def _statuses(*signatures: Signature) -> list[str]:
    return [Signature.objects.get(pk=s.pk).status for s in signatures]


def _previewed(campaign: Any, criteria: Criteria, user: Any = None) -> str:
    """The start button's token, as the preview of `criteria` hands it out."""
    count = invalidation.invalidation_preview(campaign, criteria)
    return invalidation.preview_token_make(
        campaign=campaign, criteria=criteria, count=count, user=user
    )


@pytest.mark.django_db
def test_invalidation_by_criteria_changes_exactly_the_matching_signatures_and_the_counts(
    django_capture_on_commit_callbacks: Any,
) -> None:
    campaign = make_campaign()
    other_campaign = make_campaign("other")
    now = timezone.now()
    in_window = now - timedelta(hours=2)
    # Match every criterion: spam domain, inside 203.0.113.0/24, in the window, in France.
    target = [
        make_signature(
            campaign,
            email=f"bot{n}@spam.example",
            ip_address=f"203.0.113.{n}",
            created_at=in_window,
            country="FR",
        )
        for n in range(1, 4)
    ]
    target.append(
        make_signature(
            campaign,
            status=Status.PENDING,
            email="bot9@mx.spam.example",
            ip_address="203.0.113.99",
            created_at=in_window,
            country="FR",
        )
    )
    # Each misses exactly one criterion.
    other_domain = make_signature(
        campaign,
        email="real@example.org",
        ip_address="203.0.113.5",
        created_at=in_window,
        country="FR",
    )
    other_network = make_signature(
        campaign,
        email="bot5@spam.example",
        ip_address="198.51.100.5",
        created_at=in_window,
        country="FR",
    )
    too_early = make_signature(
        campaign,
        email="bot6@spam.example",
        ip_address="203.0.113.6",
        created_at=now - timedelta(days=3),
        country="FR",
    )
    other_country = make_signature(
        campaign,
        email="bot7@spam.example",
        ip_address="203.0.113.7",
        created_at=in_window,
        country="DE",
    )
    elsewhere = make_signature(
        other_campaign,
        email="bot8@spam.example",
        ip_address="203.0.113.8",
        created_at=in_window,
        country="FR",
    )
    already_withdrawn = make_signature(
        campaign, status=Status.WITHDRAWN, email="", ip_address="203.0.113.10", created_at=in_window
    )
    criteria = Criteria(
        email_domain="spam.example",
        network="203.0.113.0/24",
        signed_from=now - timedelta(days=1),
        signed_until=now,
        country="FR",
    )
    before = figures_compute(campaign).total
    assert before == 3 + 4  # confirmed: 3 targets + 4 near misses

    assert invalidation.invalidation_preview(campaign, criteria) == 4

    with django_capture_on_commit_callbacks(execute=True):
        job = invalidation.invalidation_start(
            campaign=campaign,
            criteria=criteria,
            reason="Bot wave 25 Nov",
            user=None,
            preview_token=_previewed(campaign, criteria),
        )
    job.refresh_from_db()
    assert (job.status, job.total, job.processed, job.invalidated) == (JobStatus.DONE, 4, 4, 4)
    assert _statuses(*target) == [Status.INVALIDATED] * 4
    assert Signature.objects.get(pk=target[0].pk).invalidation_reason == "Bot wave 25 Nov"
    assert (
        _statuses(other_domain, other_network, too_early, other_country, elsewhere)
        == [Status.CONFIRMED] * 5
    )
    assert _statuses(already_withdrawn) == [Status.WITHDRAWN]
    assert figures_compute(campaign).total == before - 3  # the pending one never counted
    assert figures.campaign_figures(campaign).invalidated == 4


@pytest.mark.django_db
def test_a_name_pattern_matches_every_spelling_variant(
    django_capture_on_commit_callbacks: Any,
) -> None:
    campaign = make_campaign()
    # Subscript TA vs DA, and a zero-width space: one name to the matching key.
    variants = [
        make_signature(campaign, full_name=name)
        for name in ("សុខ ស្តារ៉ា", "សុខ ស្ដារ៉ា", "សុខ ស្ត\u200bារ៉ា")
    ]
    bystander = make_signature(campaign, full_name="ចាន់ ធីតា")
    criteria = Criteria(name_pattern="*ស្តារ៉ា")
    assert invalidation.invalidation_preview(campaign, criteria) == 3
    with django_capture_on_commit_callbacks(execute=True):
        invalidation.invalidation_start(
            campaign=campaign,
            criteria=criteria,
            reason="test",
            user=None,
            preview_token=_previewed(campaign, criteria),
        )
    assert _statuses(*variants) == [Status.INVALIDATED] * 3
    assert _statuses(bystander) == [Status.CONFIRMED]


@pytest.mark.django_db
def test_a_cancelled_invalidation_stops_between_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    campaign = make_campaign()
    signatures = [make_signature(campaign, email=f"x{n}@spam.example") for n in range(5)]
    monkeypatch.setattr(invalidation, "INVALIDATION_BATCH", 2)
    job = Invalidation.objects.create(
        campaign=campaign, criteria={"email_domain": "spam.example"}, reason="test", total=5
    )
    calls = {"n": 0}
    original = Signature.invalidate

    def invalidate_then_cancel(self: Signature, reason: str) -> bool:
        calls["n"] += 1
        if calls["n"] == 2:  # the organiser presses Cancel during the first batch
            invalidation.invalidation_cancel(job)
        return original(self, reason)

    monkeypatch.setattr(Signature, "invalidate", invalidate_then_cancel)
    finished = invalidation.invalidation_run(job.pk)
    assert finished.status == JobStatus.CANCELLED
    assert finished.invalidated == 2
    assert _statuses(*signatures).count(Status.INVALIDATED) == 2


@pytest.mark.django_db
def test_the_form_previews_the_count_before_anything_changes(
    django_capture_on_commit_callbacks: Any,
) -> None:
    campaign = make_campaign()
    make_signature(campaign, email="a@spam.example")
    make_signature(campaign, email="b@example.org")
    moderator = make_staff(roles.MODERATOR)
    client = Client()
    sign_in(client, moderator)
    url = reverse("organisers:invalidation_new", args=[campaign.slug])
    page = client.post(url, {"email_domain": "spam.example", "preview": "1"})
    assert page.status_code == 200
    assert b'id="preview-count"' in page.content
    assert page.context["preview"] == 1
    assert Signature.objects.filter(status=Status.INVALIDATED).count() == 0
    token = page.context["preview_token"]
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            url, {"email_domain": "spam.example", "reason": "spam", "start": token}
        )
    job = Invalidation.objects.get()
    assert started["Location"] == reverse("organisers:invalidation", args=[job.pk])
    assert Signature.objects.filter(status=Status.INVALIDATED).count() == 1
    progress = client.get(started["Location"] + "?format=json").json()
    assert progress["finished"] and progress["invalidated"] == 1
    # The figures as a Khmer page writes them, for its progress script.
    in_khmer = "/km/" + started["Location"].split("/", 2)[2]
    assert client.get(in_khmer + "?format=json").json()["display"]["invalidated"] == "១"


@pytest.mark.django_db
def test_no_criteria_is_refused_rather_than_invalidating_a_whole_campaign() -> None:
    campaign = make_campaign()
    make_signature(campaign)
    client = Client()
    sign_in(client, make_staff(roles.ORGANISER))
    page = client.post(
        reverse("organisers:invalidation_new", args=[campaign.slug]),
        {"reason": "everything", "start": "1"},
    )
    assert page.status_code == 200
    assert Invalidation.objects.count() == 0
    with pytest.raises(ValueError):
        invalidation.invalidation_start(
            campaign=campaign,
            criteria=Criteria(),
            reason="x",
            user=None,
            preview_token=_previewed(campaign, Criteria()),
        )


@pytest.mark.postgres
@pytest.mark.django_db
def test_an_ip_range_is_matched_by_postgresql_itself() -> None:
    campaign = make_campaign()
    inside = make_signature(campaign, ip_address="2001:db8::1")
    outside = make_signature(campaign, ip_address="2001:db9::1")
    v4 = make_signature(campaign, ip_address="203.0.113.1")
    matching = invalidation.invalidation_matching(campaign, Criteria(network="2001:db8::/32"))
    assert list(matching.values_list("pk", flat=True)) == [inside.pk]
    assert outside.pk and v4.pk
