"""Check a Sitthi petition's public count record, from anywhere.

    python -m transparency.verify https://sitthi.example.org right-to-vote
    python -m transparency.verify https://sitthi.example.org right-to-vote --key <base64>

Downloads the campaign's signed heads and every leaf, and checks that:
1. each head is signed by a key the site publishes (or by --key, a key you
   got another way, e.g. from the README or a press release);
2. each head names the one before it, and extends it: the leaves under an
   earlier head are still exactly the same (nothing removed, changed or
   back-dated), checked from the leaves themselves and with the site's
   consistency proofs;
3. the leaves add up, by country, to the count each head states, and the
   site showed that same count when it signed the head;
4. no withdrawal or invalidation takes away a signature the record never
   counted.
Prints a verdict and exits 0 when everything holds, 1 when anything fails,
2 when the site cannot be read. Needs Python 3.11+, pymerkle and
cryptography; not Django (core/countlog.py is plain Python).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
import urllib.error
import urllib.request
from collections import Counter
from typing import Any
from urllib.parse import urlencode

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pymerkle import InmemoryTree, InvalidProof, MerkleProof, verify_consistency

from core import countlog

PAGE = 5000


class Unreadable(Exception):
    pass


def fetch(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # nosec B310 - the user names the site
            return json.load(response)
    except (urllib.error.URLError, ValueError, OSError) as error:
        raise Unreadable(f"{url}: {error}") from error


class Check:
    """Collects what failed; every check runs, so the report is complete."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def that(self, holds: bool, failure: str) -> bool:
        if not holds:
            self.failures.append(failure)
        return holds


def _keys(site: str, pinned: list[str]) -> dict[str, Ed25519PublicKey]:
    raws = (
        [base64.b64decode(key) for key in pinned]
        if pinned
        else [
            base64.b64decode(key["public_key"]) for key in fetch(f"{site}/record/keys.json")["keys"]
        ]
    )
    return {countlog.key_id(raw): Ed25519PublicKey.from_public_bytes(raw) for raw in raws}


def _signed(head: dict[str, Any], keys: dict[str, Ed25519PublicKey]) -> bool:
    key = keys.get(head.get("key_id", ""))
    if key is None:
        return False
    try:
        key.verify(base64.b64decode(head["signature"]), countlog.head_signed_bytes(head))
    except (InvalidSignature, binascii.Error, KeyError, ValueError):
        return False
    return True


def _leaves(site: str, slug: str, size: int) -> list[dict[str, Any]]:
    leaves: list[dict[str, Any]] = []
    while len(leaves) < size:
        query = urlencode({"start": len(leaves) + 1, "count": PAGE, "size": size})
        page = fetch(f"{site}/record/{slug}/leaves.json?{query}")["leaves"]
        if not page:
            raise Unreadable(f"the site served {len(leaves)} leaves of {size}")
        leaves.extend(page)
    return leaves


def verify(site: str, slug: str, pinned_keys: list[str] | None = None) -> tuple[list[str], str]:
    """(failures, summary) for one campaign's record."""
    site = site.rstrip("/")
    check = Check()
    keys = _keys(site, pinned_keys or [])
    published = fetch(f"{site}/record/{slug}/heads.json")
    heads: list[dict[str, Any]] = published["heads"]
    if not heads:
        return [], "nothing published yet"

    previous: dict[str, Any] | None = None
    for head in heads:
        name = f"head of size {head['size']}"
        check.that(head.get("format") == countlog.FORMAT, f"{name}: unknown format")
        check.that(head["campaign"] == published["campaign"], f"{name}: another campaign's")
        check.that(_signed(head, keys), f"{name}: the signature does not verify")
        expected_previous = countlog.head_hash(previous) if previous else None
        check.that(
            head["previous"] == expected_previous, f"{name}: does not name the head before it"
        )
        if previous is not None:
            check.that(head["size"] > previous["size"], f"{name}: the record shrank")
        previous = head

    latest = heads[-1]
    leaves = _leaves(site, slug, latest["size"])
    tree = InmemoryTree()
    for position, leaf in enumerate(leaves, start=1):
        fields = {key: value for key, value in leaf.items() if key not in {"index", "hash"}}
        check.that(leaf.get("index") == position, f"leaf {position}: served out of order")
        check.that(
            countlog.leaf_hash(fields).hex() == leaf.get("hash"),
            f"leaf {position}: its hash is not the hash of its contents",
        )
        check.that(
            fields.get("campaign") == published["campaign"],
            f"leaf {position}: another campaign's",
        )
        tree.append_entry(countlog.canonical(fields))

    earlier: dict[str, Any] | None = None
    for head in heads:
        name = f"head of size {head['size']}"
        # The leaves as served now must give the root signed then: a leaf
        # changed, removed or slipped in since fails here.
        check.that(
            tree.get_root(head["size"]).hex() == head["root"],
            f"{name}: the leaves served now do not give the root it signed "
            "(the record was changed after it was published)",
        )
        under = leaves[: head["size"]]
        adds_up = countlog.leaves_add_up(under)
        check.that(
            adds_up == head["counts"],
            f"{name}: its leaves add up to {adds_up}, it states {head['counts']}",
        )
        check.that(
            head["shown"] == head["counts"],
            f"{name}: the site showed {head['shown']} while its record added up to "
            f"{head['counts']}",
        )
        if earlier is not None:
            query = urlencode({"first": earlier["size"], "second": head["size"]})
            answer = fetch(f"{site}/record/{slug}/consistency.json?{query}")
            try:
                verify_consistency(
                    bytes.fromhex(earlier["root"]),
                    bytes.fromhex(head["root"]),
                    MerkleProof.deserialize(answer["proof"]),
                )
                consistent = True
            except (InvalidProof, KeyError, ValueError):
                consistent = False
            check.that(
                consistent,
                f"{name}: the site's proof that it extends size {earlier['size']} fails",
            )
        earlier = head

    standing: Counter[str] = Counter()
    for position, leaf in enumerate(leaves, start=1):
        standing[leaf["receipt"]] += int(leaf["delta"])
        check.that(
            standing[leaf["receipt"]] in {0, 1},
            f"leaf {position}: takes away or adds a signature twice",
        )

    total = sum(latest["counts"].values())
    countries = ", ".join(
        f"{country or '?'} {count}" for country, count in latest["counts"].items()
    )
    summary = (
        f"{len(heads)} signed heads, {len(leaves)} leaves; "
        f"count {total} at {latest['published_at']} ({countries})"
    )
    return check.failures, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m transparency.verify", description=__doc__)
    parser.add_argument("site", help="the site's address, e.g. https://sitthi.example.org")
    parser.add_argument("campaign", help="the campaign's name in its address (its slug)")
    parser.add_argument(
        "--key",
        action="append",
        default=[],
        help="a public key (base64) to trust instead of the keys the site publishes",
    )
    arguments = parser.parse_args(argv)
    try:
        failures, summary = verify(arguments.site, arguments.campaign, arguments.key)
    except Unreadable as error:
        print(f"CANNOT CHECK: {error}")
        return 2
    if failures:
        print(f"FAILED: {len(failures)} problem(s) in the record of {arguments.campaign}")
        for failure in failures:
            print(f"  - {failure}")
        print(f"  ({summary})")
        return 1
    print(f"OK: the record of {arguments.campaign} checks out: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
