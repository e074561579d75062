"""A sign request takes as long whatever the address's history.

An outside tester told new addresses from ones already signed by the time
of the answer alone (median 14.7 ms against 18.3 ms, Mann-Whitney z = -6.5
over 180 requests): the request did the history-dependent work itself. Now it
stores the form and queues one task; the worker does the rest.

Two tests. The first is exact: the request sends the same SQL statements
(values aside) whatever the address's history, so it does the same work in
the database. The second is statistical, not a threshold on time: requests
for new addresses, pending ones and confirmed ones are sent in one shuffled
order (a fixed seed), so whatever else loads the machine falls on all kinds
alike, and a rank-sum test asks whether the kinds' times could come from one
distribution. With no difference, |z| > 4.5 happens about once in 150,000
runs. Each earlier address is sent once, as a prober would try many.
"""

import math
import random
import re
import time
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from signatures.forms import form_token
from signatures.models import Signature, Submission
from tests.factories import make_campaign, make_signature, submissions_process

SEED = 20261202
REQUESTS_PER_KIND = 120
MAX_Z = 4.5


def rank_sum_z(first: list[float], second: list[float]) -> float:
    """Mann-Whitney U of `first` against `second`, as a normal z score
    (continuous timings: ties have probability zero)."""
    ranked = sorted([(value, 0) for value in first] + [(value, 1) for value in second])
    rank_total = sum(rank for rank, (_value, group) in enumerate(ranked, start=1) if group == 0)
    n1, n2 = len(first), len(second)
    u = rank_total - n1 * (n1 + 1) / 2
    return (u - n1 * n2 / 2) / math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)


def test_rank_sum_z_sees_a_shift_and_not_noise() -> None:
    rng = random.Random(SEED)
    noise = [rng.gauss(10, 1) for _ in range(200)]
    same = [rng.gauss(10, 1) for _ in range(200)]
    shifted = [rng.gauss(10.5, 1) for _ in range(200)]
    assert abs(rank_sum_z(noise, same)) < 3
    assert rank_sum_z(noise, shifted) < -4


HISTORIES = {
    "pending": Signature.Status.PENDING,
    "confirmed": Signature.Status.CONFIRMED,
    "held": Signature.Status.SUSPECT,
    "invalidated": Signature.Status.INVALIDATED,
}


@pytest.fixture
def timed_campaign(db: None, settings: Any) -> Any:
    settings.SIGNATURE_MIN_FILL_SECONDS = 0
    campaign = make_campaign()
    for kind, status in HISTORIES.items():
        for number in range(REQUESTS_PER_KIND):
            make_signature(campaign, email=f"{kind}{number}@example.org", status=status)
    return campaign


def _submission(email: str) -> dict[str, str]:
    return {
        "full_name": "Sok Dara",
        "email": email,
        "country": "FR",
        "consent": "on",
        "form_token": form_token(),
    }


def _statements(queries: list[dict[str, str]]) -> list[str]:
    """The SQL sent, values aside (strings, numbers, encrypted data and
    savepoint names, which count up)."""
    return [re.sub(r"'(?:[^']|'')*'|\b\d+\b|\"s\d+_x\d+\"", "?", query["sql"]) for query in queries]


def test_signing_sends_the_same_statements_whatever_the_address_history(
    client: Client, timed_campaign: Any
) -> None:
    url = f"/en/campaigns/{timed_campaign.slug}/sign/"
    client.get(f"/en/campaigns/{timed_campaign.slug}/")  # caches warm for every kind
    sent: dict[str, list[str]] = {}
    for number, kind in enumerate(["new", *HISTORIES, "new"]):
        email = f"fresh{number}@example.org" if kind == "new" else f"{kind}0@example.org"
        with CaptureQueriesContext(connection) as queries:
            response = client.post(url, _submission(email), REMOTE_ADDR=f"198.18.1.{number}")
        assert response.status_code == 302
        sent[kind] = _statements(queries.captured_queries)
    assert sent["new"], "the request stores the form"
    for kind in HISTORIES:
        assert sent[kind] == sent["new"], kind


def test_signing_takes_as_long_whether_or_not_the_address_signed(
    client: Client, timed_campaign: Any
) -> None:
    url = f"/en/campaigns/{timed_campaign.slug}/sign/"
    kinds = ["new", "pending", "confirmed"] * REQUESTS_PER_KIND
    random.Random(SEED).shuffle(kinds)
    client.get(f"/en/campaigns/{timed_campaign.slug}/")  # warm the caches for every kind
    timings: dict[str, list[float]] = {"new": [], "pending": [], "confirmed": []}
    for number, kind in enumerate(kinds):
        # Each earlier address once: its first repeat is the one that mails.
        email = (
            f"new{number}@example.org"
            if kind == "new"
            else f"{kind}{len(timings[kind])}@example.org"
        )
        data = _submission(email)
        # A client address of its own per request: no rate limit is reached,
        # which would hold one kind more than another.
        address = f"198.18.{number // 200}.{number % 200 + 1}"
        started = time.perf_counter()
        response = client.post(url, data, REMOTE_ADDR=address)
        timings[kind].append(time.perf_counter() - started)
        assert response.status_code == 302

    for kind in ("pending", "confirmed"):
        z = rank_sum_z(timings["new"], timings[kind])
        assert abs(z) < MAX_Z, (kind, z, _medians(timings))

    # Every form was kept for the worker, and the worker's part still tells
    # the kinds apart as it must: one new signature per new address.
    assert Submission.objects.count() == len(kinds)
    submissions_process()
    assert Submission.objects.count() == 0
    assert Signature.objects.filter(campaign=timed_campaign).count() == REQUESTS_PER_KIND * (
        len(HISTORIES) + 1
    )


def _medians(timings: dict[str, list[float]]) -> dict[str, str]:
    return {
        kind: f"{sorted(values)[len(values) // 2] * 1000:.2f} ms"
        for kind, values in timings.items()
    }
