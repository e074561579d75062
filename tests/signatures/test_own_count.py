"""A signer's own page counts their signature at once, while readers'
figures are recounted on their timer (signatures.tallies.figures_with):
exact either way, never counting the signer twice, whenever the kept
figures were read: before the signer's commit, during it, or after."""

import re
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import Campaign
from signatures import tallies
from signatures.models import CountChange, Signature
from tests.factories import make_campaign, make_signature

# Committed for real, as requests are: the figures are read by other transactions.
committed = pytest.mark.django_db(transaction=True)


def _figures(snapshot: str, reader: int | None = None) -> tallies.Figures:
    return tallies.Figures(
        total=0,
        by_country=[],
        goal=100,
        updated_at=timezone.now(),
        snapshot=snapshot,
        reader=reader,
    )


def test_a_snapshot_sees_what_committed_before_it_and_nothing_running_or_later() -> None:
    seen = _figures(snapshot="10:20:12,15")
    assert seen.sees(9) is True  # before every transaction still running
    assert seen.sees(13) is True  # committed, between running ones
    assert seen.sees(12) is False and seen.sees(15) is False  # running then
    assert seen.sees(20) is False and seen.sees(27) is False  # not started then
    assert _figures(snapshot="").sees(9) is False  # no snapshot: nothing known seen
    # Read by the very transaction that changed the count: before or after
    # its change, the snapshot cannot tell.
    assert _figures(snapshot="10:20:", reader=13).sees(13) is None


def _confirmed(signature: Signature) -> CountChange:
    with transaction.atomic():
        assert signature.confirm()
    assert signature.count_change is not None
    return signature.count_change


@committed
@pytest.mark.postgres
def test_figures_kept_from_before_the_commit_get_the_signer_added_once() -> None:
    campaign = make_campaign()
    make_signature(campaign, status="confirmed", country="FR")
    pending = make_signature(campaign, status="pending", country="KH")
    kept = tallies.figures(campaign)  # readers' figures, kept before the commit
    assert kept.total == 1

    shown = tallies.figures_with(campaign, _confirmed(pending))

    assert (shown.total, dict(shown.by_country)) == (2, {"FR": 1, "KH": 1})
    assert shown.goal == campaign.goal_for(2) and shown.own
    assert shown.version != kept.version  # its figures parts are its own
    assert tallies.figures(campaign) == kept  # readers keep theirs until the timer
    assert tallies.figures_compute(campaign).total == 2


@committed
@pytest.mark.postgres
def test_figures_read_after_the_commit_count_the_signer_as_they_are() -> None:
    campaign = make_campaign()
    pending = make_signature(campaign, status="pending", country="KH")
    change = _confirmed(pending)
    tallies.figures_forget(campaign)  # nothing kept: read now, after the commit

    shown = tallies.figures_with(campaign, change)

    assert shown.total == 1 and not shown.own  # not 2: the count saw it
    assert shown == tallies.figures(campaign)  # the readers' own, kept


@committed
@pytest.mark.postgres
def test_figures_read_while_the_signers_transaction_runs_get_the_signer_added_once() -> None:
    campaign = make_campaign()
    pending = make_signature(campaign, status="pending", country="KH")
    tallies.figures_forget(campaign)
    changed, read = threading.Event(), threading.Event()
    kept: list[tallies.Figures] = []

    def reader() -> None:  # another request, on its own connection
        changed.wait(10)
        try:
            kept.append(tallies.figures(campaign))
        finally:
            connection.close()
            read.set()

    thread = threading.Thread(target=reader)
    thread.start()
    with transaction.atomic():
        assert pending.confirm()
        change = pending.count_change
        assert change is not None
        changed.set()
        assert read.wait(10)
    thread.join()
    assert kept[0].total == 0  # read while the confirmation had not committed

    shown = tallies.figures_with(campaign, change)

    assert shown.total == 1 and dict(shown.by_country) == {"KH": 1}


@pytest.mark.django_db
def test_a_second_click_soon_after_the_first_is_counted_afresh() -> None:
    campaign = make_campaign()
    tallies.figures(campaign)  # kept at 0
    signature = make_signature(campaign, status="pending", country="KH")
    _confirmed(signature)
    signature.refresh_from_db()

    assert tallies.figures_after(campaign, signature.confirmed_at).total == 1
    # Long after, the kept figures have long been recounted: they are shown.
    assert tallies.figures_after(campaign, timezone.now() - timedelta(hours=1)).total == 0


@pytest.mark.django_db
def test_without_a_transaction_id_the_signers_figures_are_counted_afresh() -> None:
    campaign = make_campaign()
    tallies.figures(campaign)  # kept at 0
    signature = make_signature(campaign, status="pending", country="KH")
    change = _confirmed(signature)
    assert (change.transaction is None) == (connection.vendor != "postgresql")

    unknown = CountChange(country="KH", delta=1, transaction=None)
    assert tallies.figures_with(campaign, unknown).total == 1


def test_the_live_count_refreshes_only_once_the_figures_kept_before_the_signer_are_gone() -> None:
    """The signer's page may show more than the readers' kept figures (it
    adds the signer): its first refresh must come after those figures and
    the JSON's HTTP caching expire, or the count would step back."""
    script = (settings.BASE_DIR / "static" / "js" / "live-count.js").read_text()
    match = re.search(r"REFRESH_MS = (\d+);", script)
    assert match
    assert int(match.group(1)) > (tallies.FIGURES_CACHE_SECONDS + 1) * 1000


@pytest.mark.django_db
def test_each_process_reads_the_shared_figures_once_a_second_and_forgets_its_own_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    campaign = make_campaign()
    make_signature(campaign, status="confirmed", country="FR")
    reads: list[int] = []
    shared_read = tallies._figures_shared

    def counted_read(campaign: Campaign) -> tallies.Figures:
        reads.append(campaign.pk)
        return shared_read(campaign)

    monkeypatch.setattr(tallies, "_figures_shared", counted_read)
    now = [1000.0]
    monkeypatch.setattr("core.kept.time.monotonic", lambda: now[0])
    assert [tallies.figures(campaign).total for _ in range(20)] == [1] * 20
    assert len(reads) == 1  # once for twenty views
    make_signature(campaign, status="confirmed", country="KH")
    now[0] += tallies.FIGURES_KEPT_SECONDS / 2
    assert tallies.figures(campaign).total == 1  # kept: readers wait for the timer
    tallies.figures_forget(campaign)  # a withdrawal, a correction in this process
    assert tallies.figures(campaign).total == 2 and len(reads) == 2
    make_signature(campaign, status="confirmed", country="TH")
    tallies.cache.delete(f"signatures:figures:{campaign.pk}")  # the shared copy's timer ended
    assert tallies.figures(campaign).total == 2
    now[0] += tallies.FIGURES_KEPT_SECONDS + 0.1
    assert tallies.figures(campaign).total == 3 and len(reads) == 3
