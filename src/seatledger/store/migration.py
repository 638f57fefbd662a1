"""Schema migrations (Alembic), shipped inside the package and run from code.

``migrate(url)`` upgrades a database to the newest revision in one transaction;
``check_migrated(url)`` refuses to serve a database whose schema is behind (or ahead).

A new revision, after changing ``tables.py``::

    from alembic import command
    from seatledger.store.engine import make_engine
    from seatledger.store.migration import alembic_config

    with make_engine("sqlite:////tmp/draft.db").begin() as conn:
        command.upgrade(alembic_config(conn), "head")
        command.revision(alembic_config(conn), "what changed", autogenerate=True)

then review the generated file in ``migrations/versions`` (name it ``rNNNN_what.py``).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.engine import URL

from seatledger.service.ports import DatabaseNotMigrated
from seatledger.store.engine import READ_ONLY, database_url, display_url, make_engine

SCRIPT_LOCATION = "seatledger.store:migrations"


def alembic_config(connection: Connection) -> Config:
    """An Alembic configuration that runs the packaged migrations on ``connection``."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def head_revisions() -> tuple[str, ...]:
    script = ScriptDirectory.from_config(_script_config())
    return tuple(sorted(script.get_heads()))


def migrate(url: str | URL) -> None:
    """Upgrade the database at ``url`` to the newest schema (creating it from empty), atomically.

    A database at a revision this version does not know (written by a newer seatledger) is left
    untouched and refused with ``DatabaseNotMigrated(unknown=True)``: upgrading seatledger helps,
    migrating cannot.
    """
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            current = tuple(sorted(MigrationContext.configure(connection).get_current_heads()))
            if any(revision not in _known_revisions() for revision in current):
                raise DatabaseNotMigrated(
                    display_url(url), current=current, head=head_revisions(), unknown=True
                )
            command.upgrade(alembic_config(connection), "head")
    finally:
        engine.dispose()


def check_migrated(url: str | URL) -> None:
    """Raise ``DatabaseNotMigrated`` unless the database at ``url`` is at the newest schema."""
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite" and not _sqlite_file_exists(parsed):
        # Reading would create an empty file; a missing file is simply not migrated.
        current: tuple[str, ...] = ()
    else:
        engine = make_engine(parsed)
        try:
            with engine.connect() as connection:
                connection.execution_options(**{READ_ONLY: True})
                context = MigrationContext.configure(connection)
                current = tuple(sorted(context.get_current_heads()))
        finally:
            engine.dispose()
    head = head_revisions()
    if current == head:
        return
    raise DatabaseNotMigrated(
        display_url(url),
        current=current,
        head=head,
        unknown=any(rev not in _known_revisions() for rev in current),
    )


def _known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(_script_config())
    return {rev.revision for rev in script.walk_revisions()}


def _sqlite_file_exists(url: URL) -> bool:
    if url.database in (None, "", ":memory:"):
        return True
    assert url.database is not None
    return Path(url.database).expanduser().exists()


def _script_config() -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config
