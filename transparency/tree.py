"""A campaign's record as a Merkle tree (RFC 9162) read from its leaves in
the database, through pymerkle's storage-agnostic BaseMerkleTree.

Why pymerkle: it implements RFC 9162's hashing with its inclusion and
consistency proofs, is maintained (7.0, 2026), storage-agnostic (we keep
the leaves where the count is) and has one small dependency; the verifier
uses the same library to check what the site serves.

Leaves, once given an index, never change: a subtree's root is the same for
ever. So each process keeps one tree per campaign with pymerkle's own cache
of subtree roots, and a proof on a large record reads only the leaves of
the subtrees it has not met yet. A tree used to publish a head (whose
leaves are not committed yet) has no cache of its own to keep.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from pymerkle import BaseMerkleTree

from transparency.models import Leaf

# pymerkle's cache bound is in bytes (its default is 1 GiB per tree).
SUBROOT_CACHE_BYTES = 8 * 1024 * 1024
# A subtree wider than this is the hash of its two halves (each cached), not
# one read of all its leaves: so a proof's work is kept for the next proof,
# and no read holds more than this many leaves in memory.
LEAVES_READ_AT_ONCE = 4096


class CampaignTree(BaseMerkleTree):  # type: ignore[misc]  # pymerkle has no type hints
    """The first `size` leaves of one campaign's record (pymerkle counts from one)."""

    def __init__(
        self,
        campaign_id: int,
        size: int,
        committed: CampaignTree | None = None,
        **options: Any,
    ) -> None:
        """`committed`: the process's tree of the published leaves, whose
        subtree roots this one may reuse (a tree that publishes a new head)."""
        self.campaign_id = campaign_id
        self.size = size
        self.committed = committed
        super().__init__("sha256", capacity=SUBROOT_CACHE_BYTES, **options)

    def _encode_entry(self, data: Any) -> bytes:
        raise NotImplementedError("leaves are numbered by transparency.services.head_publish")

    def _store_leaf(self, data: Any, digest: bytes) -> int:
        raise NotImplementedError("leaves are numbered by transparency.services.head_publish")

    def _leaves(self) -> Any:
        return Leaf.objects.filter(campaign_id=self.campaign_id)

    def _get_leaf(self, index: int) -> bytes:
        return bytes(self._leaves().values_list("leaf_hash", flat=True).get(position=index))

    def _get_leaves(self, offset: int, width: int) -> Iterable[bytes]:
        hashes = (
            self._leaves()
            .filter(position__gt=offset, position__lte=offset + width)
            .order_by("position")
            .values_list("leaf_hash", flat=True)
        )
        return [bytes(value) for value in hashes.iterator(chunk_size=20000)]

    def _get_size(self) -> int:
        return self.size

    def _get_subroot_uncached(self, offset: int, width: int) -> bytes:
        if self.committed is not None and offset + width <= self.committed.size:
            # Leaves an earlier head already covers: the kept tree knows them.
            return bytes(self.committed._get_subroot(offset, width))
        if width <= LEAVES_READ_AT_ONCE:
            return bytes(super()._get_subroot_uncached(offset, width))
        half = width // 2  # widths are powers of two
        return bytes(
            self.hash_pair(self._get_subroot(offset, half), self._get_subroot(offset + half, half))
        )


_kept: dict[int, CampaignTree] = {}
_kept_lock = threading.Lock()


def published_tree(campaign_id: int, size: int) -> CampaignTree:
    """This process's tree of a campaign, covering at least `size` leaves
    (a size some published head has, so its leaves are committed)."""
    with _kept_lock:
        tree = _kept.get(campaign_id)
        if tree is None:
            tree = _kept[campaign_id] = CampaignTree(campaign_id, size)
        tree.size = max(tree.size, size)
        return tree


def forget_trees() -> None:
    with _kept_lock:
        _kept.clear()
