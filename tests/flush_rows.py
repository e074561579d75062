"""The rows post_migrate makes in an empty database (content types,
permissions, the staff groups), copied once and written back after a flush.

After each transactional test Django flushes the database and sends
post_migrate, whose receivers rebuild those rows from the models: ~70 ms of
CPU a flush (2.3 s for 33 flushes, measured), ~170 flushes a run, for the
same rows every time. tests/conftest.py runs the receivers at a process's
first flush and writes this copy back at the others."""

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.management.color import no_style
from django.db import connections, transaction
from django.db.models import Model


@dataclass
class TableRows:
    model: type[Model]
    insert: str  # one row's INSERT
    rows: list[tuple[Any, ...]]  # as the database takes them


def rows_read(database: str) -> list[TableRows]:
    """Every row of every table Django manages, table by table."""
    connection = connections[database]
    quote = connection.ops.quote_name
    kept = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        fields = model._meta.concrete_fields
        rows = model._base_manager.using(database).values_list(*(f.attname for f in fields))
        if not rows:
            continue
        columns = ", ".join(quote(str(field.column)) for field in fields)  # concrete: one each
        places = ", ".join(["%s"] * len(fields))
        kept.append(
            TableRows(
                model,
                # Names from the models' own metadata, quoted.
                f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({places})",  # noqa: S608 # nosec B608
                [
                    tuple(
                        field.get_db_prep_save(value, connection)
                        for field, value in zip(fields, row, strict=True)
                    )
                    for row in rows
                ],
            )
        )
    return kept


def rows_write(database: str, kept: list[TableRows]) -> None:
    """Into emptied tables, with their sequences moved past the rows' ids
    (a flush may have reset them)."""
    connection = connections[database]
    # Foreign keys are checked at commit: the tables' order does not matter.
    with transaction.atomic(using=database), connection.cursor() as cursor:
        for table in kept:
            cursor.executemany(table.insert, table.rows)
        for sql in connection.ops.sequence_reset_sql(no_style(), [table.model for table in kept]):
            cursor.execute(sql)
