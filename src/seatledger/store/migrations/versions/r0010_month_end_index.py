"""The month-end index holds only subscriptions that have a month end.

``ix_subscriptions_month_end`` held every active subscription off a test clock, most of them with
no month end at all (only ``on_increase: monthly`` sets one). With the same predicate as
``ix_subscriptions_due`` it could also serve the billing run's claim of ended periods, and
PostgreSQL, with statistics left from before a run renewed every row, chose it there: it read
every subscription and sorted them for each batch. With ``month_end_at IS NOT NULL`` in its
predicate it is small, and only a query about month ends can use it.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DUE = "status = 'active' AND test_clock_id IS NULL"
_WITH_MONTH_END = f"{_DUE} AND month_end_at IS NOT NULL"


def upgrade() -> None:
    _recreate(_WITH_MONTH_END)


def downgrade() -> None:
    _recreate(_DUE)


def _recreate(where: str) -> None:
    op.drop_index("ix_subscriptions_month_end", table_name="subscriptions")
    op.create_index(
        "ix_subscriptions_month_end",
        "subscriptions",
        ["month_end_at"],
        postgresql_where=sa.text(where),
        sqlite_where=sa.text(where),
    )
