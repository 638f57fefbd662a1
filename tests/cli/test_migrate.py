"""``seatledger migrate`` and the refusal to run on a database that is not migrated, on SQLite and
PostgreSQL: the refusal says what to run, and running it makes the same database work."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from typer.testing import CliRunner

from seatledger.bootstrap import bootstrap
from seatledger.cli.main import app
from seatledger.service import accounts
from seatledger.service.ports import DatabaseNotMigrated
from seatledger.store import display_url, make_engine, migrate
from seatledger.store.migration import alembic_config, head_revisions

runner = CliRunner()


@pytest.fixture
def unmigrated_url(database_url: str) -> Iterator[str]:
    """The test's database taken back to empty (no tables, no revision); migrated again after."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "base")
    finally:
        engine.dispose()
    yield database_url
    migrate(database_url)


def test_an_unmigrated_database_is_refused_with_what_to_run_and_migrate_fixes_it(
    unmigrated_url: str,
) -> None:
    shown = display_url(unmigrated_url)
    with pytest.raises(DatabaseNotMigrated) as refused:
        bootstrap(unmigrated_url)
    assert str(refused.value) == (
        f"The database at {shown} is not migrated: run `seatledger migrate --database {shown}`"
    )

    result = runner.invoke(app, ["migrate", "--database", unmigrated_url])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Migrated {shown}"
    runtime = bootstrap(unmigrated_url)
    try:
        account_id = accounts.create_account(runtime, name="After migrating")
        with runtime.uow() as uow:
            assert uow.accounts.get(account_id).name == "After migrating"
    finally:
        runtime.dispose()


def test_a_missing_sqlite_file_is_refused_without_creating_it(tmp_path: Path) -> None:
    path = tmp_path / "data" / "seatledger.db"
    url = f"sqlite:///{path}"

    with pytest.raises(DatabaseNotMigrated, match=r"run `seatledger migrate --database sqlite"):
        bootstrap(url)
    assert not path.exists()

    result = runner.invoke(app, ["migrate"], env={"SEATLEDGER_DATABASE_URL": url})

    assert result.exit_code == 0, result.output
    assert path.exists()
    bootstrap(url).dispose()


def test_migrating_twice_changes_nothing(database_url: str) -> None:
    for _ in range(2):
        result = runner.invoke(app, ["migrate", "--database", database_url])
        assert result.exit_code == 0, result.output
    bootstrap(database_url).dispose()


def test_a_command_on_an_unmigrated_database_exits_2_with_the_same_advice(
    unmigrated_url: str,
) -> None:
    result = runner.invoke(app, ["billing", "run", "--database", unmigrated_url])

    assert result.exit_code == 2
    shown = display_url(unmigrated_url)
    assert result.output.strip().splitlines() == [
        f"seatledger: The database at {shown} is not migrated: run `seatledger migrate "
        f"--database {shown}`"
    ]


def test_migrating_a_database_of_a_newer_version_asks_for_an_upgrade(database_url: str) -> None:
    """Regression: `seatledger migrate` on a database written by a newer seatledger crashed with
    Alembic's traceback ("Can't locate revision") instead of saying what to do."""
    (head,) = head_revisions()
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'f00dcafe'"))

        result = runner.invoke(app, ["migrate", "--database", database_url])

        shown = display_url(database_url)
        assert result.exit_code == 2, result.output
        assert result.output.strip().splitlines() == [
            f"seatledger: The database at {shown} is at revision f00dcafe, which this version "
            "of seatledger does not know: upgrade seatledger"
        ]
        with engine.connect() as conn:  # refused before touching anything
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == (
                "f00dcafe"
            )
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        engine.dispose()
    bootstrap(database_url).dispose()


def test_a_url_of_another_database_is_refused_in_one_line() -> None:
    result = runner.invoke(app, ["migrate", "--database", "mysql://db/seats"])

    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "seatledger: invalid_input: database: must be a sqlite:/// or postgresql:// URL, got "
        "'mysql://db/seats'"
    ]
