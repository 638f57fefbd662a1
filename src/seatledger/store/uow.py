"""The SQLAlchemy unit of work: one connection, one transaction, every repository."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine, NestedTransaction

from seatledger.store.driver_statements import commit_deferred, defer_writes, stop_deferring
from seatledger.store.engine import LOOKUP, READ_ONLY
from seatledger.store.read_ahead import ReadAhead
from seatledger.store.repositories.activity import SqlMemberActivity
from seatledger.store.repositories.api_keys import SqlApiKeys
from seatledger.store.repositories.batches import SqlRenewalBatches
from seatledger.store.repositories.intervals import SqlSeatIntervals
from seatledger.store.repositories.invoices import SqlInvoices, SqlPendingLines
from seatledger.store.repositories.logs import (
    SqlAudit,
    SqlChangeRecords,
    SqlCredits,
    SqlIdempotency,
    SqlLedger,
    SqlOutbox,
)
from seatledger.store.repositories.parts import SqlSubscriptionParts
from seatledger.store.repositories.people import SqlAccounts, SqlPersons, SqlWorkspaces
from seatledger.store.repositories.rosters import SqlRosters
from seatledger.store.repositories.subscriptions import SqlAddons, SqlSubscriptions
from seatledger.store.repositories.test_clocks import SqlTestClocks
from seatledger.store.repositories.webhooks import SqlWebhookDeliveries, SqlWebhookEndpoints
from seatledger.store.version_cache import caches_of


class _OpenConnection:
    """The connection of a unit's transaction in progress, where its repositories read it.

    They hold this, not the unit, and are handed the unit's list of after-commit actions rather
    than a method of the unit: nothing refers back to the unit, so a finished one is freed at
    once instead of waiting, with its two dozen repositories, for the garbage collector (which
    ran every few seat changes for them alone)."""

    __slots__ = ("current",)

    def __init__(self) -> None:
        self.current: Connection | None = None

    @property
    def connection(self) -> Connection:
        if self.current is None:
            raise RuntimeError("Use the unit of work inside `with uow:`.")
        return self.current


class SqlUnitOfWork:
    """``with uow: ...; uow.commit()`` on an engine from ``make_engine``.

    Each ``with`` block checks out a connection and opens a transaction (``BEGIN IMMEDIATE`` on
    SQLite, so the block holds the database's write lock from its first statement); leaving the
    block rolls back whatever was not committed and returns the connection. The same object can
    be entered again for the next transaction, but not while it is open (no nesting: a use case
    is one transaction). After ``commit()`` inside the block, further statements start a new
    transaction.

    ``read_only=True`` is for units that only read (pages, exports): on SQLite they do not queue
    behind writers, and both databases refuse a write made in one by mistake.
    """

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self.engine = engine
        self.read_only = read_only
        self._open = source = _OpenConnection()
        self._after_commit: list[Callable[[], None]] = []
        later = self._after_commit.append
        self.accounts = SqlAccounts(source)
        self.workspaces = SqlWorkspaces(source)
        self.persons = SqlPersons(source)
        caches = caches_of(engine)
        self._ahead = ahead = ReadAhead(caches.contended)
        self.subscriptions = SqlSubscriptions(source, caches.rosters, ahead)
        self.rosters = SqlRosters(source, self.persons, caches.rosters, later, ahead)
        self.addons = SqlAddons(source)
        self.ledger = SqlLedger(source)
        self.audit = SqlAudit(source)
        self.change_records = SqlChangeRecords(source)
        self.outbox = SqlOutbox(source)
        self.invoices = SqlInvoices(source)
        self.pending_lines = SqlPendingLines(source)
        self.parts = SqlSubscriptionParts(source, caches.parts, later, ahead)
        self.credits = SqlCredits(source)
        self.idempotency = SqlIdempotency(source)
        self.test_clocks = SqlTestClocks(source)
        self.api_keys = SqlApiKeys(source)
        self.webhook_endpoints = SqlWebhookEndpoints(source)
        self.webhook_deliveries = SqlWebhookDeliveries(source)
        self.renewal_batches = SqlRenewalBatches(source)
        self.seat_intervals = SqlSeatIntervals(source)
        self.member_activity = SqlMemberActivity(source)

    @property
    def connection(self) -> Connection:
        return self._open.connection

    def __enter__(self) -> Self:
        if self._open.current is not None:
            raise RuntimeError("This unit of work is open already: one transaction at a time.")
        connection = self.engine.connect()
        try:
            self._start(connection)
        except BaseException:
            connection.close()
            raise
        self._open.current = connection
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._open.current = self._open.current, None
        self._forget_transaction()
        if connection is None:
            return
        try:
            if connection.in_transaction():
                connection.rollback()
        finally:
            stop_deferring(connection)
            connection.close()

    def _forget_transaction(self) -> None:
        """The block ended: what waited for its commit, the rows read ahead in it and the row
        locks it held are gone with it."""
        self._after_commit.clear()
        self._ahead.clear()
        self.subscriptions.release_locks()

    def _start(self, connection: Connection) -> None:
        """Open this unit's transaction on ``connection``."""
        if self.read_only:
            connection.execution_options(**{READ_ONLY: True})
        else:
            defer_writes(connection)
        connection.begin()

    def commit(self) -> None:
        # What the unit deferred goes with the commit (store/driver_statements.py: defer_writes).
        commit_deferred(self.connection)
        self.connection.commit()
        self.subscriptions.release_locks()
        # The same list, emptied: the repositories add to it.
        done = self._after_commit[:]
        self._after_commit.clear()
        for action in done:
            action()

    def rollback(self) -> None:
        self._after_commit.clear()
        self.connection.rollback()
        self.subscriptions.release_locks()

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once this transaction has committed; dropped if it rolls back (what
        the store remembers between transactions must be durable first)."""
        self._after_commit.append(action)

    def joined(self) -> SqlUnitOfWork:
        """A unit of work inside this one's transaction, as a savepoint (see the port)."""
        return JoinedUnitOfWork(self)


class SqlLookups(SqlUnitOfWork):
    """A unit of work for lookups, every statement standing alone (``Services.lookup``).

    On PostgreSQL it opens no transaction: the connection runs in autocommit, so a lookup of one
    statement is one round trip where a transaction adds a ``BEGIN`` and a ``ROLLBACK`` (about
    0.3 ms a lookup on loopback). On SQLite it is a deferred transaction, which takes no write
    lock and is always rolled back. It is for reads only: ``commit`` is refused.
    """

    def _start(self, connection: Connection) -> None:
        if self.engine.dialect.name == "postgresql":
            # The pool sets the isolation level back when the connection is returned.
            connection.execution_options(isolation_level="AUTOCOMMIT")
        else:
            # Begun by the first statement (store/engine.py: a deferred BEGIN).
            connection.execution_options(**{LOOKUP: True})

    def commit(self) -> None:
        raise RuntimeError("A lookup unit only reads: write in a unit of work (Services.uow).")


class JoinedUnitOfWork(SqlUnitOfWork):
    """A unit of work that runs inside an open one: a savepoint of its connection.

    Use cases open their own units; given this one instead they write into the outer transaction,
    and what they ``commit()`` becomes durable only when the outer unit commits (how
    ``service/idempotency.py`` stores a key in the same transaction as the change it answers).
    """

    def __init__(self, outer: SqlUnitOfWork) -> None:
        super().__init__(outer.engine, read_only=outer.read_only)
        self._outer = outer
        self._savepoint: NestedTransaction | None = None

    def __enter__(self) -> Self:
        if self._savepoint is not None:
            raise RuntimeError("This unit of work is open already: one transaction at a time.")
        self._savepoint = self._outer.connection.begin_nested()
        self._open.current = self._outer.connection
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        savepoint, self._savepoint = self._savepoint, None
        self._open.current = None
        self._forget_transaction()
        if savepoint is not None and savepoint.is_active:
            savepoint.rollback()

    def commit(self) -> None:
        # Released into the outer transaction; later statements of this block get a new one,
        # as they would get a new transaction in a unit of their own. What waits for the commit
        # waits for the outer one's.
        self._current().commit()
        self.subscriptions.release_locks()
        self._savepoint = self._outer.connection.begin_nested()
        done = self._after_commit[:]
        self._after_commit.clear()
        for action in done:
            self._outer.after_commit(action)

    def rollback(self) -> None:
        self._after_commit.clear()
        self._current().rollback()
        self.subscriptions.release_locks()
        self._savepoint = self._outer.connection.begin_nested()

    def _current(self) -> NestedTransaction:
        if self._savepoint is None:
            raise RuntimeError("Use the unit of work inside `with uow:`.")
        return self._savepoint
