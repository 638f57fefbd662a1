"""Migrations: they build exactly the tables' metadata, and an unmigrated database is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from seatledger.service.ports import DatabaseNotMigrated
from seatledger.store import check_migrated, make_engine, migrate
from seatledger.store.migration import alembic_config, head_revisions
from seatledger.store.tables import metadata


def schema_differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_the_migrated_schema_is_the_metadata(database_url: str, engine: Engine) -> None:
    check_migrated(database_url)
    assert schema_differences(engine) == []


def test_migrating_again_changes_nothing(database_url: str, engine: Engine) -> None:
    migrate(database_url)
    check_migrated(database_url)
    assert schema_differences(engine) == []


def test_a_database_taken_back_to_empty_is_refused_until_migrated(
    database_url: str, engine: Engine
) -> None:
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    try:
        with pytest.raises(DatabaseNotMigrated) as refused:
            check_migrated(database_url)
        assert "is not migrated: run `seatledger migrate --database " in str(refused.value)
        assert refused.value.current == ()
        assert refused.value.head == head_revisions()
        with engine.connect() as conn:
            assert set(metadata.tables).isdisjoint(engine.dialect.get_table_names(conn))
    finally:
        migrate(database_url)
    check_migrated(database_url)
    assert schema_differences(engine) == []


def test_a_database_from_a_newer_version_asks_for_an_upgrade(
    database_url: str, engine: Engine
) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dcafe'"))
    try:
        with pytest.raises(DatabaseNotMigrated) as refused:
            check_migrated(database_url)
        assert refused.value.unknown
        assert "at revision f00dcafe, which this version of seatledger does not know" in str(
            refused.value
        )
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE alembic_version SET version_num = :head"),
                {"head": head_revisions()[0]},
            )
    check_migrated(database_url)


def test_a_missing_sqlite_file_is_not_migrated_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nothing-here.db"
    url = f"sqlite:///{path}"
    with pytest.raises(DatabaseNotMigrated) as refused:
        check_migrated(url)
    assert str(refused.value) == (
        f"The database at {url} is not migrated: run `seatledger migrate --database {url}`"
    )
    assert not path.exists()
    migrate(url)
    check_migrated(url)


def test_an_empty_sqlite_file_is_not_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    make_engine(url).dispose()
    (tmp_path / "empty.db").touch()
    with pytest.raises(DatabaseNotMigrated):
        check_migrated(url)


@pytest.mark.postgres
def test_the_refusal_hides_the_password(postgres_database_url: str) -> None:
    # The throwaway server trusts local connections, so any password gets in.
    url = make_url(postgres_database_url).set(password="s3cret-pw")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM alembic_version"))
        with pytest.raises(DatabaseNotMigrated) as refused:
            check_migrated(url)
        assert "s3cret-pw" not in str(refused.value)
        assert "postgres:***@" in str(refused.value)
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO alembic_version (version_num) VALUES (:head)"),
                {"head": head_revisions()[0]},
            )
        engine.dispose()
    check_migrated(url)
