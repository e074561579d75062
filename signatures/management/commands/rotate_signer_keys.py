"""Re-encrypt every encrypted field with the newest of SIGNER_DATA_KEYS.

Key rotation, step by step (docs/operations.md):
1. put a new key first in SIGNER_DATA_KEYS, keep the old ones after it, deploy;
2. run `python manage.py rotate_signer_keys`;
3. remove the old keys from SIGNER_DATA_KEYS and deploy again.

Values already encrypted with the newest key are left alone, so the command
can be stopped and run again. Each batch is its own transaction.
"""

from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from core import crypto
from core.crypto import EncryptedTextField


def encrypted_fields() -> list[tuple[Any, Any]]:
    """(model, field) for every EncryptedTextField of every installed model."""
    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


class Command(BaseCommand):
    help = "Re-encrypt signers' e-mail, phone and queued e-mails with the newest key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--dry-run", action="store_true", help="count, change nothing")

    def handle(self, *args: Any, batch_size: int, dry_run: bool, **options: Any) -> None:
        if not settings.SIGNER_DATA_KEYS:
            raise CommandError("SIGNER_DATA_KEYS is empty: nothing to rotate to.")
        crypto.clear_key_caches()
        newest = Fernet(settings.SIGNER_DATA_KEYS[0])
        quote = connection.ops.quote_name
        # Rows are locked while re-encrypted, so a concurrent edit is not overwritten.
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        for model, field in encrypted_fields():
            table, column, pk = (
                quote(model._meta.db_table),
                quote(field.column),
                quote(model._meta.pk.column),
            )
            rotated = current = 0
            last = None
            while True:
                # Raw SQL: the ORM would decrypt on read; we need the stored token.
                with transaction.atomic(), connection.cursor() as cursor:
                    where = f"WHERE {pk} > %s" if last is not None else ""
                    cursor.execute(
                        f"SELECT {pk}, {column} FROM {table} {where} "  # noqa: S608 # nosec B608 # names quoted from our models; values are parameters
                        f"ORDER BY {pk} LIMIT %s{lock}",
                        [last, batch_size] if last is not None else [batch_size],
                    )
                    rows = cursor.fetchall()
                    if not rows:
                        break
                    last = rows[-1][0]
                    for row_pk, token in rows:
                        if not token:
                            continue
                        try:
                            newest.decrypt(token.encode())
                            current += 1
                            continue
                        except InvalidToken:
                            pass
                        rotated += 1
                        if not dry_run:
                            cursor.execute(
                                f"UPDATE {table} SET {column} = %s WHERE {pk} = %s",  # noqa: S608 # nosec B608 # quoted model names
                                [crypto.rotate(token), row_pk],
                            )
            verb = "would re-encrypt" if dry_run else "re-encrypted"
            self.stdout.write(
                f"{model._meta.label}.{field.name}: {verb} {rotated}, already current {current}"
            )
