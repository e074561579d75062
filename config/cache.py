"""A Redis cache that degrades to "always a miss" while Redis is unreachable.

The cache only ever holds things we can recompute (public figures, rate-limit
counters), so a Redis outage must slow pages down, never break them: signing
keeps working and stores signatures while Redis restarts (issue 6). Errors are
logged, at most once every few seconds per process, and reads return the
default; the signing rate limits then fail open (core.marks).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

from core.marks import Marked

logger = logging.getLogger(__name__)
LOG_EVERY_SECONDS = 10.0


class ReusingRedisCacheClient(RedisCacheClient):
    """Django's client builds a new `redis.Redis` around the pool on every
    cache call (three per signature); one per pool does the same work."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]  # not in the stubs
        client = self._clients.get(id(pool))  # pools live as long as this client
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


# core.marks in one round trip. KEYS: the claims, then the windows; ARGV[1]:
# how many claims; then each key's seconds. A window's expiry is set by its
# first count, and set again should a key ever be found without one (else
# that address would stay over its limit for good).
MARKS_SCRIPT = """
local claims = tonumber(ARGV[1])
local result = {}
for i, key in ipairs(KEYS) do
  local seconds = ARGV[i + 1]
  if i <= claims then
    result[i] = redis.call('SET', key, 1, 'NX', 'EX', seconds) and 1 or 0
  else
    local count = redis.call('INCR', key)
    if count == 1 or redis.call('TTL', key) < 0 then
      redis.call('EXPIRE', key, seconds)
    end
    result[i] = count
  end
end
return result
"""


class ForgivingRedisCache(RedisCache):
    _last_logged = 0.0

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
        self._marks_script: Any = None

    def marks_make(self, *, claims: Mapping[str, int], windows: Mapping[str, int]) -> Marked:
        """core.marks.marks_make, as one script run in Redis. Unreachable:
        every claim is first and every count zero (fail open)."""
        keys = [*claims, *windows]
        try:
            client = self._cache.get_client(write=True)
            if self._marks_script is None:
                self._marks_script = client.register_script(MARKS_SCRIPT)
            # EVALSHA; Redis restarted empty answers NOSCRIPT and redis-py
            # loads the script again.
            result = self._marks_script(
                keys=[self.make_and_validate_key(key) for key in keys],
                args=[len(claims), *claims.values(), *windows.values()],
                client=client,
            )
        except RedisError as error:
            self._unavailable("marks", error)
            return Marked(first_claims=frozenset(claims), counts=dict.fromkeys(windows, 0))
        return Marked(
            first_claims=frozenset(
                key for key, first in zip(claims, result[: len(claims)], strict=True) if first
            ),
            counts=dict(zip(windows, result[len(claims) :], strict=True)),
        )

    def _unavailable(self, operation: str, error: Exception) -> None:
        now = time.monotonic()
        if now - ForgivingRedisCache._last_logged > LOG_EVERY_SECONDS:
            ForgivingRedisCache._last_logged = now
            logger.warning(
                "cache: Redis unavailable during %s (%s)", operation, type(error).__name__
            )

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)
        except RedisError as error:
            self._unavailable("get", error)
            return default

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        try:
            return super().get_many(keys, version)
        except RedisError as error:
            self._unavailable("get_many", error)
            return {}

    def has_key(self, key: Any, version: int | None = None) -> bool:
        try:
            return bool(super().has_key(key, version))
        except RedisError as error:
            self._unavailable("has_key", error)
            return False

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        try:
            super().set(key, value, timeout, version)
        except RedisError as error:
            self._unavailable("set", error)

    def set_many(
        self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[Any]:
        try:
            return super().set_many(data, timeout, version)
        except RedisError as error:
            self._unavailable("set_many", error)
            return list(data)

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        try:
            return bool(super().add(key, value, timeout, version))
        except RedisError as error:
            self._unavailable("add", error)
            return False

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        try:
            return bool(super().touch(key, timeout, version))
        except RedisError as error:
            self._unavailable("touch", error)
            return False

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        try:
            return super().incr(key, delta, version)
        except RedisError as error:
            self._unavailable("incr", error)
            # What Django caches raise for a missing key; rate limits then fail open.
            raise ValueError(f"Key {key!r} not found: the cache is unavailable") from error

    def delete(self, key: Any, version: int | None = None) -> bool:
        try:
            return bool(super().delete(key, version))
        except RedisError as error:
            self._unavailable("delete", error)
            return False

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        try:
            super().delete_many(keys, version)
        except RedisError as error:
            self._unavailable("delete_many", error)

    def clear(self) -> None:
        try:
            super().clear()
        except RedisError as error:
            self._unavailable("clear", error)
