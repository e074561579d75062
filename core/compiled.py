"""SQL written once per process for the few statements on the signing path.

A confirmation reads one signature and writes two insert-only rows; run
thousands of times a minute, Django spends more CPU writing the same SQL
again (the compiler's as_sql) than PostgreSQL spends running it. Here the
ORM still writes the SQL, from the same querysets and models, but once per
process and database alias; each call only puts in its own values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from django.db import connections, models, router
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=models.Model)

# A value no query of ours is ever asked for (no row has a negative key),
# within a 32-bit integer's range (the ORM answers "no rows" for a value
# out of a column's range without writing SQL): it marks, in the SQL the
# ORM wrote, the one parameter each call replaces.
MARKER = -2_013_265_921


@dataclass(frozen=True)
class _Instances:
    """How a row of a written read becomes a model instance, worked out as
    RawQuerySet works it out on every run (from the columns the database
    names, which the SQL fixes): which columns go to the model's
    constructor, which are annotations, and each field's converters."""

    init_names: list[str]
    init_positions: list[int]
    annotations: list[tuple[str, int]]
    # (column position, (converters, expression)): a converter is called
    # with the connection in use, so one plan serves every connection.
    converters: list[tuple[int, tuple[list[Callable[..., Any]], Any]]]

    @classmethod
    def of(cls, rows: models.query.RawQuerySet[Any], using: str) -> _Instances:
        """The plan of `rows`, a RawQuerySet already run."""
        names, positions, annotations = rows.resolve_model_init_order()
        connection = connections[using]
        # As RawModelIterable does (the stubs type a RawQuery's compiler and
        # model_fields otherwise than Django has them).
        compiler = connection.ops.compiler("SQLCompiler")(cast(Any, rows.query), connection, using)
        named = connection.introspection.identifier_converter
        model = cast(type[models.Model], rows.model)
        by_column: dict[str, Any] = {named(str(f.column)): f for f in model._meta.fields}
        fields = [by_column.get(column) for column in rows.columns]
        columns: list[Any] = [
            field.get_col(field.model._meta.db_table) if field else None for field in fields
        ]
        if compiler.has_composite_fields(columns):
            raise ValueError("a composite field: RawQuerySet's own way is needed")
        return cls(names, positions, annotations, list(compiler.get_converters(columns).items()))

    def instance(self, model: type[M], using: str, row: tuple[Any, ...]) -> M:
        connection = connections[using]
        values = list(row)
        for position, (converters, expression) in self.converters:
            value = values[position]
            for converter in converters:
                value = converter(value, expression, connection)
            values[position] = value
        instance = model.from_db(using, self.init_names, [values[p] for p in self.init_positions])
        for column, position in self.annotations:
            setattr(instance, column, values[position])
        return instance


@dataclass(frozen=True)
class _Written(Generic[M]):
    model: type[M]
    sql: str
    params: tuple[Any, ...]
    position: int | None  # of the marker in `params`; None: a read without one
    locks: bool  # SELECT ... FOR UPDATE: only inside a transaction


VARIES = "a read is run with a value exactly when its queryset varies, in one place"


class CompiledRead(Generic[M]):
    """`build(marker)` makes a queryset whose one varying value is `marker`
    (or that varies in nothing: `build` ignores the marker, and `first()` is
    given no value). Its SQL is written once per database alias;
    `first(value)` runs it with `value` in the marker's place. Rows come back as the ORM's would: model
    instances with each field's converter applied (RawQuerySet), and the
    queryset's annotations as attributes. The first run in a process goes
    through a RawQuerySet; how it made its instance is kept (_Instances),
    and later runs make theirs the same way without working it out again."""

    def __init__(self, build: Callable[[int], models.QuerySet[M, Any]]) -> None:
        self._build = build
        self._written: dict[str, _Written[M]] = {}
        self._instances: dict[str, _Instances] = {}

    def _written_for(self, using: str, value: int | None) -> tuple[_Written[M], list[Any]]:
        """The SQL for `using` and its parameters with `value` in place."""
        written = self._written.get(using)
        if written is None:
            queryset = self._build(MARKER)
            sql, params = queryset.query.get_compiler(using).as_sql()
            positions = [index for index, param in enumerate(params) if param == MARKER]
            if len(positions) != (0 if value is None else 1):
                # The same refusal as below, whether the SQL is written yet or not.
                raise ValueError(f"{VARIES}: the marker is in {len(positions)} places of {sql!r}")
            written = self._written[using] = _Written(
                queryset.model,
                sql,
                tuple(params),
                positions[0] if positions else None,
                queryset.query.select_for_update,
            )
        if (value is None) != (written.position is None):
            raise ValueError(VARIES)
        if written.locks and connections[using].get_autocommit():
            # As the ORM refuses it: a lock outside a transaction ends at once.
            raise TransactionManagementError("select_for_update is only for a transaction")
        params = list(written.params)
        if written.position is not None:
            params[written.position] = value
        return written, params

    def first(self, value: int | None = None, *, using: str = "default") -> M | None:
        written, params = self._written_for(using, value)
        plan = self._instances.get(using)
        if plan is None:
            rows = written.model._default_manager.raw(written.sql, params, using=using)
            instance = next(iter(rows), None)
            self._instances[using] = _Instances.of(rows, using)
            return instance
        with connections[using].cursor() as cursor:
            cursor.execute(written.sql, params)
            row = cursor.fetchone()
        return None if row is None else plan.instance(written.model, using, row)

    def rows(self, value: int, *, using: str = "default") -> list[tuple[Any, ...]]:
        """The rows as the database gives them, without the fields'
        converters: for a values_list() of plain text and number columns."""
        written, params = self._written_for(using, value)
        with connections[using].cursor() as cursor:
            cursor.execute(written.sql, params)
            return cursor.fetchall()


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    """A concrete field of `model` ("pk": its primary key)."""
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    if not isinstance(field, models.Field) or not field.column:
        raise ValueError(f"{model.__name__}.{name} is not a column")
    return field


def _column(model: type[models.Model], name: str, quote: Callable[[str], str]) -> str:
    return quote(str(_field(model, name).column))


_INSERTS: dict[tuple[type[models.Model], tuple[str, ...], str], str] = {}
_UPDATES: dict[tuple[type[models.Model], tuple[str, ...], str], str] = {}


@dataclass(frozen=True)
class Write:
    """One INSERT or UPDATE, its SQL and values ready: run alone
    (insert_row, update_row) or with others in one statement (writes_run)."""

    using: str
    sql: str
    params: list[Any]


def insert_write(model: type[models.Model], values: dict[str, Any]) -> Write:
    """The INSERT of `values` (by field name) into `model`'s table: each
    value prepared as the ORM's save prepares it, the SQL written once per
    process. No signals and no key come back: for insert-only rows that
    nothing reads back in the same request."""
    using = router.db_for_write(model)
    connection = connections[using]
    key = (model, tuple(values), using)
    sql = _INSERTS.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        columns = ", ".join(_column(model, name, quote) for name in values)
        marks = ", ".join(["%s"] * len(values))
        table = quote(model._meta.db_table)
        sql = _INSERTS[key] = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 # nosec B608 # names from our models
    prepared = [
        _field(model, name).get_db_prep_save(value, connection) for name, value in values.items()
    ]
    return Write(using, sql, prepared)


def update_write(instance: models.Model, fields: list[str]) -> Write | None:
    """`instance.save(update_fields=fields)` for a model whose save() and
    signals do nothing more: one UPDATE by primary key, each value prepared
    as save() prepares it (pre_save: auto_now fields), the SQL written once
    per process and set of fields. None when there is nothing to write."""
    if not fields:
        return None
    model = type(instance)
    using = router.db_for_write(model, instance=instance)
    connection = connections[using]
    key = (model, tuple(fields), using)
    sql = _UPDATES.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        columns = ", ".join(f"{_column(model, name, quote)} = %s" for name in fields)
        primary_key = _column(model, "pk", quote)
        table = quote(model._meta.db_table)
        sql = _UPDATES[key] = f"UPDATE {table} SET {columns} WHERE {primary_key} = %s"  # noqa: S608 # nosec B608 # names from our models
    prepared = []
    for name in fields:
        field = _field(model, name)
        prepared.append(field.get_db_prep_save(field.pre_save(instance, add=False), connection))
    return Write(using, sql, [*prepared, instance.pk])


def writes_run(writes: list[Write], *, transaction_id: bool = False) -> int | None:
    """Run `writes`, on one database, in the caller's transaction. On
    PostgreSQL they go as one statement, each a data-modifying WITH part
    (each runs once and whole, all on one snapshot: for writes to different
    rows, as the same writes one by one), so that a confirmation's three
    writes cost one round trip, not three. Elsewhere they run one by one.

    `transaction_id`: also return PostgreSQL's id of the transaction that
    wrote them, read in the same statement (None on another database)."""
    if not writes:
        return None
    [using] = {write.using for write in writes}
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            for write in writes:
                cursor.execute(write.sql, write.params)
            return None
        if len(writes) == 1 and not transaction_id:
            cursor.execute(writes[0].sql, writes[0].params)
            return None
        parts = ", ".join(f"write_{n} AS ({write.sql})" for n, write in enumerate(writes))
        cursor.execute(
            f"WITH {parts} SELECT pg_current_xact_id()::text",
            [param for write in writes for param in write.params],
        )
        return int(cursor.fetchone()[0]) if transaction_id else None


_CREATES: dict[tuple[type[models.Model], str], tuple[str, list[models.Field[Any, Any]]]] = {}


def insert_instance(instance: models.Model) -> None:
    """`instance.save()` of a new instance (as `objects.create` makes it),
    for a model whose save() and signals do nothing more: the INSERT of
    every concrete field, each value prepared as save() prepares it
    (pre_save: auto_now_add fields), its key read back (RETURNING); the SQL
    written once per process. `instance` then holds its key and is saved."""
    model = type(instance)
    meta = model._meta
    if not instance._state.adding or instance.pk is not None:
        raise ValueError("insert_instance is for a new instance without a key")
    using = router.db_for_write(model, instance=instance)
    connection = connections[using]
    written = _CREATES.get((model, using))
    if written is None:
        if not connection.features.can_return_columns_from_insert:
            raise NotImplementedError(f"{connection.vendor} cannot return an INSERT's key")
        quote = connection.ops.quote_name
        if any(f.db_default is not models.NOT_PROVIDED for f in meta.concrete_fields):
            raise NotImplementedError(f"{model.__name__} has a database default to read back")
        # As Model._do_insert: the auto key and generated columns left out.
        fields = [
            f for f in meta.local_concrete_fields if f is not meta.auto_field and not f.generated
        ]
        columns = ", ".join(quote(str(f.column)) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        table = quote(meta.db_table)
        primary_key = quote(str(_field(model, "pk").column))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING {primary_key}"  # noqa: S608 # nosec B608 # names from our models
        written = _CREATES[(model, using)] = (sql, fields)
    sql, fields = written
    prepared = [f.get_db_prep_save(f.pre_save(instance, add=True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, prepared)
        [key] = cursor.fetchone()
    instance.pk = key
    instance._state.adding = False
    instance._state.db = using


_DELETES: dict[tuple[type[models.Model], str], str] = {}


def delete_row(instance: models.Model) -> None:
    """`instance.delete()` for a model that nothing refers to (no cascade to
    follow) and whose signals do nothing: one DELETE by key, its SQL written
    once per process."""
    model = type(instance)
    if model._meta.related_objects:
        raise ValueError(f"{model.__name__} is referred to: delete() must follow the references")
    using = router.db_for_write(model, instance=instance)
    connection = connections[using]
    sql = _DELETES.get((model, using))
    if sql is None:
        quote = connection.ops.quote_name
        table = quote(model._meta.db_table)
        sql = f"DELETE FROM {table} WHERE {_column(model, 'pk', quote)} = %s"  # noqa: S608 # nosec B608 # names from our models
        _DELETES[(model, using)] = sql
    with connection.cursor() as cursor:
        cursor.execute(sql, [instance.pk])


def insert_row(model: type[models.Model], values: dict[str, Any]) -> None:
    """Run insert_write(model, values)."""
    writes_run([insert_write(model, values)])


def update_row(instance: models.Model, fields: list[str]) -> None:
    """Run update_write(instance, fields), if there is anything to write."""
    write = update_write(instance, fields)
    writes_run([write] if write else [])
