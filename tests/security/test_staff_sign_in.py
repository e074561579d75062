"""Staff sign in through allauth only: rate-limited, locked after failures, no sign-up."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

BASE_DIR = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery 42"


@pytest.fixture
def staff(db: None) -> Any:
    return get_user_model().objects.create_user(
        "staff", "staff@sitthi.test", PASSWORD, is_staff=True
    )


def sign_in(client: Client, password: str, ip: str = "198.51.100.7") -> Any:
    return client.post(
        "/en/accounts/login/",
        {"login": "staff@sitthi.test", "password": password},
        REMOTE_ADDR=ip,
    )


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_the_right_password_signs_in(client: Client, staff: Any) -> None:
    assert sign_in(client, PASSWORD).status_code == 302
    assert signed_in(client)


def test_five_failures_lock_the_account_even_for_the_right_password(
    client: Client, staff: Any
) -> None:
    for _ in range(5):
        response = sign_in(client, "wrong password")
        assert not signed_in(client)
    response = sign_in(client, PASSWORD)
    assert not signed_in(client)
    assert response.status_code in {200, 429}
    assert b"Too many failed login attempts" in response.content


def test_the_lockout_follows_the_account_across_addresses(client: Client, staff: Any) -> None:
    for number in range(5):
        sign_in(Client(), "wrong password", ip=f"198.51.100.{number}")
    sign_in(client, PASSWORD, ip="192.0.2.200")
    assert not signed_in(client)


def test_nobody_can_sign_up_publicly(client: Client, db: None) -> None:
    response = client.post(
        "/en/accounts/signup/",
        {"email": "intruder@example.org", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert not get_user_model().objects.filter(email="intruder@example.org").exists()
    assert response.status_code in {200, 403}


def test_the_admin_sends_staff_to_the_allauth_sign_in(client: Client, db: None) -> None:
    for path in ("/en/admin/", "/en/admin/login/"):
        response = client.get(path, follow=True)
        assert response.status_code == 200
        assert "/en/accounts/login/" in response.redirect_chain[-1][0]
        assert b'name="password"' in response.content


def test_the_admin_path_is_configurable(tmp_path: Path) -> None:
    script = (
        "import django\ndjango.setup()\n"
        "from django.urls import resolve, Resolver404\n"
        "from django.utils import translation\ntranslation.activate('en')\n"
        "assert resolve('/en/backstage-7f3/').app_name == 'admin'\n"
        "try:\n    resolve('/en/admin/')\nexcept Resolver404:\n    print('admin gone')\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}},
        "ADMIN_URL": "backstage-7f3/",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "admin gone" in result.stdout
