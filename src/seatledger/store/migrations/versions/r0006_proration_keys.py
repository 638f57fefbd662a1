"""Proration keys: what a period invoiced and credited for seats, and the monthly billing instant.

``subscriptions`` gains ``seats_invoiced`` / ``seats_credited`` (minor units),
``seats_invoiced_shares`` (the seat shares bought, an exact fraction ``"n/d"``) and
``seats_invoiced_for`` (the period start they belong to), read by ``proration.credit_basis:
invoiced``; and ``month_end_at``, the month end that bills pending increases under
``proration.on_increase: monthly`` (indexed, as the billing run's claim reads it). All are NULL for
subscriptions that existed before this revision: their current period credits on the price, and
they have no pending monthly increases to bill.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The billing run's claim looks only at active subscriptions off the wall clock (as 0005's index).
_DUE = "status = 'active' AND test_clock_id IS NULL"


def _at(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    # Nullable columns: a plain ADD COLUMN on both databases, no table rebuilt on SQLite.
    op.add_column("subscriptions", sa.Column("seats_invoiced", sa.BigInteger(), nullable=True))
    op.add_column("subscriptions", sa.Column("seats_credited", sa.BigInteger(), nullable=True))
    op.add_column(
        "subscriptions", sa.Column("seats_invoiced_shares", sa.String(length=200), nullable=True)
    )
    op.add_column("subscriptions", _at("seats_invoiced_for"))
    op.add_column("subscriptions", _at("month_end_at"))
    op.create_index(
        "ix_subscriptions_month_end",
        "subscriptions",
        ["month_end_at"],
        postgresql_where=sa.text(_DUE),
        sqlite_where=sa.text(_DUE),
    )


def downgrade() -> None:
    op.drop_index("ix_subscriptions_month_end", table_name="subscriptions")
    with op.batch_alter_table("subscriptions") as table:
        table.drop_column("month_end_at")
        table.drop_column("seats_invoiced_for")
        table.drop_column("seats_invoiced_shares")
        table.drop_column("seats_credited")
        table.drop_column("seats_invoiced")
