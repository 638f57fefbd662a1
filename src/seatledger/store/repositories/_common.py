"""What every repository shares: the open connection, unique inserts, sequence numbers, lines."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from collections.abc import Sequence as Many
from typing import Any, Protocol, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    Row,
    Sequence,
    String,
    Table,
    any_,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from seatledger.domain.errors import Conflict
from seatledger.domain.invoices import InvoiceLine, LineKind
from seatledger.domain.money import Money
from seatledger.domain.periods import Period

T = TypeVar("T")


class ConnectionSource(Protocol):
    """The unit of work: hands out the connection of the transaction in progress."""

    @property
    def connection(self) -> Connection: ...


class Repository:
    def __init__(self, source: ConnectionSource) -> None:
        self._source = source

    @property
    def _conn(self) -> Connection:
        return self._source.connection


def is_unique_violation(error: IntegrityError) -> bool:
    """True for a duplicate key (PostgreSQL SQLSTATE 23505, SQLite "UNIQUE constraint failed"),
    false for the other integrity errors (a missing parent row is a bug, not a conflict)."""
    original = error.orig
    if getattr(original, "sqlstate", None) == "23505":
        return True
    return str(original).startswith("UNIQUE constraint failed")


def execute_unique(conn: Connection, statements: Callable[[], T], conflict: Callable[[], str]) -> T:
    """Run ``statements`` in a savepoint; a duplicate key raises ``Conflict(conflict())`` and
    undoes only the savepoint, so the transaction stays usable (PostgreSQL would otherwise refuse
    every later statement of the transaction)."""

    def in_savepoint() -> T:
        with conn.begin_nested():
            return statements()

    return unique_as_conflict(in_savepoint, conflict)


def unique_as_conflict(statements: Callable[[], T], conflict: Callable[[], str]) -> T:
    """Run ``statements``; a duplicate key raises ``Conflict(conflict())``, and the transaction
    is then unusable (PostgreSQL refuses its later statements): for writers whose caller rolls
    back on a conflict anyway, which spares the savepoint ``execute_unique`` takes."""
    try:
        return statements()
    except IntegrityError as error:
        if is_unique_violation(error):
            raise Conflict(conflict()) from None
        raise


def insert_unique(conn: Connection, statement: Executable, conflict: Callable[[], str]) -> None:
    execute_unique(conn, lambda: _run(conn, statement), conflict)


def _run(conn: Connection, statement: Executable) -> list[Row[Any]]:
    result = conn.execute(statement)
    return list(result.all()) if result.returns_rows else []


def ids_in(conn: Connection, column: ColumnElement[str], ids: Many[str]) -> ColumnElement[bool]:
    """``column IN ids``, the ids as one parameter (docs/DESIGN.md, "Many keys, one parameter"):
    a JSON array read by ``json_each`` on SQLite, where rendering one parameter per id cost more
    than running the statement, and an array compared with ``= ANY`` on PostgreSQL, which
    planned long lists of parameters as scans."""
    if conn.dialect.name != "postgresql":
        values = func.json_each(literal(json.dumps(list(ids)))).table_valued("value")
        return column.in_(select(values.c.value))
    return column == any_(literal(list(ids), type_=postgresql.ARRAY(String)))


def next_seq(
    conn: Connection, table: Table, sequence: Sequence, account_id: str
) -> ColumnElement[int]:
    """The ``seq`` of a new row of a per-account log: the table's PostgreSQL sequence (no lock,
    no collision between concurrent writers), or on SQLite, whose writers are serialized, the
    account's last number + 1."""
    if conn.dialect.supports_sequences:
        return sequence.next_value()
    return next_seq_of(table, account_id)


def next_seq_of(table: Table, account_id: Any) -> ColumnElement[int]:
    """The account's last ``seq`` + 1 (``account_id`` a value or a ``bindparam``)."""
    return (
        select(func.coalesce(func.max(table.c.seq), 0) + 1)
        .where(table.c.account_id == account_id)
        .scalar_subquery()
    )


def json_object(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(value) if value is not None else {}


LINE_COLUMNS = (
    "kind",
    "description",
    "quantity",
    "unit_amount_minor",
    "amount_minor",
    "period_start",
    "period_end",
)


def line_values(line: InvoiceLine) -> dict[str, Any]:
    """The columns of an invoice line (money as integer minor units; the currency is the
    caller's column)."""
    return dict(zip(LINE_COLUMNS, line_tuple(line), strict=True))


def line_tuple(line: InvoiceLine) -> tuple[Any, ...]:
    """``line_values`` as a tuple in ``LINE_COLUMNS`` order."""
    return (
        line.kind.value,
        line.description,
        line.quantity,
        line.unit_amount.minor_units,
        line.amount.minor_units,
        line.period.start,
        line.period.end,
    )


def line_from_row(row: Any, currency: str) -> InvoiceLine:
    return InvoiceLine(
        kind=LineKind(row.kind),
        description=row.description,
        quantity=row.quantity,
        unit_amount=Money.from_minor(row.unit_amount_minor, currency),
        amount=Money.from_minor(row.amount_minor, currency),
        period=Period(row.period_start, row.period_end),
    )
