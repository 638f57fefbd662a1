"""The two databases a case can run on, and the raw (driver-only) connection each baseline uses.

A ``Db`` names a throwaway database: a SQLite file, or a PostgreSQL database made for the case
on the server ``scripts/with-postgres`` starts (its URL in ``SEATLEDGER_TEST_POSTGRES_URL``).
It is picklable, so worker processes open their own engine and raw connection from it.

``Raw`` is the baseline's connection: ``sqlite3`` (WAL, foreign keys, the engine's busy
timeout) or psycopg 3 (autocommit, so transactions are the explicit ``BEGIN`` / ``COMMIT`` the
baseline sends). Statements are written once with ``:name`` parameters; for psycopg they are
rewritten to ``%(name)s``. What differs between the databases (how a transaction takes the
write lock, where per-account sequence numbers come from, how instants are passed) is a method
here, so the cases' SQL is shared.
"""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from seatledger.bootstrap import Runtime, bootstrap
from seatledger.clock import Clock

POSTGRES_ENV = "SEATLEDGER_TEST_POSTGRES_URL"
NO_POSTGRES = f"no PostgreSQL server ({POSTGRES_ENV} unset: run under scripts/with-postgres)"

_NAMED = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


@dataclass(frozen=True)
class Db:
    """A database a case writes to: ``kind`` is ``sqlite`` or ``postgresql``; ``url`` is the
    SQLAlchemy URL the engine opens."""

    kind: str
    url: str

    @property
    def conninfo(self) -> str:
        """The URL as the raw driver takes it (psycopg: no ``+psycopg``; SQLite: the path)."""
        parsed = make_url(self.url)
        if self.kind == "sqlite":
            return str(parsed.database)
        return parsed.set(drivername="postgresql").render_as_string(hide_password=False)

    def runtime(self, clock: Clock) -> Runtime:
        return bootstrap(self.url, clock=clock, migrate_first=True)

    def raw(self) -> Raw:
        if self.kind == "sqlite":
            con = sqlite3.connect(self.conninfo, isolation_level=None)
            con.execute("PRAGMA busy_timeout = 30000")
            con.execute("PRAGMA journal_mode = WAL")
            # As the engine's connections (store/engine.py): a commit synced at checkpoints, not
            # each time. SQLite's default (FULL) cost the baseline an fdatasync per commit that
            # the engine does not pay, which made the engine look faster than it is.
            con.execute("PRAGMA synchronous = NORMAL")
            con.execute("PRAGMA foreign_keys = ON")
            return Raw(self.kind, con)
        return Raw(self.kind, psycopg.connect(self.conninfo, autocommit=True))


class Raw:
    """A driver connection with the few things the baselines need from it."""

    def __init__(self, kind: str, con: Any) -> None:
        self.kind = kind
        self.con = con

    @property
    def postgres(self) -> bool:
        return self.kind == "postgresql"

    def sql(self, statement: str) -> str:
        return _psycopg_sql(statement) if self.postgres else statement

    def q(self, statement: str, params: Mapping[str, Any] | None = None) -> Any:
        """Execute ``statement`` (``:name`` parameters); the cursor, for rowcount and fetches."""
        return self.con.execute(self.sql(statement), params or {})

    def many(self, statement: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if self.postgres:
            with self.con.cursor() as cur:
                cur.executemany(self.sql(statement), rows)
        else:
            self.con.executemany(statement, rows)

    def one(self, statement: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.q(statement, params).fetchone()

    def begin(self) -> None:
        # SQLite: take the write lock at once, as the engine does (its writers take turns).
        self.con.execute("BEGIN" if self.postgres else "BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.con.execute("COMMIT")

    def rollback(self) -> None:
        self.con.execute("ROLLBACK")

    def next_seq(self, table: str) -> str:
        """The SQL giving the next per-account number of an append-only log, as the engine
        draws it: a sequence on PostgreSQL, the account's last number + 1 on SQLite."""
        if self.postgres:
            return f"nextval('{table}_seq')"
        return f"(SELECT coalesce(max(seq), 0) + 1 FROM {table} WHERE account_id = :account)"

    def instant(self, at: datetime) -> Any:
        """``at`` as the column stores it: naive UTC text on SQLite, ``timestamptz`` on PG."""
        return at if self.postgres else at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")

    def tables(self) -> list[str]:
        if self.postgres:
            query = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        else:
            query = (
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        return sorted(name for (name,) in self.q(query).fetchall())

    def close(self) -> None:
        self.con.close()


def analyze(db: Db) -> None:
    """PostgreSQL: statistics for the rows written so far, untimed, as autovacuum would gather
    them in a database in service. A bench writes more than a tenth of the rows of the tables it
    grows (autovacuum's threshold to analyze one), often in one bulk copy: without fresh
    statistics the planner takes a workspace of a thousand members for an empty one, or a
    batch's 200 keys for thousands, and reads every row of a table where an index gives the few
    it needs (a billing batch's reads at 100,000 subscriptions: about 160 ms against 6)."""
    if db.kind != "postgresql":
        return
    raw = db.raw()
    try:
        raw.q("ANALYZE")
    finally:
        raw.close()


@lru_cache(maxsize=256)
def _psycopg_sql(statement: str) -> str:
    return _NAMED.sub(r"%(\1)s", statement.replace("%", "%%"))


def postgres_server() -> str | None:
    """The URL of the PostgreSQL server to make bench databases on, if there is one."""
    return os.environ.get(POSTGRES_ENV) or None


@contextmanager
def sqlite_db() -> Iterator[Db]:
    with tempfile.TemporaryDirectory(prefix="seatledger-bench-") as tmp:
        yield Db("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}")


@contextmanager
def postgres_db(server: str) -> Iterator[Db]:
    """A fresh database on ``server``, dropped afterwards (whoever is still connected)."""
    name = f"bench_{secrets.token_hex(6)}"
    admin_url = make_url(server).set(drivername="postgresql", database="postgres")
    admin = admin_url.render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(server).set(drivername="postgresql+psycopg", database=name)
        yield Db("postgresql", url.render_as_string(hide_password=False))
    finally:
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database(kind: str) -> Iterator[Db]:
    """A throwaway database of ``kind``; ``SystemExit`` naming the reason when PostgreSQL is
    asked for and there is no server (the caller reports the case as not measured)."""
    if kind == "sqlite":
        with sqlite_db() as db:
            yield db
        return
    server = postgres_server()
    if server is None:
        raise NoServer(NO_POSTGRES)
    with postgres_db(server) as db:
        yield db


class NoServer(Exception):
    """A PostgreSQL case asked for without a server to run on."""
