"""Prebuilt statements sent straight to the driver, and the writes a unit of work defers.

A seat change runs a few statements that SQLAlchemy's execution path costs more to prepare (and
their results to wrap) than the database takes to run them. Here each is compiled once by
SQLAlchemy and sent to the driver with its values converted by its parameters' own bind
processors, as ``Connection.execute`` converts them:

- ``execute_each`` and ``execute_expecting`` for writes that read nothing back (on PostgreSQL
  together in psycopg's pipeline mode; ``execute_expecting`` checks how many rows changed);
- ``fetch_rows`` for reads, whose rows come back as named tuples converted by the columns'
  result processors.

On PostgreSQL a unit of work defers those writes (``defer_writes``) and sends them with the next
read or with the commit, in one round trip. Every statement sent here is announced to the
engine's ``before_cursor_execute`` listeners, raises the driver's errors as the statement layer
raises them, and runs in the statement layer's transaction (``ensure_transaction``).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing, nullcontext
from dataclasses import dataclass, field
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import CompoundSelect

_POSTGRESQL = "postgresql"


@dataclass(frozen=True)
class _Compiled:
    statement: UpdateBase | Select[Any] | CompoundSelect[Any]
    sql: str
    # The parameters in the order the driver takes them (SQLite), else by name (psycopg).
    order: tuple[str, ...] | None
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    # The values the statement carries itself (the 0 of ``coalesce(max(seq), 0)``), by name.
    constants: Mapping[str, Any]
    _take: Callable[[dict[str, Any]], tuple[Any, ...]] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # The positional parameters taken out in one C-level call: every statement of a seat
        # change goes through here, and a generator over the names cost a third of it.
        order = self.order
        take = None
        if order:
            take = itemgetter(*order) if len(order) > 1 else lambda values: (values[order[0]],)
        object.__setattr__(self, "_take", take)

    def parameters(self, values: Mapping[str, Any]) -> Any:
        converted = {**self.constants, **values}
        for name, process in self.processors:
            converted[name] = process(converted[name])
        take = self._take
        return converted if take is None else take(converted)


_compiled: dict[tuple[str, int, tuple[str, ...]], _Compiled] = {}


def execute_each(
    conn: Connection, runs: Sequence[tuple[UpdateBase, Sequence[Mapping[str, Any]]]]
) -> None:
    """Run each prebuilt ``INSERT``, ``UPDATE`` or ``DELETE`` (no ``RETURNING``) once per set of
    values, in order.

    Each set of values names every parameter of its statement (a column's value by the column's
    name), and every set of one run names the same ones. On PostgreSQL every statement goes in
    one pipeline: one round trip, where one statement at a time waits for each answer in turn;
    while the connection defers writes (``defer_writes``) they are queued instead. On SQLite
    each statement goes to the driver as one ``executemany`` of its rows. A failure is raised as
    the statement layer raises it (once the pipeline has run, on PostgreSQL)."""
    plans = [(_compile(conn.dialect, statement, rows[0]), rows) for statement, rows in runs if rows]
    if not plans:
        return
    if conn.dialect.name != _POSTGRESQL:
        ensure_transaction(conn)
        driver: Any = conn.connection.driver_connection
        with statement_errors(conn, "; ".join(plan.sql for plan, _ in plans)):
            # Straight to the driver: in process, SQLite runs one of these in less time than the
            # statement layer takes to prepare, log and wrap it (about half of each one's cost).
            cursor = driver.cursor()
            try:
                for plan, rows in plans:
                    parameters = [plan.parameters(values) for values in rows]
                    announce(conn, cursor, plan.sql, parameters, many=True)
                    cursor.executemany(plan.sql, parameters)
            finally:
                cursor.close()
        return
    _queued_or_sent(
        conn, [_Queued(plan, plan.parameters(values)) for plan, rows in plans for values in rows]
    )


def execute_expecting(
    conn: Connection,
    statement: UpdateBase,
    values: Mapping[str, Any],
    *,
    count: int,
    otherwise: Callable[[], Exception],
) -> None:
    """Run a prebuilt ``UPDATE`` or ``DELETE`` once with ``values`` (as ``execute_each`` takes
    them), straight to the driver, and raise ``otherwise()`` unless it changed ``count`` rows
    (a versioned update that found another version). While the connection defers writes it is
    queued, and checked when the queue is sent."""
    plan = _compile(conn.dialect, statement, values)
    _queued_or_sent(conn, [_Queued(plan, plan.parameters(values), count, otherwise)])


# Writes a unit of work on PostgreSQL has made and not sent yet, on its connection's ``info``.
_DEFERRED = "seatledger.deferred_writes"


@dataclass(frozen=True)
class _Queued:
    plan: _Compiled
    parameters: Any
    # For a statement whose changed-row count is checked: that count, and what to raise else.
    count: int | None = None
    otherwise: Callable[[], Exception] | None = None


def defer_writes(conn: Connection) -> None:
    """From now on (until ``stop_deferring``), on PostgreSQL, the writes that read nothing back
    (``execute_each``, ``execute_expecting``) are queued and sent together in one pipeline: before
    the next statement that needs an answer (any statement of the statement layer, a savepoint
    included, and ``fetch_rows``, ``insert_rows``, ``update_rows``), or with the commit
    (``commit_deferred``). A refused write is raised there, as the statement layer raises it; a
    rollback (of the transaction or of a savepoint) drops what is queued. Seat changes hold
    their subscription's row lock while they write: a round trip per statement is time every
    other change of that subscription waits. On SQLite (in process) writes run at once."""
    if conn.dialect.name == _POSTGRESQL:
        conn.info[_DEFERRED] = []


def stop_deferring(conn: Connection) -> None:
    """Drop what is queued and run writes at once again."""
    conn.info.pop(_DEFERRED, None)


def drop_deferred(conn: Connection) -> None:
    """Drop what is queued (it is being rolled back), and go on deferring."""
    _taken(conn)


def send_deferred(conn: Connection) -> None:
    """Send what is queued now, in one pipeline."""
    queued = _taken(conn)
    if queued:
        _send(conn, queued)


def send_deferred_first(
    conn: Connection, _cursor: Any, statement: str, parameters: Any, *_context: Any
) -> tuple[str, Any]:
    """The engine's ``before_cursor_execute`` listener (``retval=True``) where writes are
    deferred: what is queued goes before the statement layer's own statement."""
    send_deferred(conn)
    return statement, parameters


def commit_deferred(conn: Connection) -> None:
    """Send what is queued and commit, in one round trip when no queued write has a count to
    check first (the statement layer's own commit finds nothing left to commit then)."""
    queued = _taken(conn)
    if queued:
        _send(conn, queued, commit=not any(q.count is not None for q in queued))


def _queued_or_sent(conn: Connection, queued: list[_Queued]) -> None:
    """Queue ``queued`` while the connection defers writes, else send it now."""
    deferred: list[_Queued] | None = conn.info.get(_DEFERRED)
    if deferred is None:
        _send(conn, queued)
    else:
        deferred.extend(queued)


def _taken(conn: Connection) -> list[_Queued]:
    """What the connection has queued, the queue left empty (nothing when it defers nothing)."""
    deferred: list[_Queued] | None = conn.info.get(_DEFERRED)
    if not deferred:
        return []
    queued = list(deferred)
    deferred.clear()
    return queued


def _send(
    conn: Connection,
    queued: Sequence[_Queued],
    *,
    commit: bool = False,
    reads: Sequence[tuple[_Compiled, Any]] = (),
) -> list[Any]:
    """Run ``queued`` in order, then each of ``reads`` (a plan and its parameters) or the commit
    when asked; check the counts that are to be checked; return the cursors of ``reads``, their
    rows fetched, for the caller to close.

    On PostgreSQL it is one pipeline (one round trip) when there is more than one thing to send,
    or when a transaction is to begin (psycopg's ``BEGIN`` goes along then, where it would be a
    round trip of its own)."""
    ensure_transaction(conn)
    driver: Any = conn.connection.driver_connection
    checked: list[tuple[_Queued, Any]] = []
    sent = len(queued) + len(reads) + commit
    # Pipeline mode needs libpq 14 or later (the psycopg[binary] wheels bring their own); with
    # an older one the statements go one at a time.
    pipelined = (
        conn.dialect.name == _POSTGRESQL
        and _pipelines()
        and (sent > 1 or (not driver.autocommit and driver.info.transaction_status == _IDLE))
    )
    readers: list[Any] = []
    try:
        with (
            statement_errors(conn, lambda: _sql_of(queued, reads)),
            driver.pipeline() if pipelined else nullcontext(),
        ):
            if queued:
                with closing(driver.cursor()) as cursor:  # sqlite3's is no context manager
                    for item in queued:
                        announce(conn, cursor, item.plan.sql, item.parameters)
                        if item.count is None:
                            cursor.execute(item.plan.sql, item.parameters)
                        else:
                            # A cursor of its own: its count is the one of this statement.
                            own = driver.cursor()
                            checked.append((item, own))
                            own.execute(item.plan.sql, item.parameters)
            for plan, parameters in reads:
                reader = driver.cursor()
                readers.append(reader)
                announce(conn, reader, plan.sql, parameters)
                reader.execute(plan.sql, parameters)
            if commit:
                driver.commit()
        for item, own in checked:
            if own.rowcount != item.count:
                assert item.otherwise is not None
                raise item.otherwise()
    except BaseException:
        for reader in readers:
            reader.close()
        raise
    finally:
        for _, own in checked:
            own.close()
    return readers


def _sql_of(queued: Sequence[_Queued], reads: Sequence[tuple[_Compiled, Any]]) -> str:
    """The text of what ``_send`` sent, each statement once, for an error to name."""
    sql = [q.plan.sql for q in queued] + [plan.sql for plan, _ in reads]
    return "; ".join(dict.fromkeys(sql))


# psycopg's transaction status of a connection in no transaction (``pq.TransactionStatus.IDLE``).
_IDLE = 0


def fetch_rows(
    conn: Connection,
    statement: Select[Any] | CompoundSelect[Any] | UpdateBase,
    values: Mapping[str, Any],
) -> list[Any]:
    """The rows of a prebuilt ``SELECT`` (or a write ``RETURNING`` rows) run once with
    ``values`` (naming every parameter), straight to the driver: each a named tuple (by the
    columns' keys, as ``Row`` has them), its values converted by the columns' own result
    processors, as ``Connection.execute`` returns them. What the connection deferred goes with
    it, in the same round trip. For the few hot statements of a seat change, where Core's
    preparation of the statement and of its result cost more than running it."""
    return fetch_rows_together(conn, [(statement, values)])[0]


def fetch_rows_together(
    conn: Connection,
    reads: Sequence[tuple[Select[Any] | CompoundSelect[Any] | UpdateBase, Mapping[str, Any]]],
) -> list[list[Any]]:
    """The rows of each of ``reads`` (as ``fetch_rows`` returns them), run one after the other
    and, on PostgreSQL, sent together in one round trip with what the connection deferred. Each
    statement reads what was committed when it starts (READ COMMITTED), so a read after one
    that waited for a row lock sees what the lock's holder committed."""
    plans = [
        (_compile(conn.dialect, statement, values), statement, values)
        for statement, values in reads
    ]
    cursors = _send(
        conn, _taken(conn), reads=[(plan, plan.parameters(values)) for plan, _, values in plans]
    )
    try:
        return [
            _rows(conn, plan, statement, cursor)
            for (plan, statement, _), cursor in zip(plans, cursors, strict=True)
        ]
    finally:
        for cursor in cursors:
            cursor.close()


def _rows(
    conn: Connection,
    plan: _Compiled,
    statement: Select[Any] | CompoundSelect[Any] | UpdateBase,
    cursor: Any,
) -> list[Any]:
    with statement_errors(conn, plan.sql):
        fetched = cursor.fetchall()
    shape = _read_shapes.get(id(plan))
    if shape is None or shape.plan is not plan:
        shape = _read_shapes[id(plan)] = _read_shape(conn.dialect, plan, statement, cursor)
    make, processors = shape.row_type._make, shape.processors
    if not processors:
        return [make(row) for row in fetched]
    rows = []
    for row in fetched:
        values_ = list(row)
        for index, process in processors:
            values_[index] = process(values_[index])
        rows.append(make(values_))
    return rows


@dataclass(frozen=True)
class _ReadShape:
    plan: _Compiled
    row_type: Any
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]


_read_shapes: dict[int, _ReadShape] = {}


def _read_shape(
    dialect: Dialect,
    plan: _Compiled,
    statement: Select[Any] | CompoundSelect[Any] | UpdateBase,
    cursor: Any,
) -> _ReadShape:
    columns = list(statement.exported_columns)
    # The driver's type of each column, which some result processors need (numbers on
    # PostgreSQL); the same for every run of one statement.
    codes = [column[1] for column in cursor.description]
    processors = []
    for index, (column, code) in enumerate(zip(columns, codes, strict=True)):
        process = column.type.dialect_impl(dialect).result_processor(dialect, code)
        if process is not None:
            processors.append((index, process))
    # A column without a usable name (an unlabelled function) is reached by position only.
    names = [str(column.key) for column in columns]
    return _ReadShape(plan, namedtuple("Row", names, rename=True), tuple(processors))


def ensure_transaction(conn: Connection) -> None:
    """Begin the statement layer's transaction when none is open (after a commit or a rollback),
    as its own next statement would: the driver alone would run these outside any transaction on
    SQLite, and the statement layer would not commit or roll back what they wrote."""
    if not conn.in_transaction():
        conn.begin()


def announce(
    conn: Connection, cursor: Any, sql: str, parameters: Any, *, many: bool = False
) -> None:
    """Tell the engine's ``before_cursor_execute`` listeners about a statement sent here, as the
    statement layer tells them about its own (what counts statements sees these too; there is
    no execution context to give them)."""
    listeners = conn.dispatch.before_cursor_execute
    if listeners:  # none on SQLite but a test's: asking costs less than walking an empty chain
        for listener in listeners:
            # Whatever sends a statement here has sent the queue first: the deferral's own
            # listener would find it empty (about 10 us a statement, 25 statements a change).
            if listener is not send_deferred_first:
                listener(conn, cursor, sql, parameters, None, many)


def statement_errors(conn: Connection, sql: str | Callable[[], str]) -> _StatementErrors:
    """The driver's errors raised as the statement layer raises them (``IntegrityError`` for a
    duplicate key), so callers handle both paths alike: ``with statement_errors(conn, sql):``.
    ``sql`` names the statement, or makes its text when an error needs it."""
    return _StatementErrors(conn, sql)


class _StatementErrors:
    # A class, not a generator-based context manager: it runs around every statement sent
    # here, and entering and leaving a generator cost several times as much.
    __slots__ = ("_conn", "_sql")

    def __init__(self, conn: Connection, sql: str | Callable[[], str]) -> None:
        self._conn = conn
        self._sql = sql

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: Any
    ) -> None:
        if error is None:
            return
        dialect = self._conn.dialect
        error_type = dialect.loaded_dbapi.Error
        if isinstance(error, error_type):
            sql = self._sql if isinstance(self._sql, str) else self._sql()
            raise DBAPIError.instance(sql, None, error, error_type, dialect=dialect) from error


@cache
def _pipelines() -> bool:
    import psycopg

    return bool(psycopg.Pipeline.is_supported())


def _compile(
    dialect: Dialect,
    statement: UpdateBase | Select[Any] | CompoundSelect[Any],
    values: Mapping[str, Any],
) -> _Compiled:
    # Found by the names in the order given (each caller gives them the same way every time,
    # and another order is only another entry): sorting them cost more than the look-up.
    keys = tuple(values)
    found = _compiled.get((dialect.name, id(statement), keys))
    if found is not None and found.statement is statement:
        return found
    compiled = statement.compile(dialect=dialect, column_keys=sorted(keys))
    assert isinstance(compiled, SQLCompiler)
    if compiled.post_compile_params:
        # Expanded per run by the statement layer (``IN`` of a list): not a prebuilt statement.
        raise ValueError("a statement run below the statement layer takes no expanding parameter")
    processors = []
    for name, bind in compiled.binds.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((name, process))
    order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
    constants = {
        name: bind.effective_value for name, bind in compiled.binds.items() if name not in keys
    }
    made = _Compiled(statement, compiled.string, order, tuple(processors), constants)
    _compiled[(dialect.name, id(statement), keys)] = made
    return made
