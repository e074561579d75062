"""What a request marks in the cache, in one round trip: keys it claims once
(a signing form's token) and windows it counts in (rate limits).

On Redis (config.cache) the marks are one script, so a signature asks Redis
once, not once or twice per window and once more for its token (a round
trip costs a request about what a bare view's INSERT does). Any other cache
(the local memory of a laptop run) gets the same answers from Django's cache
API, key by key. Both fail open: with the cache unreachable every claim is
first and every count is zero, so people can sign while Redis restarts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from django.core.cache import caches


@dataclass(frozen=True)
class Marked:
    first_claims: frozenset[str]  # the claimed keys nobody had claimed before
    counts: Mapping[str, int]  # each window's count, this request included


@runtime_checkable
class MarkingCache(Protocol):
    """A cache that makes every mark in one round trip."""

    def marks_make(self, *, claims: Mapping[str, int], windows: Mapping[str, int]) -> Marked: ...


def marks_make(*, claims: Mapping[str, int], windows: Mapping[str, int]) -> Marked:
    """Claim each key of `claims` for its seconds unless it is claimed, and
    count one more in each window of `windows`. A window lasts its seconds
    from its first count, then starts again from zero."""
    cache = caches["default"]
    if isinstance(cache, MarkingCache):
        return cache.marks_make(claims=claims, windows=windows)
    return _marks_make_key_by_key(cache, claims=claims, windows=windows)


def _marks_make_key_by_key(
    cache: Any, *, claims: Mapping[str, int], windows: Mapping[str, int]
) -> Marked:
    first = frozenset(key for key, seconds in claims.items() if cache.add(key, 1, timeout=seconds))
    counts = {}
    for key, seconds in windows.items():
        cache.add(key, 0, timeout=seconds)  # the window starts with its first count
        try:
            counts[key] = cache.incr(key)
        except ValueError:  # expired between the two calls: a new window
            cache.add(key, 1, timeout=seconds)
            counts[key] = 1
    return Marked(first_claims=first, counts=counts)
