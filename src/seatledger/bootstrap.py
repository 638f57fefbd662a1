"""The composition root: the one place that picks the concrete store and the clock.

The API, the admin pages, the CLI and the scenario runner ask for ``Services`` here and never
touch a database session themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from seatledger.clock import Clock, SystemClock
from seatledger.service.context import Services
from seatledger.service.ports import StoreError
from seatledger.store.engine import default_database_url, display_url, make_engine
from seatledger.store.migration import check_migrated, migrate
from seatledger.store.uow import SqlLookups, SqlUnitOfWork

# What the CLI reports as an operating problem (exit 2, one line) rather than a crash.
STORE_ERRORS: tuple[type[Exception], ...] = (StoreError,)


class DatabaseUnreachable(StoreError):
    """The database named by the URL cannot be reached (no server, refused, bad credentials)."""


@dataclass(frozen=True)
class Runtime(Services):
    """``Services`` plus what only the process that built them should touch."""

    engine: Engine | None = None
    database_url: str = ""

    def dispose(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def resolve_url(url: str | None) -> str:
    """The database URL to use: the one given, else ``SEATLEDGER_DATABASE_URL``, else the embedded
    SQLite file under the user's data directory."""
    return url or default_database_url()


def bootstrap(
    url: str | None = None, *, clock: Clock | None = None, migrate_first: bool = False
) -> Runtime:
    """Services on the database at ``url``. With ``migrate_first`` the schema is brought up to
    date; otherwise an unmigrated database is refused with a message saying what to run."""
    resolved = resolve_url(url)
    try:
        if migrate_first:
            migrate(resolved)
        else:
            check_migrated(resolved)
    except OperationalError as exc:
        # The first connection: failing here is an operating problem, said in one line.
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise DatabaseUnreachable(
            f"cannot reach the database {display_url(resolved)}: {reason}"
        ) from exc
    engine = make_engine(resolved)
    return Runtime(
        uow=lambda: SqlUnitOfWork(engine),
        clock=clock or SystemClock(),
        lookups=lambda: SqlLookups(engine),
        concurrent_writes=engine.dialect.name == "postgresql",
        engine=engine,
        database_url=display_url(resolved),
    )


def migrate_database(url: str | None) -> str:
    """Apply the migrations to ``url`` (or the default database); returns the URL for display."""
    resolved = resolve_url(url)
    migrate(resolved)
    return display_url(resolved)
