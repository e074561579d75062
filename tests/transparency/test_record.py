"""The public count record: every change of a count is a leaf, heads are
signed and chain, proofs check out, and the record agrees with the count."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.test import Client
from pymerkle import InmemoryTree, MerkleProof, verify_consistency, verify_inclusion

from core import countlog
from signatures.models import CountEvent, Signature
from signatures.tallies import tallies_fold
from tests.factories import make_campaign, make_signature
from transparency import services
from transparency.models import Leaf

pytestmark = pytest.mark.django_db


def leaves_of(campaign) -> list[dict]:
    return [event.leaf() for event in CountEvent.objects.filter(campaign=campaign)]


def test_each_change_of_the_count_is_one_leaf_and_nothing_else_is():
    campaign = make_campaign()
    pending = make_signature(campaign, status=Signature.Status.PENDING, country="FR")
    assert CountEvent.objects.count() == 0  # not counted: not in the record
    pending.confirm()
    confirmed = make_signature(campaign, country="AU")
    confirmed.withdraw()
    invalid = make_signature(campaign, country="JP")
    invalid.invalidate("fraud")
    invalid.restore()
    kinds = sorted(CountEvent.objects.values_list("kind", "delta"))
    assert kinds == sorted(
        [
            ("confirmed", 1),
            ("confirmed", 1),
            ("withdrawn", -1),
            ("confirmed", 1),
            ("invalidated", -1),
            ("restored", 1),
        ]
    )
    # A second confirmation of the same signature moves nothing.
    pending.confirm()
    assert CountEvent.objects.count() == 6


def test_a_leaf_says_nothing_that_leads_to_the_signer():
    campaign = make_campaign()
    signature = make_signature(campaign, email="dara@example.org", full_name="Dara Sok")
    (event,) = CountEvent.objects.all()
    leaf = json.dumps(event.leaf())
    for secret in ("dara", "Dara", "example.org", signature.receipt):
        assert secret not in leaf
    assert set(event.leaf()) == {"campaign", "kind", "day", "country", "delta", "receipt"}
    assert event.leaf()["receipt"] == countlog.receipt_hash(signature.receipt)
    assert "T" not in event.leaf()["day"]  # a day, never a time


def test_a_head_adds_up_the_leaves_and_is_signed():
    campaign = make_campaign()
    for country in ("FR", "FR", "AU"):
        make_signature(campaign, country=country)
    make_signature(campaign, country="AU").withdraw()
    head = services.head_publish(campaign)
    assert head is not None
    assert head.size == 5
    assert head.counts == {"AU": 1, "FR": 2} == head.shown
    published = Client().get(f"/record/{campaign.slug}/heads.json").json()["heads"][-1]
    keys = Client().get("/.well-known/sitthi-record-keys.json").json()["keys"]
    (key,) = [k for k in keys if k["id"] == published["key_id"]]
    Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"])).verify(
        base64.b64decode(published["signature"]), countlog.head_signed_bytes(published)
    )
    tree = InmemoryTree()
    leaves = Client().get(f"/record/{campaign.slug}/leaves.json").json()["leaves"]
    for leaf in leaves:
        fields = {k: v for k, v in leaf.items() if k not in {"index", "hash"}}
        assert countlog.leaf_hash(fields).hex() == leaf["hash"]
        tree.append_entry(countlog.canonical(fields))
    assert tree.get_root().hex() == published["root"]
    assert countlog.leaves_add_up(leaves) == published["counts"]


def test_nothing_new_publishes_no_new_head():
    campaign = make_campaign()
    make_signature(campaign)
    assert services.head_publish(campaign) is not None
    assert services.head_publish(campaign) is None
    assert services.head_publish(make_campaign(slug="empty")) is None


def test_heads_chain_and_each_extends_the_one_before():
    campaign = make_campaign()
    sizes = []
    for round_number in range(3):
        for _ in range(round_number + 2):
            make_signature(campaign, country="KH")
        if round_number == 1:
            Signature.objects.filter(campaign=campaign).first().withdraw()
        sizes.append(services.head_publish(campaign).size)
    heads = Client().get(f"/record/{campaign.slug}/heads.json").json()["heads"]
    assert [head["size"] for head in heads] == sizes
    assert heads[0]["previous"] is None
    for earlier, later in zip(heads, heads[1:], strict=False):
        assert later["previous"] == countlog.head_hash(earlier)
        answer = Client().get(
            f"/record/{campaign.slug}/consistency.json",
            {"first": earlier["size"], "second": later["size"]},
        )
        proof = MerkleProof.deserialize(answer.json()["proof"])
        verify_consistency(bytes.fromhex(earlier["root"]), bytes.fromhex(later["root"]), proof)


def test_every_leaf_has_an_inclusion_proof():
    campaign = make_campaign()
    for _ in range(7):
        make_signature(campaign)
    head = services.head_publish(campaign)
    for leaf in Leaf.objects.filter(campaign=campaign):
        answer = (
            Client().get(f"/record/{campaign.slug}/inclusion.json", {"index": leaf.position}).json()
        )
        verify_inclusion(
            bytes(leaf.leaf_hash),
            bytes.fromhex(head.root),
            MerkleProof.deserialize(answer["proof"]),
        )


def test_leaves_within_a_day_are_not_in_signing_order():
    campaign = make_campaign()
    signatures = [make_signature(campaign) for _ in range(20)]
    services.head_publish(campaign)
    by_index = [
        bytes(CountEvent.objects.get(pk=event_id).receipt_hash).hex()
        for event_id in Leaf.objects.filter(campaign=campaign)
        .order_by("position")
        .values_list("event_id", flat=True)
    ]
    in_signing_order = [countlog.receipt_hash(s.receipt) for s in signatures]
    assert by_index != in_signing_order
    assert by_index == sorted(
        by_index,
        key=lambda h: bytes(CountEvent.objects.get(receipt_hash=bytes.fromhex(h)).leaf_hash),
    )


def test_a_corrupted_tally_shows_in_the_next_head_and_the_reconciliation():
    from signatures.models import CountryTally
    from signatures.tallies import tallies_reconcile

    campaign = make_campaign()
    for _ in range(3):
        make_signature(campaign, country="FR")
    tallies_fold()
    CountryTally.objects.filter(campaign=campaign, country="FR").update(confirmed=30)
    head = services.head_publish(campaign)
    assert head.counts == {"FR": 3}
    assert head.shown == {"FR": 30}
    assert not head.agrees
    assert tallies_reconcile(campaign=campaign) == 27


@pytest.mark.parametrize(
    "query",
    [
        {"start": "0"},
        {"start": "x"},
        {"count": "-1"},
        {"size": "999"},
        {"size": "99999999999999999999999"},
        {"start": "99999999999999999999999"},
    ],
)
def test_bad_leaf_queries_are_400_not_500(query):
    campaign = make_campaign()
    make_signature(campaign)
    services.head_publish(campaign)
    response = Client().get(f"/record/{campaign.slug}/leaves.json", query)
    assert response.status_code == 400
    assert "error" in response.json()


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("consistency.json", {"first": "2", "second": "1"}),
        ("consistency.json", {"first": "1"}),
        ("consistency.json", {"first": "1", "second": "5"}),
        ("inclusion.json", {"index": "3"}),
        ("inclusion.json", {"index": "0"}),
        ("inclusion.json", {}),
        ("inclusion.json", {"index": "1", "size": "99999999999999999999"}),
        ("consistency.json", {"first": "1", "second": "99999999999999999999"}),
    ],
)
def test_bad_proof_queries_are_400_not_500(path, query):
    campaign = make_campaign()
    make_signature(campaign)
    services.head_publish(campaign)
    make_signature(campaign)
    services.head_publish(campaign)
    response = Client().get(f"/record/{campaign.slug}/{path}", query)
    assert response.status_code == 400


def test_a_draft_campaigns_record_is_not_public():
    campaign = make_campaign(status="draft")
    assert Client().get(f"/record/{campaign.slug}/heads.json").status_code == 404
    assert Client().get("/record/no-such/heads.json").status_code == 404


def test_a_tree_read_in_small_pieces_gives_the_same_root_and_proofs(monkeypatch):
    from transparency import tree

    monkeypatch.setattr(tree, "LEAVES_READ_AT_ONCE", 4)
    campaign = make_campaign()
    for _ in range(37):
        make_signature(campaign)
    head = services.head_publish(campaign)
    reference = InmemoryTree()
    leaves = Leaf.objects.filter(campaign=campaign).order_by("position").select_related("event")
    for leaf in leaves:
        reference.append_entry(countlog.canonical(leaf.event.leaf()))
    assert reference.get_root().hex() == head.root
    for leaf in leaves:
        proof = MerkleProof.deserialize(services.inclusion_proof(head, leaf.position))
        verify_inclusion(bytes(leaf.leaf_hash), bytes.fromhex(head.root), proof)
