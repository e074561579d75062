"""The rows post_migrate makes in an empty database (content types,
permissions, the staff groups), copied once and written back after a flush.

After each transactional test Django flushes the database and sends
post_migrate, whose receivers rebuild those rows from the models: ~70 ms of
CPU a flush (2.3 s for 33 flushes, measured), ~170 flushes a run, for the
same rows every time. tests/conftest.py runs the receivers at a process's
first flush and writes this copy back at the others."""

from typing import Any

from django.apps import apps
from django.core.management.color import no_style
from django.db import connections, transaction
from django.db.models import Model

Rows = list[tuple[type[Model], list[str], list[tuple[Any, ...]]]]


def rows_read(database: str) -> Rows:
    """Every row of every table Django manages, table by table."""
    kept = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        names = [field.attname for field in model._meta.concrete_fields]
        rows = list(model._base_manager.using(database).values_list(*names))
        if rows:
            kept.append((model, names, rows))
    return kept


def rows_write(database: str, kept: Rows) -> None:
    """Into emptied tables, with their sequences moved past the rows' ids
    (a flush may have reset them)."""
    connection = connections[database]
    # Foreign keys are checked at commit: the tables' order does not matter.
    with transaction.atomic(using=database), connection.cursor() as cursor:
        for model, names, rows in kept:
            model._base_manager.using(database).bulk_create(
                [model(**dict(zip(names, row, strict=True))) for row in rows]
            )
        for sql in connection.ops.sequence_reset_sql(no_style(), [model for model, _, _ in kept]):
            cursor.execute(sql)
