"""What each process keeps for a few seconds instead of asking PostgreSQL
on every request: the signing rules (signatures.policy), the public campaigns
(campaigns.published). A change made in this process forgets them at once
(the owning app connects `forget` to its models' saves); other processes see
it when their copy expires."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")


class KeptForAWhile(Generic[Value]):
    """Values by key, each loaded at most once every `seconds` per process."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._kept: dict[Hashable, tuple[float, Value]] = {}

    def get(self, key: Hashable, load: Callable[[], Value]) -> Value:
        kept = self._kept.get(key)
        if kept is None or kept[0] < time.monotonic():
            kept = self._kept[key] = (time.monotonic() + self.seconds, load())
        return kept[1]

    def peek(self, key: Hashable) -> Value | None:
        """The value kept for `key` (even if due for a reload), or None."""
        kept = self._kept.get(key)
        return None if kept is None else kept[1]

    def forget(self) -> None:
        self._kept.clear()

    def discard(self, key: Hashable) -> None:
        """Load `key` afresh on next use."""
        self._kept.pop(key, None)
