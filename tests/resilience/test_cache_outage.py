"""With Redis unreachable the cache reads as misses and rate limits fail open."""

from typing import Any

import pytest
from django.core.cache import caches
from django.test import RequestFactory

from core.marks import marks_make
from signatures.services import submission_screen
from tests.factories import make_campaign
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


def test_marks_fail_open_while_redis_is_down(unreachable_cache: Any) -> None:
    marked = marks_make(claims={"token": 60}, windows={"window": 60})
    assert marked.first_claims == {"token"}
    assert marked.counts == {"window": 0}


@pytest.mark.django_db
def test_rate_limits_and_form_tokens_let_signers_through_while_redis_is_down(
    unreachable_cache: Any, settings: Any
) -> None:
    settings.SIGNATURE_RATE_BURST = "1/m"
    campaign = make_campaign()
    request = RequestFactory().post("/en/campaigns/x/sign/", REMOTE_ADDR="203.0.113.9")
    for _ in range(20):
        screening = submission_screen(
            request=request, campaign=campaign, email="a@example.org", form_token="one token"
        )
        assert screening.store and screening.suspect_reason == ""
