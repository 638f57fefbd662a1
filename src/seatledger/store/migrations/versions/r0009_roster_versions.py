"""Memberships carry the subscription version that last changed them.

``memberships`` gains ``roster_version``: the version of the covering subscription whose change
last inserted or updated the row (a change of the member's grants updates it too). A process that
knows the roster at an earlier version reads only the rows stamped after it, instead of the whole
roster (``store/repositories/rosters.py``). Existing rows get 0: older than any version a process
can have kept.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A constant default: a plain ADD COLUMN on both databases, no table rebuilt on SQLite.
    op.add_column(
        "memberships",
        sa.Column("roster_version", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("memberships") as table:
        table.drop_column("roster_version")
