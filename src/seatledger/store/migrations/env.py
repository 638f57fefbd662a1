"""Alembic environment: runs on the connection ``seatledger.store.migration`` hands over.

The caller owns the transaction (``engine.begin()``), so an upgrade is all or nothing on
PostgreSQL and on SQLite alike.
"""

from __future__ import annotations

from alembic import context

from seatledger.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "seatledger migrations run through seatledger.store.migration (migrate, or "
        "alembic_config(connection) for new revisions), which provides the connection"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things; batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
