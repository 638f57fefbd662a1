"""Which database, and how its connections and transactions are set up."""

from __future__ import annotations

import threading
from pathlib import Path

import platformdirs
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from seatledger.clock import ManualClock
from seatledger.domain.errors import InvalidInput
from seatledger.service.ports import Account
from seatledger.store import (
    SqlUnitOfWork,
    database_url,
    default_database_url,
    display_url,
    make_engine,
    migrate,
)
from seatledger.store.engine import SQLITE_BUSY_TIMEOUT_MS


def test_the_default_database_is_a_sqlite_file_in_the_user_data_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SEATLEDGER_DATABASE_URL", raising=False)
    expected = Path(platformdirs.user_data_dir("seatledger")) / "seatledger.db"
    assert default_database_url() == f"sqlite:///{expected}"


def test_the_environment_picks_another_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEATLEDGER_DATABASE_URL", "postgresql://billing@db.internal/seats")
    assert default_database_url() == "postgresql://billing@db.internal/seats"


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////var/lib/seats.db", "sqlite:////var/lib/seats.db"),
    ],
)
def test_postgresql_urls_go_through_psycopg_3(given: str, used: str) -> None:
    assert database_url(given).render_as_string() == used


@pytest.mark.parametrize(
    "given", ["mysql://u@h/db", "postgresql+psycopg2://u@h/db", "not a url", ""]
)
def test_other_databases_are_refused(given: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        database_url(given)
    assert refused.value.field == "database"


def test_messages_show_urls_without_the_password() -> None:
    assert display_url("postgresql://u:hunter2@h/db") == "postgresql+psycopg://u:***@h/db"


def test_a_sqlite_file_gets_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "seatledger.db"
    migrate(f"sqlite:///{path}")
    assert path.is_file()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    try:
        with engine.connect() as conn:
            pragma = {
                name: conn.execute(text(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
    finally:
        engine.dispose()
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30_000}
    assert SQLITE_BUSY_TIMEOUT_MS == 30_000


def test_a_missing_parent_row_is_refused(uow: SqlUnitOfWork, clock: ManualClock) -> None:
    """Foreign keys are on for SQLite too: a workspace of an unknown account cannot exist."""
    from seatledger.service.ports import Workspace

    with uow, pytest.raises(DBAPIError):
        uow.workspaces.add(Workspace("acc_nobody", "ws_1", "main", clock.now()))


def test_a_read_only_unit_refuses_to_write(engine: Engine, clock: ManualClock) -> None:
    with SqlUnitOfWork(engine, read_only=True) as reader, pytest.raises(DBAPIError):
        reader.accounts.add(Account("acc_1", "One", clock.now()))
    with SqlUnitOfWork(engine) as writer:
        writer.accounts.add(Account("acc_1", "One", clock.now()))
        writer.commit()
    with SqlUnitOfWork(engine, read_only=True) as reader:
        assert reader.accounts.get("acc_1").name == "One"


def test_a_read_only_unit_does_not_wait_for_a_writer(engine: Engine, clock: ManualClock) -> None:
    """WAL and a deferred BEGIN: a page can be read while a seat change holds the write lock."""
    with SqlUnitOfWork(engine) as writer:
        writer.accounts.add(Account("acc_1", "One", clock.now()))
        writer.commit()
    read: list[str] = []
    with SqlUnitOfWork(engine) as writer:
        writer.accounts.add(Account("acc_2", "Two", clock.now()))  # holds the write lock now

        def read_names() -> None:
            with SqlUnitOfWork(engine, read_only=True) as reader:
                read.append(reader.accounts.get("acc_1").name)

        thread = threading.Thread(target=read_names)
        thread.start()
        thread.join(timeout=5)
        assert not thread.is_alive(), "the reader waited for the writer"
        writer.commit()
    assert read == ["One"]
