"""The signature list in the admin: search through the keys, bulk actions
that keep the counts right and land in the audit log."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.test import Client
from django.urls import reverse

from core import roles
from core.models import AuditEntry
from signatures.models import Signature
from signatures.tallies import figures_compute
from tests.factories import make_campaign, make_signature, make_staff, sign_in

Status = Signature.Status
LIST = "admin:signatures_signature_changelist"


def _moderator() -> Client:
    client = Client(REMOTE_ADDR="192.0.2.10")
    sign_in(client, make_staff(roles.MODERATOR))
    return client


def _found(client: Client, term: str) -> set[int]:
    response = client.get(reverse(LIST), {"q": term})
    assert response.status_code == 200
    return {signature.pk for signature in response.context["cl"].result_list}


@pytest.mark.django_db
def test_any_spelling_of_a_khmer_name_and_any_form_of_an_address_find_the_signer() -> None:
    campaign = make_campaign()
    stara = make_signature(campaign, full_name="សុខ ស្តារ៉ា", email="Sok.Stara@gmail.com")
    make_signature(campaign, full_name="ចាន់ ធីតា", email="thida@example.org")
    client = _moderator()
    assert _found(client, "ស្ដារ៉ា") == {stara.pk}  # subscript DA typed for TA
    assert _found(client, "សុខ ស្ត\u200bារ៉ា") == {stara.pk}  # an invisible space inside
    # E-mail search needs personal data (tests/signatures/test_search_without_2fa.py).
    organiser = Client()
    sign_in(organiser, make_staff(roles.ORGANISER, two_factor=True))
    assert _found(organiser, "sokstara+petition@gmail.com") == {stara.pk}
    assert _found(organiser, "sok@example.org") == set()  # e-mail search is exact, not partial


@pytest.mark.django_db
def test_bulk_invalidate_restore_and_approve_keep_the_count_and_the_log() -> None:
    campaign = make_campaign()
    confirmed = [make_signature(campaign) for _n in range(3)]
    suspect = make_signature(
        campaign, status=Status.SUSPECT, suspect_reason="same IP", email_confirmed=True
    )
    client = _moderator()
    assert figures_compute(campaign).total == 3

    ids = [signature.pk for signature in confirmed[:2]]
    asked = client.post(reverse(LIST), {"action": "invalidate", "_selected_action": ids})
    assert asked.status_code == 200 and b'name="reason"' in asked.content  # asks why first
    assert figures_compute(campaign).total == 3
    client.post(
        reverse(LIST),
        {"action": "invalidate", "_selected_action": ids, "reason": "duplicate person"},
    )
    assert figures_compute(campaign).total == 1
    assert Signature.objects.get(pk=ids[0]).invalidation_reason == "duplicate person"

    client.post(reverse(LIST), {"action": "restore", "_selected_action": ids[:1]})
    client.post(reverse(LIST), {"action": "approve", "_selected_action": [suspect.pk]})
    assert figures_compute(campaign).total == 3
    assert Signature.objects.get(pk=suspect.pk).status == Status.CONFIRMED

    assert LogEntry.objects.count() == 4  # two invalidated, one restored, one approved
    entries = AuditEntry.objects.filter(object_type="signatures.signature")
    assert entries.count() == 4
    assert {entry.ip_address for entry in entries} == {"192.0.2.10"}


@pytest.mark.django_db
def test_resend_confirmation_queues_a_mail_only_for_unconfirmed_signatures(
    django_capture_on_commit_callbacks: Any,
) -> None:
    campaign = make_campaign()
    pending = make_signature(campaign, status=Status.PENDING, email="waiting@example.org")
    done = make_signature(campaign, email="done@example.org")
    client = _moderator()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse(LIST),
            {"action": "resend_confirmation", "_selected_action": [pending.pk, done.pk]},
        )
    assert [message.to for message in mail.outbox] == [["waiting@example.org"]]


@pytest.mark.django_db
def test_the_list_filters_by_campaign_status_country_and_source() -> None:
    campaign = make_campaign()
    other = make_campaign("other")
    french = make_signature(campaign, country="FR")
    make_signature(campaign, country="AU")
    make_signature(other, country="FR")
    paper = make_signature(campaign, country="AU", status=Status.PENDING, source="paper")
    client = _moderator()

    def listed(**filters: Any) -> set[int]:
        response = client.get(reverse(LIST), filters)
        return {signature.pk for signature in response.context["cl"].result_list}

    assert listed(campaign__id__exact=campaign.pk, country="FR") == {french.pk}
    assert listed(status__exact="pending") == {paper.pk}
    assert listed(source__exact="paper", campaign__id__exact=campaign.pk) == {paper.pk}
    page = client.get(reverse(LIST)).content.decode()
    assert "Australia" in page or "អូស្ត្រាលី" in page
    assert "Antarctica" not in page and "អង់តាក់ទិក" not in page  # only countries present
