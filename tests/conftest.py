"""Database fixtures shared by every test folder: a migrated, empty store on SQLite and PostgreSQL.

``database_url`` is parametrized ``[sqlite]`` / ``[postgres]``:

- SQLite: a fresh file per test in ``tmp_path``, copied from one migrated template per session.
- PostgreSQL: the server ``scripts/with-postgres`` starts (``SEATLEDGER_TEST_POSTGRES_URL``).
  Each pytest-xdist worker gets its own database ``<dbname>_<worker>`` (created and migrated on
  first use, dropped at the end), and every table is truncated before each test. Without the
  variable the PostgreSQL tests fail, never skip: run them through ``make test`` or
  ``scripts/with-postgres .venv/bin/pytest ...``, or leave them out explicitly with
  ``-m "not postgres"``.

``postgres_database_url`` is the PostgreSQL one alone, for PostgreSQL-only behaviour.
``engine`` and ``uow`` build on ``database_url``; ``clock`` is a ``ManualClock`` at a fixed
instant (tests never read today's date).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from seatledger.clock import ManualClock
from seatledger.store import SqlUnitOfWork, make_engine, migrate
from seatledger.store import database_url as parse_database_url
from seatledger.store.tables import metadata

POSTGRES_ENV = "SEATLEDGER_TEST_POSTGRES_URL"
CLOCK_START = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per session; each test works on a copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "seatledger.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """This worker's own migrated PostgreSQL database."""
    admin = os.environ.get(POSTGRES_ENV, "").strip()
    if not admin:
        pytest.fail(
            f"{POSTGRES_ENV} is not set: run the PostgreSQL tests through `make test` or "
            '`scripts/with-postgres .venv/bin/pytest ...`, or deselect them with -m "not postgres".'
        )
    admin_url = parse_database_url(admin)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "master")
    name = f"{admin_url.database}_{worker}"
    server = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin_url.set(database=name).render_as_string(hide_password=False)
        migrate(url)
        yield url
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        server.dispose()


def _truncate_all(url: str) -> None:
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    engine = create_engine(make_url(url))
    try:
        with engine.begin() as conn:
            # RESTART IDENTITY resets the sequences the logs draw their numbers from.
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated database: a SQLite file or this worker's PostgreSQL one."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "seatledger.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _truncate_all(url)
    return url


@pytest.fixture
def postgres_database_url(postgres_url: str) -> str:
    """An empty, migrated PostgreSQL database, for tests of what only PostgreSQL does (row locks
    that other transactions skip); mark those tests ``@pytest.mark.postgres``."""
    _truncate_all(postgres_url)
    return postgres_url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def uow(engine: Engine) -> SqlUnitOfWork:
    return SqlUnitOfWork(engine)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(CLOCK_START)
