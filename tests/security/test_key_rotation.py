"""Rotating SIGNER_DATA_KEYS: after the command, the old key can be removed."""

from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection, transaction

from core import crypto
from outbox.models import Message
from outbox.services import message_queue
from signatures.models import Signature
from tests.factories import make_campaign, make_signature

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def use_keys(settings: Any, *keys: str) -> None:
    settings.SIGNER_DATA_KEYS = list(keys)
    crypto.clear_key_caches()


def stored(table: str, column: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM {table} ORDER BY id')  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


def test_rotation_lets_the_old_key_go(settings: Any, mailoutbox: Any) -> None:
    use_keys(settings, OLD)
    signature = make_signature(make_campaign(), email="dara@example.org", phone="+85512345678")
    with transaction.atomic():
        message_queue(key="rotation:1", to="dara@example.org", subject="s", text="secret link")
    before = stored("signatures_signature", "email")

    use_keys(settings, NEW, OLD)
    out = StringIO()
    call_command("rotate_signer_keys", stdout=out)
    assert "signatures.Signature.email: re-encrypted 1" in out.getvalue()
    assert "outbox.Message.body_text: re-encrypted 1" in out.getvalue()
    assert stored("signatures_signature", "email") != before

    use_keys(settings, NEW)  # the old key is gone
    signature = Signature.objects.get(pk=signature.pk)
    assert signature.email == "dara@example.org"
    assert signature.phone == "+85512345678"
    assert Message.objects.get(key="rotation:1").body_text == "secret link"

    out = StringIO()
    call_command("rotate_signer_keys", stdout=out)  # again: nothing left to do
    assert "re-encrypted 0" in out.getvalue() and "re-encrypted 1" not in out.getvalue()
    use_keys(settings)


def test_a_dry_run_changes_nothing(settings: Any) -> None:
    use_keys(settings, OLD)
    make_signature(make_campaign(), email="dara@example.org")
    before = stored("signatures_signature", "email")
    use_keys(settings, NEW, OLD)
    out = StringIO()
    call_command("rotate_signer_keys", "--dry-run", stdout=out)
    assert "signatures.Signature.email: would re-encrypt 1" in out.getvalue()
    assert stored("signatures_signature", "email") == before
    use_keys(settings)
