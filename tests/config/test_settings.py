import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k3y-for-tests-" + "x" * 40,
    "ALLOWED_HOSTS": "sitthi.example.org",
    "SITE_URL": "https://sitthi.example.org",
    "SIGNER_DATA_KEYS": "rQ6_ePK2D6yA3kXqKZgT2m8vO1w4ykVm7hQ3bF9sLxE=",
    "SIGNER_HASH_KEY": "hash-key-for-tests-" + "y" * 30,
    "RECORD_SIGNING_KEY": "jJXkQrjcX8gu9w41WlUCE7dUic9Urm7/eekvhjPHMKY",
    "DATABASE_URL": "sqlite:////tmp/sitthi-settings-test.sqlite3",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
    )


def test_production_refuses_the_placeholder_secret() -> None:
    result = manage("check", **{**PRODUCTION, "SECRET_KEY": "django-insecure-local-only-change-me"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_empty_allowed_hosts() -> None:
    result = manage("check", **{**PRODUCTION, "ALLOWED_HOSTS": ""})
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_production_refuses_missing_signer_keys() -> None:
    result = manage("check", **{**PRODUCTION, "SIGNER_DATA_KEYS": ""})
    assert result.returncode != 0
    assert "SIGNER_DATA_KEYS" in result.stderr


def test_check_deploy_is_clean_for_production_settings() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_local_defaults_need_nothing_installed() -> None:
    result = manage(
        "check", DEBUG="true", DATABASE_URL="sqlite:////tmp/sitthi-local.sqlite3", REDIS_URL=""
    )
    assert result.returncode == 0, result.stderr
