"""Peak and true-up billing: the peak of seats used, kept on the subscription.

``subscriptions`` gains ``seats_peak`` (the most seats used since ``peak_since``) and
``peak_since`` (the period start, or the last true-up reconciliation), read by ``billing_basis:
peak | true_up``. Both are NULL for existing subscriptions (all billed on ``purchased``; the
policy key is new).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns: a plain ADD COLUMN on both databases, no table rebuilt on SQLite.
    op.add_column("subscriptions", sa.Column("seats_peak", sa.Integer(), nullable=True))
    op.add_column(
        "subscriptions", sa.Column("peak_since", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as table:
        table.drop_column("peak_since")
        table.drop_column("seats_peak")
