"""Fair billing: each seat holder's last reported activity (``inactive_after``).

``member_activity`` holds, per (subscription, person), the last instant activity was reported and
the instant fair billing stopped billing the person (NULL while billed). Only subscriptions whose
policy has ``inactive_after`` get rows; existing members of such a subscription get theirs at its
next change, their activity counted from then.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=64), nullable=False)


def upgrade() -> None:
    op.create_table(
        "member_activity",
        _id("account_id"),
        _id("subscription_id"),
        _id("person_id"),
        sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("inactive_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id", "subscription_id"],
            ["subscriptions.account_id", "subscriptions.id"],
            name=op.f("fk_member_activity_subscriptions"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "person_id"],
            ["persons.account_id", "persons.id"],
            name=op.f("fk_member_activity_persons"),
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "subscription_id", "person_id", name=op.f("pk_member_activity")
        ),
    )


def downgrade() -> None:
    op.drop_table("member_activity")
