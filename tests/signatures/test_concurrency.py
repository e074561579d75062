"""Under a flood, on PostgreSQL: one signature per person, and an exact count."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from signatures import tallies
from signatures.forms import form_token
from signatures.links import confirmation_link
from signatures.models import Signature, TallyDelta
from signatures.tasks import tallies_fold, tallies_reconcile
from tests.factories import make_campaign, make_signature

# One process runs them one after another: each holds dozens of PostgreSQL
# connections at once, and the server allows 100 for all three processes.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("concurrency"),
]


@pytest.fixture(autouse=True)
def _no_rate_limit(settings: Any) -> None:
    # Every request comes from 127.0.0.1 here; the limit is tested elsewhere.
    settings.SIGNATURE_RATE_BURST = "100000/m"
    settings.SIGNATURE_RATE_SUSTAINED = "100000/h"


def in_threads(count: int, work: Callable[[int], Any], workers: int | None = None) -> list[Any]:
    """Run work(0..count-1) in threads released together; each closes its connection."""
    workers = workers or count
    start = threading.Barrier(min(workers, count))

    def run(number: int) -> Any:
        try:
            if number < workers:
                start.wait(timeout=30)
            return work(number)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, range(count)))


def post_signature(campaign_slug: str, email: str) -> int:
    response = Client().post(
        f"/en/campaigns/{campaign_slug}/sign/",
        {
            "full_name": "Sok Dara",
            "email": email,
            "country": "FR",
            "consent": "on",
            "form_token": form_token(),
        },
    )
    return response.status_code


def test_fifty_people_with_one_address_at_once_leave_one_signature() -> None:
    campaign = make_campaign()
    statuses = in_threads(50, lambda n: post_signature(campaign.slug, "same@example.org"))
    assert statuses == [302] * 50
    assert Signature.objects.filter(campaign=campaign).count() == 1
    signature = Signature.objects.get()
    assert signature.confirmation_sends == 5  # the rest were refused by the limit


def test_hundreds_of_concurrent_signatures_all_confirmed_give_an_exact_count() -> None:
    campaign = make_campaign()
    people = 300
    statuses = in_threads(
        people, lambda n: post_signature(campaign.slug, f"p{n}@example.org"), workers=24
    )
    assert statuses == [302] * people
    signatures = list(Signature.objects.filter(campaign=campaign))
    assert len(signatures) == people

    folding = threading.Event()

    def fold_meanwhile() -> None:
        # A fold every few milliseconds, not back to back: folds still land
        # among the confirmations, and no spinning thread takes the CPU the
        # confirmations need (it took half the test's CPU).
        try:
            while not folding.wait(0.003):
                tallies_fold()
        finally:
            connection.close()

    folder = threading.Thread(target=fold_meanwhile)
    folder.start()
    try:
        # Everyone confirms at once, some twice (a double click).
        in_threads(people + 50, lambda n: signatures[n % people].confirm(), workers=24)
    finally:
        folding.set()
        folder.join()

    assert Signature.objects.counted().filter(campaign=campaign).count() == people
    assert tallies.figures_compute(campaign).total == people
    tallies_fold()
    assert tallies.figures_compute(campaign).total == people
    assert tallies_reconcile() == 0


def test_twenty_clicks_on_one_confirmation_link_at_once_count_it_once() -> None:
    """The link's read locks the row and the confirmation writes it in the
    same transaction: the clicks wait for each other, each finds the
    signature as the one before left it."""
    campaign = make_campaign()
    signature = make_signature(campaign, status=Signature.Status.PENDING)
    path = urlsplit(confirmation_link(signature)).path
    # Ten at a time: each thread holds a PostgreSQL connection.
    statuses = in_threads(20, lambda n: Client().get(path).status_code, workers=10)
    assert statuses == [200] * 20
    assert TallyDelta.objects.filter(campaign=campaign).count() == 1
    assert tallies.figures_compute(campaign).total == 1


def test_a_confirmation_reads_its_signature_once_and_locked() -> None:
    campaign = make_campaign()
    signature = make_signature(campaign, status=Signature.Status.PENDING)
    path = urlsplit(confirmation_link(signature)).path
    with CaptureQueriesContext(connection) as queries:
        assert Client().get(path).status_code == 200
    # Reads of the whole row (the figures' list of recent signers reads two columns).
    reads = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith("SELECT")
        and '"signatures_signature"."link_secret"' in query["sql"]
    ]
    assert len(reads) == 1, reads
    assert "FOR UPDATE" in reads[0]
    signature.refresh_from_db()
    assert signature.status == Signature.Status.CONFIRMED
