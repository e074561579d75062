"""Counts: exact before and after folding, reconciled after drift, per country."""

from datetime import timedelta

from django.utils import timezone

from outbox.models import Message
from signatures import services, tallies
from signatures.models import CountryTally, Signature, TallyDelta
from signatures.tasks import ip_addresses_erase, tallies_fold, tallies_reconcile, unconfirmed_purge


def test_public_figures_are_exact_before_and_after_folding(campaign, signature_factory) -> None:
    for country in ["FR", "FR", "AU", "US"]:
        signature_factory(country=country).confirm()
    signature_factory(country="FR")  # pending: not counted
    before = tallies.figures_compute(campaign)
    assert before.total == 4
    assert before.by_country == [("FR", 2), ("AU", 1), ("US", 1)]

    assert tallies_fold() == 4
    assert not TallyDelta.objects.exists()
    assert dict(CountryTally.objects.values_list("country", "confirmed")) == {
        "FR": 2,
        "AU": 1,
        "US": 1,
    }
    after = tallies.figures_compute(campaign)
    assert (after.total, after.by_country) == (before.total, before.by_country)


def test_folding_adds_to_existing_tallies_and_handles_withdrawals(
    campaign, signature_factory
) -> None:
    first = signature_factory(country="FR")
    first.confirm()
    tallies_fold()
    signature_factory(country="FR").confirm()
    first.withdraw()
    tallies_fold()
    assert CountryTally.objects.get(country="FR").confirmed == 1
    assert tallies.figures_compute(campaign).total == 1


def test_the_goal_raises_itself_at_milestones(campaign, signature_factory) -> None:
    campaign.goal_milestones = [2, 5]
    campaign.save()
    assert tallies.figures_compute(campaign).goal == 2
    signature_factory().confirm()
    signature_factory().confirm()
    assert tallies.figures_compute(campaign).goal == 5


def test_reconciling_corrects_drift(campaign, signature_factory) -> None:
    for _ in range(3):
        signature_factory(country="KH").confirm()
    tallies_fold()
    CountryTally.objects.filter(country="KH").update(confirmed=7)  # drift: a bug, a bad restore
    Signature.objects.filter(pk=signature_factory(country="JP").pk).update(status="confirmed")
    assert tallies_reconcile() == 5
    figures = tallies.figures_compute(campaign)
    assert figures.total == 4
    assert dict(figures.by_country) == {"KH": 3, "JP": 1}
    assert tallies_reconcile() == 0


def test_public_signers_are_only_those_who_opted_in(campaign, signature_factory) -> None:
    signature_factory(full_name="Shown Person", show_publicly=True, country="NZ").confirm()
    signature_factory(full_name="Hidden Person").confirm()
    signature_factory(full_name="Pending Person", show_publicly=True)
    assert tallies.figures_compute(campaign).recent_signers == [("Shown Person", "NZ")]


def test_ip_addresses_are_erased_after_the_retention_period(signature_factory, settings) -> None:
    old = signature_factory(ip_address="203.0.113.5")
    recent = signature_factory(ip_address="203.0.113.6")
    Signature.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=settings.SIGNATURE_IP_RETENTION_DAYS + 1)
    )
    assert ip_addresses_erase() == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.ip_address is None
    assert recent.ip_address == "203.0.113.6"


def test_unconfirmed_signatures_are_purged_with_their_mails(
    signature_factory, settings, django_capture_on_commit_callbacks
) -> None:
    stale = signature_factory()
    with django_capture_on_commit_callbacks(execute=True):
        services.confirmation_send(stale)
    confirmed = signature_factory()
    confirmed.confirm()
    fresh = signature_factory()
    long_ago = timezone.now() - timedelta(days=settings.SIGNATURE_UNCONFIRMED_PURGE_DAYS + 1)
    Signature.objects.filter(pk__in=[stale.pk, confirmed.pk]).update(created_at=long_ago)
    assert unconfirmed_purge() == 1
    assert set(Signature.objects.values_list("pk", flat=True)) == {confirmed.pk, fresh.pk}
    assert not Message.objects.filter(key__startswith=f"signature:{stale.pk}:").exists()
