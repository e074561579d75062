"""The verifier anyone can run (`python -m transparency.verify`), against a
live test server: it passes an honest record through several publications
and fails a tampered leaf, a forged head and a count the site misstated."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core import countlog
from signatures.models import CountEvent, CountryTally, Signature
from signatures.tallies import tallies_fold, tallies_reconcile
from tests.factories import make_campaign, make_signature
from transparency import keys, services
from transparency.models import TreeHead
from transparency.verify import verify

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def run_verifier(site: str, slug: str, *extra: str) -> subprocess.CompletedProcess:
    # As a journalist runs it: its own process, no Django settings.
    return subprocess.run(
        [sys.executable, "-m", "transparency.verify", site, slug, *extra],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def history(live_server: Any) -> Any:
    """Three publications with confirmations, a withdrawal, an invalidation
    and a restoration between them."""
    campaign = make_campaign()
    signatures = [make_signature(campaign, country=c) for c in ("FR", "FR", "AU", "KH")]
    services.head_publish(campaign)
    signatures[0].withdraw()
    signatures[2].invalidate("duplicate person")
    make_signature(campaign, country="JP")
    tallies_fold()
    services.head_publish(campaign)
    signatures[2].restore()
    make_signature(campaign, status=Signature.Status.PENDING, country="US").confirm()
    services.head_publish(campaign)
    return campaign


def test_an_honest_record_checks_out_across_publications(live_server: Any, history: Any) -> None:
    result = run_verifier(live_server.url, history.slug)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout
    assert "3 signed heads" in result.stdout
    # The last head's count: FR 1, AU 1, KH 1, JP 1, US 1.
    assert "count 5" in result.stdout


def test_the_verifier_needs_no_django() -> None:
    probe = (
        "import sys, transparency.verify; "
        "sys.exit(any(name.split('.')[0] == 'django' for name in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env={"PATH": "/usr/bin:/bin"}, check=False
    )
    assert result.returncode == 0


def test_a_past_leaf_rewritten_fails_the_consistency_check(live_server: Any, history: Any) -> None:
    # Someone with the database moves a withdrawal to another country, and
    # even recomputes the leaf's hash so the leaf looks whole.
    event = CountEvent.objects.filter(campaign=history, kind="withdrawn").get()
    event.country = "AU"
    event.leaf_hash = countlog.leaf_hash(event.leaf())
    event.save()
    result = run_verifier(live_server.url, history.slug)
    assert result.returncode == 1
    assert "do not give the root it signed" in result.stdout


def test_a_forged_head_fails_its_signature(live_server: Any, history: Any) -> None:
    head = TreeHead.objects.of(history).last()
    assert head is not None
    head.counts = {**head.counts, "KH": head.counts["KH"] + 100}
    head.shown = head.counts
    head.save()
    result = run_verifier(live_server.url, history.slug)
    assert result.returncode == 1
    assert "signature does not verify" in result.stdout
    assert "add up to" in result.stdout


def test_a_key_rotation_keeps_old_heads_verifiable_and_a_pinned_key_catches_a_new_one(
    live_server: Any, history: Any, settings: Any
) -> None:
    first_key = keys.public_keys()[0].as_json()["public_key"]
    settings.RECORD_SIGNING_KEY = base64.b64encode(b"k" * 32).decode()
    make_signature(history, country="FR")
    services.head_publish(history)  # signed with the new key
    # Rotated without publishing the old key: the old heads no longer verify.
    forgotten = run_verifier(live_server.url, history.slug)
    assert forgotten.returncode == 1
    assert "head of size 4: the signature does not verify" in forgotten.stdout
    # Rotated as the README says: the old public key stays published.
    settings.RECORD_RETIRED_PUBLIC_KEYS = [first_key]
    assert run_verifier(live_server.url, history.slug).returncode == 0
    # Someone who trusts only the first key sees which heads it did not sign.
    pinned = run_verifier(live_server.url, history.slug, "--key", str(first_key))
    assert pinned.returncode == 1
    assert "head of size 10: the signature does not verify" in pinned.stdout


def test_a_corrupted_tally_is_caught_by_the_verifier_and_the_reconciliation(
    live_server: Any,
) -> None:
    campaign = make_campaign()
    for country in ("FR", "FR", "KH"):
        make_signature(campaign, country=country)
    tallies_fold()
    CountryTally.objects.filter(campaign=campaign, country="KH").update(confirmed=500)
    services.head_publish(campaign)
    failures, _ = verify(live_server.url, campaign.slug)
    assert any("the site showed" in failure for failure in failures)
    assert tallies_reconcile(campaign=campaign) == 499
    # Corrected: the next head agrees (the earlier one stays on the record).
    make_signature(campaign, country="FR")
    services.head_publish(campaign)
    failures, _ = verify(live_server.url, campaign.slug)
    assert len(failures) == 1


def test_an_unknown_site_or_campaign_cannot_be_checked(live_server: Any) -> None:
    result = run_verifier(live_server.url, "no-such-campaign")
    assert result.returncode == 2
    assert "CANNOT CHECK" in result.stdout
