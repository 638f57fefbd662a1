"""Lookup units (``Services.lookup``): reads whose every statement stands alone, outside any
transaction on PostgreSQL (one round trip for a lookup of one statement), a read-only
transaction on SQLite; never a write."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from store_builders import ACCOUNT, World

from seatledger.clock import ManualClock
from seatledger.service.ports import Account
from seatledger.store import SqlLookups, SqlUnitOfWork, make_engine


def test_a_lookup_reads_what_was_committed_and_refuses_to_commit(
    engine: Engine, world: World
) -> None:
    lookup = SqlLookups(engine)
    with lookup:
        assert lookup.workspaces.get(ACCOUNT, world.workspace_ids[0]).id == world.workspace_ids[0]
        with pytest.raises(RuntimeError, match="only reads"):
            lookup.commit()
    with lookup:  # entered again, as a unit of work is
        assert lookup.accounts.get(ACCOUNT).id == ACCOUNT


@pytest.mark.postgres
def test_on_postgresql_a_lookup_opens_no_transaction_and_leaves_none_behind(
    postgres_database_url: str,
) -> None:
    engine = make_engine(postgres_database_url)
    try:
        lookup = SqlLookups(engine)
        with lookup:
            lookup.accounts.ids()
            driver: Any = lookup.connection.connection.driver_connection
            assert driver.autocommit
            # Each statement was a transaction of its own: none stays open after it.
            assert driver.info.transaction_status.name == "IDLE"
        # Back in the pool, the connection is transactional again for the next unit of work.
        assert not driver.autocommit
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    copy = tmp_path / "lookups.db"
    shutil.copyfile(sqlite_template, copy)
    engine = make_engine(f"sqlite:///{copy}")
    yield engine
    engine.dispose()


def test_on_sqlite_a_lookup_does_not_wait_for_a_writer_and_keeps_nothing(
    sqlite_engine: Engine, clock: ManualClock
) -> None:
    writer = SqlUnitOfWork(sqlite_engine)
    with writer:
        writer.accounts.add(Account("acc_writing", "Not committed yet", clock.now()))
        # The writer holds SQLite's write lock, which a unit of work would wait for.
        with SqlLookups(sqlite_engine) as lookup:
            assert "acc_writing" not in lookup.accounts.ids()
        writer.commit()
    with SqlLookups(sqlite_engine) as lookup:
        assert "acc_writing" in lookup.accounts.ids()
        # A write by mistake is never kept: the lookup's transaction always rolls back.
        lookup.accounts.add(Account("acc_mistake", "Never kept", clock.now()))
    with writer:
        assert "acc_mistake" not in writer.accounts.ids()
