"""core.marks: claims taken once and windows counted, the same on Redis (one
script, one round trip) as on any other Django cache (key by key)."""

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from redis.connection import Connection

from core.marks import MarkingCache, marks_make

BACKENDS = {
    "memory": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "redis": {"BACKEND": "config.cache.ForgivingRedisCache", "KEY_PREFIX": "marks-test"},
}


def _cache(settings: Any, backend: str) -> Iterator[Any]:
    settings.CACHES = {"default": {**BACKENDS[backend], "LOCATION": django_settings.REDIS_URL}}
    cache = caches["default"]
    assert isinstance(cache, MarkingCache) == (backend == "redis")
    cache.clear()
    yield cache
    cache.clear()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def cache(request: pytest.FixtureRequest, settings: Any) -> Iterator[Any]:
    yield from _cache(settings, request.param)


@pytest.fixture
def redis_cache(settings: Any) -> Iterator[Any]:
    yield from _cache(settings, "redis")


def test_a_claim_is_first_once_and_each_key_on_its_own(cache: Any) -> None:
    assert marks_make(claims={"a": 60}, windows={}).first_claims == {"a"}
    assert marks_make(claims={"a": 60}, windows={}).first_claims == frozenset()
    assert marks_make(claims={"a": 60, "b": 60}, windows={}).first_claims == {"b"}


def test_each_window_counts_every_mark(cache: Any) -> None:
    counts = [marks_make(claims={}, windows={"w1": 60, "w2": 3600}).counts for _ in range(3)]
    assert counts == [{"w1": n, "w2": n} for n in (1, 2, 3)]
    assert marks_make(claims={"c": 60}, windows={"w3": 60}).counts == {"w3": 1}


def test_a_window_starts_again_once_its_seconds_are_over(cache: Any) -> None:
    marks_make(claims={"token": 1}, windows={"window": 1})
    assert marks_make(claims={}, windows={"window": 1}).counts["window"] == 2
    deadline = time.monotonic() + 10
    while marks_make(claims={}, windows={"window": 1}).counts["window"] != 1:
        assert time.monotonic() < deadline, "the window never ended"
        time.sleep(0.2)
    assert marks_make(claims={"token": 1}, windows={}).first_claims == {"token"}


@pytest.mark.redis
def test_on_redis_a_window_found_without_an_expiry_gets_one(redis_cache: Any) -> None:
    cache = redis_cache
    client = cache._cache.get_client(write=True)
    key = cache.make_and_validate_key("window")
    client.set(key, 5)  # left without an expiry (by hand, or an old release)
    assert marks_make(claims={}, windows={"window": 60}).counts == {"window": 6}
    assert 0 < client.ttl(key) <= 60


@pytest.mark.redis
def test_on_redis_all_marks_are_one_round_trip_even_after_redis_forgot_the_script(
    redis_cache: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = redis_cache
    sent: list[Any] = []
    send = Connection.send_packed_command

    def counted(connection: Connection, command: Any, check_health: bool = True) -> None:
        sent.append(command)
        send(connection, command, check_health)

    marks_make(claims={"t": 60}, windows={"w": 60})
    monkeypatch.setattr(Connection, "send_packed_command", counted)
    marked = marks_make(claims={"t": 60, "u": 60}, windows={"w": 60, "v": 60})
    assert len(sent) == 1
    assert (marked.first_claims, dict(marked.counts)) == ({"u"}, {"w": 2, "v": 1})
    cache._cache.get_client(write=True).script_flush()  # as after a restart
    monkeypatch.setattr(Connection, "send_packed_command", send)
    assert marks_make(claims={}, windows={"w": 60}).counts == {"w": 3}
