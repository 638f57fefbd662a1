"""The billing run's claim index in claim order.

``claim_due`` selects active subscriptions off the wall clock whose period has ended, ordered by
(period_end, account_id, id), a batch at a time. The index on (status, period_end) made every claim
sort all due subscriptions again; a partial index in claim order lets it read the batch off the
front.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DUE = "status = 'active' AND test_clock_id IS NULL"


def upgrade() -> None:
    op.drop_index("ix_subscriptions_due", table_name="subscriptions")
    op.create_index(
        "ix_subscriptions_due",
        "subscriptions",
        ["period_end", "account_id", "id"],
        postgresql_where=sa.text(_DUE),
        sqlite_where=sa.text(_DUE),
    )


def downgrade() -> None:
    op.drop_index("ix_subscriptions_due", table_name="subscriptions")
    op.create_index("ix_subscriptions_due", "subscriptions", ["status", "period_end"])
