"""Behind the shipped proxy the limits count real clients: IPv6 networks as
one client, and staff sign-in per account and per address separately."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory
from redis.connection import Connection

from signatures.services import submission_screen
from tests.factories import make_campaign

BASE_DIR = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery 42"
PROXY = "172.18.0.5"  # the proxy container: REMOTE_ADDR of every request


def screened(campaign: Any, address: str) -> bool:
    """True when a signature from `address` would be held as over the limit."""
    request = RequestFactory().post("/", REMOTE_ADDR=address)
    screening = submission_screen(request=request, campaign=campaign, email="a@example.org")
    return "rate limit" in screening.suspect_reason


@pytest.fixture
def one_per_minute(settings: Any, db: None) -> Any:
    settings.TRUSTED_PROXY_COUNT = 0
    settings.SIGNATURE_RATE_BURST = "1/m"
    settings.SIGNATURE_RATE_SUSTAINED = "100/h"
    return make_campaign()


def test_addresses_from_one_ipv6_64_are_limited_as_one_client(one_per_minute: Any) -> None:
    held = [screened(one_per_minute, f"2001:db8:1:2:{number:x}::1") for number in range(25)]
    assert held == [False] + [True] * 24


def test_two_ipv6_networks_are_two_clients(one_per_minute: Any) -> None:
    assert not screened(one_per_minute, "2001:db8:1:2::1")
    assert not screened(one_per_minute, "2001:db8:1:3::1")
    assert screened(one_per_minute, "2001:db8:1:3:ffff:ffff:ffff:ffff")


def test_the_ipv6_prefix_is_configurable(one_per_minute: Any, settings: Any) -> None:
    settings.SIGNATURE_RATE_IPV6_PREFIX = 128
    assert not screened(one_per_minute, "2001:db8:1:2::1")
    assert not screened(one_per_minute, "2001:db8:1:2::2")
    settings.SIGNATURE_RATE_IPV6_PREFIX = 48
    assert not screened(one_per_minute, "2001:db8:5:1::1")
    assert screened(one_per_minute, "2001:db8:5:2::1")


def test_ipv4_clients_are_limited_by_address(one_per_minute: Any) -> None:
    assert not screened(one_per_minute, "203.0.113.1")
    assert not screened(one_per_minute, "203.0.113.2")
    assert screened(one_per_minute, "203.0.113.1")
    # An IPv4 address written as IPv6 is the same client.
    assert screened(one_per_minute, "::ffff:203.0.113.2")


def test_allauth_is_told_the_proxy_count_and_the_ipv6_prefix(tmp_path: Path) -> None:
    script = (
        "import django\ndjango.setup()\n"
        "from allauth import app_settings\n"
        "print(app_settings.TRUSTED_PROXY_COUNT, app_settings.RATE_LIMIT_IPV6_PREFIX)\n"
    )
    dropped = {"DATABASE_URL", "REDIS_URL", "PYTHONDONTWRITEBYTECODE"}
    env = {
        **{k: v for k, v in os.environ.items() if k not in dropped},
        "TRUSTED_PROXY_COUNT": "1",
        "SIGNATURE_RATE_IPV6_PREFIX": "56",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "56"]


@pytest.fixture
def behind_one_proxy(settings: Any, db: None) -> None:
    # What config/settings.py derives from TRUSTED_PROXY_COUNT=1 (checked above).
    settings.TRUSTED_PROXY_COUNT = 1
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    for name in ("a", "b"):
        get_user_model().objects.create_user(name, f"{name}@sitthi.test", PASSWORD, is_staff=True)


def sign_in_through_proxy(account: str, password: str, client_address: str) -> bool:
    client = Client()
    client.post(
        "/en/accounts/login/",
        {"login": f"{account}@sitthi.test", "password": password},
        REMOTE_ADDR=PROXY,
        # A forged entry on the left changes nothing: the proxy's is the last.
        HTTP_X_FORWARDED_FOR=f"10.9.9.9, {client_address}",
    )
    return "_auth_user_id" in client.session


def test_one_attacker_cannot_lock_out_other_staff_behind_the_proxy(
    behind_one_proxy: None,
) -> None:
    for _ in range(50):
        assert not sign_in_through_proxy("a", "wrong password", "203.0.113.66")
    assert sign_in_through_proxy("b", PASSWORD, "198.51.100.20")


def test_behind_the_proxy_the_attacker_and_the_attacked_account_stay_locked(
    behind_one_proxy: None,
) -> None:
    for _ in range(5):
        sign_in_through_proxy("a", "wrong password", "203.0.113.66")
    # Per address: the attacker cannot go on with another account.
    assert not sign_in_through_proxy("b", PASSWORD, "203.0.113.66")
    # Per account: the attacked account waits, from any address.
    assert not sign_in_through_proxy("a", PASSWORD, "198.51.100.21")


def test_a_sign_in_with_a_shorter_forwarded_chain_than_the_proxies_is_answered(
    settings: Any, db: None
) -> None:
    """Two proxies configured, one X-Forwarded-For entry (a request that
    bypassed the first proxy): allauth's own reading raises (a 500); the
    limits key on the address that connected, as everywhere (core.http)."""
    settings.TRUSTED_PROXY_COUNT = settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2
    get_user_model().objects.create_user("a", "a@sitthi.test", PASSWORD, is_staff=True)
    client = Client(raise_request_exception=False)
    for _ in range(6):
        response = client.post(
            "/en/accounts/login/",
            {"login": "a@sitthi.test", "password": "wrong password"},
            REMOTE_ADDR="10.0.0.5",
            HTTP_X_FORWARDED_FOR="198.51.100.23",
        )
        assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.redis
def test_screening_a_submission_asks_redis_once(
    one_per_minute: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rules, both rate-limit windows and the form token's first use:
    one round trip (core.marks), whatever the address's history."""
    sent: list[bytes] = []
    send = Connection.send_packed_command

    def counted(connection: Connection, command: Any, check_health: bool = True) -> None:
        sent.append(command)
        send(connection, command, check_health)

    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.77")
    submission_screen(request=request, campaign=one_per_minute, email="a@example.org")
    monkeypatch.setattr(Connection, "send_packed_command", counted)
    for token in ("first token", "first token", "second token"):
        submission_screen(
            request=request, campaign=one_per_minute, email="a@example.org", form_token=token
        )
    assert len(sent) == 3
