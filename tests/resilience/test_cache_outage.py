"""With Redis unreachable the cache reads as misses and rate limits fail open."""

from typing import Any

import pytest
from django.core.cache import caches
from django.test import RequestFactory
from django_ratelimit.core import is_ratelimited

from tests.resilience.conftest import free_port


@pytest.fixture
def unreachable_cache(settings: Any) -> Any:
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.ForgivingRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.5},
        }
    }
    return caches["default"]


def test_reads_are_misses_and_writes_do_not_raise(unreachable_cache: Any) -> None:
    unreachable_cache.set("figures", 42)
    assert unreachable_cache.get("figures", "missing") == "missing"
    assert unreachable_cache.add("figures", 1) is False
    assert unreachable_cache.get_many(["a", "b"]) == {}
    unreachable_cache.delete("figures")
    with pytest.raises(ValueError):
        unreachable_cache.incr("figures")


def test_rate_limits_let_signers_through_while_redis_is_down(unreachable_cache: Any) -> None:
    request = RequestFactory().post("/en/campaigns/x/sign/", REMOTE_ADDR="203.0.113.9")
    for _ in range(20):
        assert not is_ratelimited(
            request, group="signatures.sign", key="ip", rate="1/m", method="POST", increment=True
        )
