"""Engines: which database, and how its connections and transactions are set up.

SQLite (the embedded default) gets WAL (readers never wait for the writer) with ``synchronous =
NORMAL`` (see docs/DESIGN.md for what that trades), foreign keys, a busy timeout, and ``BEGIN
IMMEDIATE`` for every writing transaction: the write lock is taken when the
transaction starts, so two writers never both read and then fight over the upgrade (which SQLite
would answer with "database is locked" at once, busy timeout or not). That lock is also what
serializes seat changes on SQLite. pysqlite's own transaction handling is switched off so
SQLAlchemy can emit that ``BEGIN`` itself (SQLAlchemy's documented recipe). PostgreSQL goes
through psycopg 3, its sessions in ``TimeZone=UTC`` whatever the server's default.

A read-only unit of work (``READ_ONLY`` execution option) opens a deferred transaction on SQLite
with ``PRAGMA query_only``, and ``SET TRANSACTION READ ONLY`` on PostgreSQL, so it never queues
behind writers and cannot write by mistake.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError

from seatledger.domain.errors import InvalidInput, SeatLedgerError
from seatledger.store.driver_statements import (
    announce,
    drop_deferred,
    send_deferred_first,
    statement_errors,
)

DATABASE_URL_ENV = "SEATLEDGER_DATABASE_URL"
READ_ONLY = "seatledger_read_only"
# A lookup unit's connection (uow.SqlLookups): on SQLite a deferred transaction that never commits.
LOOKUP = "seatledger_lookup"
# Whether a SQLite connection has PRAGMA query_only on (kept in the connection's info).
_QUERY_ONLY = "seatledger_query_only"
# How long a SQLite writer waits for another writer's transaction before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000

_SQLITE_DRIVERS = ("sqlite", "sqlite+pysqlite")
_POSTGRES_DRIVERS = ("postgresql", "postgres", "postgresql+psycopg")


def default_database_url() -> str:
    """``$SEATLEDGER_DATABASE_URL`` when set, else a SQLite file in the user's data folder
    (``platformdirs.user_data_dir("seatledger")/seatledger.db``)."""
    configured = os.environ.get(DATABASE_URL_ENV, "").strip()
    if configured:
        return configured
    path = Path(platformdirs.user_data_dir("seatledger")) / "seatledger.db"
    return f"sqlite:///{path}"


def database_url(url: str | URL) -> URL:
    """``url`` parsed, with PostgreSQL pointed at psycopg 3; other databases are refused."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInput(
            "database", f"must be a sqlite:/// or postgresql:// URL, got {url!r}"
        ) from None
    if parsed.drivername in _POSTGRES_DRIVERS:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in _SQLITE_DRIVERS:
        return parsed
    raise InvalidInput(
        "database",
        f"must be a sqlite:/// or postgresql:// URL, got {parsed.render_as_string()!r}",
    )


def display_url(url: str | URL) -> str:
    """The URL with its password hidden, for messages and logs."""
    return database_url(url).render_as_string(hide_password=True)


def make_engine(url: str | URL) -> Engine:
    """An engine for a ``sqlite:///FILE`` or ``postgresql://`` URL, set up as described above.

    The folder of a SQLite file is created when missing.
    """
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed)
    else:
        engine = create_engine(parsed, connect_args={"options": _options_in_utc(parsed)})
        event.listen(engine, "begin", _begin_postgres)
        # Writes a unit of work deferred go before any statement that needs an answer, and a
        # rollback drops them (store/driver_statements.py: defer_writes).
        event.listen(engine, "before_cursor_execute", send_deferred_first, retval=True)
        event.listen(engine, "rollback", drop_deferred)
        event.listen(engine, "rollback_savepoint", _drop_deferred_to_savepoint)
    event.listen(engine, "handle_error", _unwrap_refusals)
    return engine


def _options_in_utc(url: URL) -> str:
    """The URL's own ``options`` (if any) and the session's time zone set to UTC. Instants are
    ``timestamptz`` and every one is worked out in Python, so nothing depends on the zone; but in
    UTC, and spelled so, psycopg reads each with ``datetime.UTC`` itself, where a server set up in
    another zone (or in ``Etc/UTC``, Debian's default) has it build a ``ZoneInfo`` instant that is
    then converted: about 1.3 us an instant, and a billing batch reads thousands."""
    given = url.query.get("options", "")
    own = " ".join(given) if isinstance(given, tuple) else given
    return f"{own} -c TimeZone=UTC".strip()


def _unwrap_refusals(context: ExceptionContext) -> BaseException | None:
    # A refusal raised while binding a value (a naive datetime for UTCDateTime) reaches the caller
    # as itself, not wrapped in SQLAlchemy's StatementError, so it maps to a 4xx like any other.
    if isinstance(context.original_exception, SeatLedgerError):
        return context.original_exception
    return None


def _sqlite_engine(url: URL) -> Engine:
    in_memory = url.database in (None, "", ":memory:")
    if not in_memory:
        assert url.database is not None
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN (see _begin_sqlite) instead of pysqlite's implicit one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode = WAL")
            # Under WAL, NORMAL syncs at checkpoints instead of at every commit: a committed
            # transaction survives the application crashing, not the machine losing power.
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", _begin_sqlite)
    return engine


def _read_only(conn: Connection) -> bool:
    return bool(conn.get_execution_options().get(READ_ONLY, False))


def _begin_sqlite(conn: Connection) -> None:
    if conn.get_execution_options().get(LOOKUP, False):
        # Reads that are never committed: deferred, and whatever query_only is (switching it on
        # for a lookup and off again for the next write cost that write about 0.3 ms).
        _begin_on_driver(conn, "BEGIN")
        return
    read_only = _read_only(conn)
    # The pragma stays set on the connection: switch it only when this transaction needs the
    # other setting (a fresh connection has query_only off, and its info starts empty).
    info = conn.connection.info
    if info.get(_QUERY_ONLY, False) is not read_only:
        conn.exec_driver_sql(f"PRAGMA query_only = {int(read_only)}")
        info[_QUERY_ONLY] = read_only
    _begin_on_driver(conn, "BEGIN" if read_only else "BEGIN IMMEDIATE")


def _begin_on_driver(conn: Connection, sql: str) -> None:
    # Straight to sqlite3, as store/driver_statements.py sends a seat change's statements: the
    # statement layer's execution path costs several times what sqlite3 takes to run a statement
    # (``python -m bench.statement_floor``), and every writing use case begins. Its listeners are
    # told and its errors raised as it would (a lock not granted in time is an
    # ``OperationalError`` either way).
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        announce(conn, cursor, sql, ())
        with statement_errors(conn, sql):
            cursor.execute(sql)
    finally:
        cursor.close()


def _drop_deferred_to_savepoint(conn: Connection, _name: str, _context: Any) -> None:
    # What is queued was written since the savepoint began (starting it sent what came before).
    drop_deferred(conn)


def _begin_postgres(conn: Connection) -> None:
    if _read_only(conn):
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
