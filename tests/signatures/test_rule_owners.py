"""Each rule of the campaign has one owner that every path goes through:
these tests take the other paths (paper, admin, audit, closing by hand) and
check that they reach the same answer as the signer's own path."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import RequestFactory, override_settings
from django.utils import timezone

from campaigns.models import Campaign
from core.audit import audit_record
from core.http import client_ip
from core.models import AuditEntry
from signatures import services
from signatures.identity import email_hash, name_key
from signatures.models import Signature
from signatures.tallies import figures_compute, tallies_reconcile
from tests.factories import make_campaign


def _public_count(campaign: Campaign) -> int:
    return figures_compute(campaign).total


def _online(campaign: Campaign, email: str) -> Signature:
    signature = Signature.objects.create(
        campaign=campaign,
        full_name="Online Signer",
        name_key=name_key("Online Signer"),
        email=email,
        email_hash=email_hash(email),
        country="FR",
    )
    signature.confirm()
    return signature


def _paper(campaign: Campaign, name: str) -> Signature:
    return Signature.paper_entry(
        campaign=campaign, full_name=name, name_key=name_key(name), country="FR"
    )


@pytest.mark.django_db
def test_a_paper_signature_moves_the_count_exactly_as_an_online_one() -> None:
    online, paper = make_campaign("online-campaign"), make_campaign("paper-campaign")
    online_signature = _online(online, "dara@example.org")
    paper_signature = _paper(paper, "សុខ ដារា")
    assert (_public_count(online), _public_count(paper)) == (1, 1)
    assert online_signature.invalidate("duplicate person")
    assert paper_signature.invalidate("duplicate person")
    assert (_public_count(online), _public_count(paper)) == (0, 0)
    assert online_signature.restore()
    assert paper_signature.restore()
    assert (_public_count(online), _public_count(paper)) == (1, 1)
    assert paper_signature.source == Signature.Source.PAPER
    # Nothing to correct: every change wrote its own delta.
    assert tallies_reconcile(campaign=online) == 0
    assert tallies_reconcile(campaign=paper) == 0


@pytest.mark.django_db
def test_the_true_count_reads_what_counts_from_the_model() -> None:
    campaign = make_campaign()
    counted = _online(campaign, "one@example.org")
    _paper(campaign, "Paper Signer")
    Signature.objects.create(campaign=campaign, full_name="Pending", email="p@example.org")
    assert Signature.objects.counted().filter(campaign=campaign).count() == 2
    assert all(s.is_counted for s in Signature.objects.counted())
    assert {s.status for s in Signature.objects.counted()} <= Signature.COUNTED
    counted.withdraw()
    assert _public_count(campaign) == 1
    assert tallies_reconcile(campaign=campaign) == 0


@pytest.mark.django_db
def test_a_campaign_closed_by_hand_has_ended_for_its_page_and_for_confirming() -> None:
    campaign = make_campaign()
    Campaign.objects.filter(pk=campaign.pk).update(
        status=Campaign.Status.CLOSED, updated_at=timezone.now() - timedelta(hours=25)
    )
    campaign.refresh_from_db()
    assert campaign.has_ended()
    assert not services.confirmations_open(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(updated_at=timezone.now())
    campaign.refresh_from_db()
    assert campaign.has_ended() and services.confirmations_open(campaign)  # the grace period


@pytest.mark.django_db
@override_settings(TRUSTED_PROXY_COUNT=1)
def test_the_audit_log_and_signing_read_the_same_client_address() -> None:
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.4"
    )
    request.user = type("Anonymous", (), {"is_authenticated": False})()
    assert client_ip(request) == "198.51.100.4"
    entry = audit_record(action=AuditEntry.Action.OTHER, request=request)
    assert entry.ip_address == "198.51.100.4"
    forged = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-ip")
    forged.user = request.user
    assert audit_record(action=AuditEntry.Action.OTHER, request=forged).ip_address is None
