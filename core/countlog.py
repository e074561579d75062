"""The public count record's format: receipts, leaves and signed heads.

One definition shared by the site that writes the record (signatures,
transparency) and by the verifier anyone can run without Django
(`python -m transparency.verify`), so this module imports nothing from
Django or the apps.

- A **receipt** is a random code a signer is given (16 letters and digits of
  RFC 4648 base32, shown in groups of four). Only its SHA-256 is public.
- A **leaf** is one change of a campaign's count: the campaign (a hash of its
  number), the event's kind and its day (never a time), the country it moves,
  +1 or -1, and the receipt's hash. Its bytes are canonical JSON; its hash
  is RFC 9162's leaf hash, SHA-256(0x00 || bytes), as pymerkle computes it.
- A **head** is the tree's size and root with the counts by country its
  leaves add up to ("counts") and the counts the site showed at that same
  moment ("shown"), the previous head's hash, and an Ed25519 signature over
  the canonical JSON of everything but the signature.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

RECEIPT_BYTES = 10  # 80 random bits: 16 base32 characters
RECEIPT_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
FORMAT = "sitthi-count-record/1"
HEAD_FIELDS = (
    "format",
    "campaign",
    "size",
    "root",
    "counts",
    "shown",
    "published_at",
    "previous",
    "key_id",
)


def canonical(value: Any) -> bytes:
    """The one byte form of a JSON value: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- Receipts ------------------------------------------------------------------


def receipt_new() -> str:
    """A fresh receipt, stored without separators."""
    return base64.b32encode(secrets.token_bytes(RECEIPT_BYTES)).decode()


def receipt_normalise(typed: str) -> str | None:
    """The receipt in `typed` as stored (upper case, no spaces or dashes), or
    None when it cannot be one. People copy it from a mail or a page, with
    spaces, dashes or in lower case; 0, 1 and 8 are read as O, I and B."""
    cleaned = "".join(ch for ch in typed.upper() if ch.isalnum())
    cleaned = cleaned.translate(str.maketrans("018", "OIB"))
    if len(cleaned) != 16 or not set(cleaned) <= RECEIPT_ALPHABET:
        return None
    return cleaned


def receipt_display(receipt: str) -> str:
    """XXXX-XXXX-XXXX-XXXX: easy to read out and to compare."""
    return "-".join(receipt[i : i + 4] for i in range(0, len(receipt), 4))


def receipt_hash(receipt: str) -> str:
    """What the public record shows of a receipt."""
    return sha256_hex(f"sitthi-receipt:{receipt}".encode())


# --- Leaves --------------------------------------------------------------------


def campaign_hash(campaign_id: int) -> str:
    return sha256_hex(f"sitthi-campaign:{campaign_id}".encode())


def leaf_fields(
    *, campaign: str, kind: str, day: str, country: str, delta: int, receipt: str
) -> dict[str, Any]:
    """A leaf as the public record lists it (`campaign` and `receipt` are hashes)."""
    return {
        "campaign": campaign,
        "kind": kind,
        "day": day,
        "country": country,
        "delta": delta,
        "receipt": receipt,
    }


def leaf_hash(fields: Mapping[str, Any]) -> bytes:
    """RFC 9162 leaf hash of a leaf's canonical bytes."""
    return hashlib.sha256(b"\x00" + canonical(dict(fields))).digest()


def leaves_add_up(leaves: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """The count by country a run of leaves adds up to (countries at 0 left out)."""
    counts: Counter[str] = Counter()
    for leaf in leaves:
        counts[str(leaf["country"])] += int(leaf["delta"])
    return {country: count for country, count in sorted(counts.items()) if count}


# --- Heads ---------------------------------------------------------------------


def head_signed_bytes(head: Mapping[str, Any]) -> bytes:
    """What a head's signature signs: every field of it but the signature."""
    return canonical({name: head[name] for name in HEAD_FIELDS})


def head_hash(head: Mapping[str, Any]) -> str:
    """What the next head names as its `previous`."""
    return sha256_hex(head_signed_bytes(head))


def key_id(public_key_raw: bytes) -> str:
    return sha256_hex(public_key_raw)[:16]
