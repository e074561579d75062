"""A copy of the database reveals no signer's e-mail address or phone number."""

import os
import shutil
import subprocess
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, models
from django.test import Client

from tests.factories import make_campaign
from tests.signatures.conftest import links_in, sign

EMAIL = "chan.sophea+petition@example.org"
PHONE = "+855977654321"  # "+" and "@" never occur in Fernet tokens or hashes


def _every_text_value() -> str:
    """SELECT every text column of every table: what a leaked copy holds."""
    values = []
    for model in apps.get_models():
        text_columns = [
            field.column
            for field in model._meta.concrete_fields
            if isinstance(field, models.CharField | models.TextField | models.JSONField)
        ]
        if text_columns:
            # Raw SQL: the ORM would decrypt encrypted fields on the way out.
            quote = connection.ops.quote_name
            columns = ", ".join(quote(str(column)) for column in text_columns)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {columns} FROM {quote(model._meta.db_table)}")  # noqa: S608
                values += [str(row) for row in cursor.fetchall()]
    return "\n".join(values)


def _signed_and_mailed(client: Client, campaign: Any, mail: Any) -> None:
    sign(client, campaign, email=EMAIL, phone=PHONE, full_name="Chan Sophea")
    client.get(links_in(mail[0])["confirm"])


@pytest.mark.django_db(transaction=True)
def test_no_email_or_phone_in_clear_in_any_text_column(client: Client, mailoutbox: Any) -> None:
    campaign = make_campaign(ask_phone=True)
    _signed_and_mailed(client, campaign, mailoutbox)
    everything = _every_text_value()
    assert "Chan Sophea" in everything  # the check sees the data
    for secret in (EMAIL, EMAIL.casefold(), "chansophea@example.org", PHONE, "+855 97 765 4321"):
        assert secret not in everything


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_pg_dump_contains_no_email_or_phone(client: Client, mailoutbox: Any) -> None:
    if not shutil.which("pg_dump"):
        pytest.fail("pg_dump is needed for this test")
    campaign = make_campaign(ask_phone=True)
    _signed_and_mailed(client, campaign, mailoutbox)
    database = settings.DATABASES["default"]
    dump = subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "-h",
            database.get("HOST") or "127.0.0.1",
            "-p",
            str(database.get("PORT") or 5432),
            "-U",
            database.get("USER") or "postgres",
            connection.settings_dict["NAME"],
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PGPASSWORD": database.get("PASSWORD") or ""},
        timeout=60,
    ).stdout
    assert "Chan Sophea" in dump
    assert EMAIL not in dump
    assert "example.org" not in dump  # not even the domain
    assert PHONE not in dump
