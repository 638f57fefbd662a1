"""Many rows written in one step, past the statement layer's per-row work.

The billing run writes thousands of rows per batch. Sent through ``Connection.execute`` every row
is made into a dictionary, matched against the compiled statement and converted column by column,
and PostgreSQL then runs one statement per row (together about 0.4 ms a renewal there, ten times
what ``COPY`` takes for the same rows). Here:

- each row is a tuple converted by the bind processors of the columns' own types: the same
  conversions, so the stored values are the ones ``execute`` would store (a JSON document goes
  to ``COPY`` as the text ``json.dumps`` makes of it, as SQLAlchemy's serializer makes it, and
  not inside the two wrappers ``execute`` puts around it: SQLAlchemy's, then psycopg's);
- on PostgreSQL, inserts go by ``COPY`` and updates as one ``UPDATE ... FROM unnest(arrays)``;
- on SQLite (in process, so a statement per row costs little) both go as one ``executemany``.

What a unit of work deferred (``driver_statements.defer_writes``) is sent first. The statement
text is made once per table, columns and dialect.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Connection, Table
from sqlalchemy.engine import Dialect

from seatledger.store.driver_statements import (
    announce,
    ensure_transaction,
    send_deferred,
    statement_errors,
)

_POSTGRESQL = "postgresql"


@dataclass(frozen=True)
class _Shape:
    """An ``INSERT`` of ``columns`` (no ``keys``), or an ``UPDATE`` setting ``columns`` (and
    ``also_set``, SQL as it is) where ``keys`` match (and ``also_where`` holds)."""

    table: str
    columns: tuple[str, ...]
    keys: tuple[str, ...] = ()
    also_set: str = ""
    also_where: str = ""


@dataclass(frozen=True)
class _Plan:
    sql: str
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]


_plans: dict[tuple[str, _Shape], _Plan] = {}


def insert_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """``INSERT`` every row of ``rows`` (values in the order of ``columns``) into ``table``.

    A failure is raised as the statement layer raises it (``sqlalchemy.exc.IntegrityError`` for a
    duplicate key), so callers handle both paths alike."""
    if not rows:
        return
    send_deferred(conn)
    plan = _plan(conn.dialect, table, _Shape(table.name, tuple(columns)))
    converted = _converted(plan, rows)
    if conn.dialect.name != _POSTGRESQL:
        conn.exec_driver_sql(plan.sql, converted)
        return
    ensure_transaction(conn)
    driver: Any = conn.connection.driver_connection
    with (
        statement_errors(conn, plan.sql),
        driver.cursor() as cursor,
        cursor.copy(plan.sql) as copy,
    ):
        announce(conn, cursor, plan.sql, converted, many=True)
        for row in converted:
            copy.write_row(row)


def update_rows(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    keys: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    also_set: str = "",
    also_where: str = "",
) -> int:
    """``UPDATE table SET columns... WHERE keys...`` for every row of ``rows`` (values of the
    columns, then of the keys); ``also_set`` is SQL added to the ``SET`` list and ``also_where``
    to the condition, as they are. The number of rows updated where the driver knows it
    (``dialect.supports_sane_multi_rowcount``), else -1."""
    if not rows:
        return 0
    send_deferred(conn)
    shape = _Shape(table.name, tuple(columns), tuple(keys), also_set, also_where)
    plan = _plan(conn.dialect, table, shape)
    converted = _converted(plan, rows)
    if conn.dialect.name == _POSTGRESQL:
        # One array per column: one statement, whatever the number of rows.
        arrays = tuple(list(values) for values in zip(*converted, strict=True))
        result = conn.exec_driver_sql(plan.sql, arrays)
        return result.rowcount
    result = conn.exec_driver_sql(plan.sql, converted)
    return result.rowcount if conn.dialect.supports_sane_multi_rowcount else -1


def _converted(plan: _Plan, rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    if not plan.processors:
        return [tuple(row) for row in rows]
    converted = []
    for row in rows:
        values = list(row)
        for index, process in plan.processors:
            values[index] = process(values[index])
        converted.append(tuple(values))
    return converted


def _plan(dialect: Dialect, table: Table, shape: _Shape) -> _Plan:
    plan = _plans.get((dialect.name, shape))
    if plan is None:
        plan = _plans[(dialect.name, shape)] = _make_plan(dialect, table, shape)
    return plan


def _make_plan(dialect: Dialect, table: Table, shape: _Shape) -> _Plan:
    # The text is made of the table's own (quoted) names and the caller's constant SQL; every
    # value goes as a parameter.
    quote = dialect.identifier_preparer.quote
    name = quote(table.name)
    postgresql = dialect.name == _POSTGRESQL
    mark = "%s" if postgresql else "?"
    names = ", ".join(quote(c) for c in shape.columns)
    if not shape.keys and postgresql:
        sql = f"COPY {name} ({names}) FROM STDIN"
    elif not shape.keys:
        marks = ", ".join(mark for _ in shape.columns)
        sql = f"INSERT INTO {name} ({names}) VALUES ({marks})"  # noqa: S608
    elif postgresql:
        # The arrays' columns are named v0, v1...: no name of the table is ambiguous then.
        every = shape.columns + shape.keys
        arrays = ", ".join(f"%s::{table.c[c].type.compile(dialect)}[]" for c in every)
        aliases = ", ".join(f"v{i}" for i in range(len(every)))
        setting = [f"{quote(c)} = v{i}" for i, c in enumerate(shape.columns)]
        first_key = len(shape.columns)
        conditions = [f"{name}.{quote(c)} = v{first_key + i}" for i, c in enumerate(shape.keys)]
        sql = _update(name, setting, conditions, shape, f" FROM unnest({arrays}) AS v({aliases})")
    else:
        setting = [f"{quote(c)} = {mark}" for c in shape.columns]
        conditions = [f"{quote(c)} = {mark}" for c in shape.keys]
        sql = _update(name, setting, conditions, shape, "")
    processors = []
    copied = postgresql and not shape.keys
    for index, column in enumerate(shape.columns + shape.keys):
        kind = table.c[column].type
        if copied and isinstance(kind, JSON) and dialect._json_serializer is None:
            process: Callable[[Any], Any] | None = _json_text(kind.none_as_null)
        else:
            process = kind.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((index, process))
    return _Plan(sql, tuple(processors))


def _json_text(none_as_null: bool) -> Callable[[Any], str | None]:
    """A JSON document's text for ``COPY``, as the statement layer serializes it (``json.dumps``;
    None is SQL NULL where the column keeps None as NULL, else the document ``null``)."""
    dumps = json.dumps

    def process(value: Any) -> str | None:
        if value is None:
            return None if none_as_null else "null"
        if value is JSON.NULL:
            return "null"
        return dumps(value)

    return process


def _update(
    name: str, setting: list[str], conditions: list[str], shape: _Shape, source: str
) -> str:
    if shape.also_set:
        setting = [*setting, shape.also_set]
    if shape.also_where:
        conditions = [*conditions, shape.also_where]
    return f"UPDATE {name} SET {', '.join(setting)}{source} WHERE {' AND '.join(conditions)}"  # noqa: S608
