"""Seat intervals: who held a seat (or a free place), where, in which role, from when to when.

One row per (person, workspace, role, scope) holding and stretch of time, with the reasons it
started and ended; people by person id only, so an erased person leaves no address behind.
Subscriptions that existed before this revision have no intervals for the time before it.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=64), nullable=nullable)


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "seat_intervals",
        _id("account_id"),
        _id("id"),
        _id("subscription_id"),
        _id("person_id"),
        _id("workspace_id"),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        _at("started_at"),
        sa.Column("start_reason", sa.String(length=32), nullable=False),
        _at("ended_at", nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.CheckConstraint("kind IN ('seat', 'free')", name=op.f("ck_seat_intervals_kind")),
        sa.ForeignKeyConstraint(
            ["account_id", "subscription_id"],
            ["subscriptions.account_id", "subscriptions.id"],
            name=op.f("fk_seat_intervals_subscriptions"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "person_id"],
            ["persons.account_id", "persons.id"],
            name=op.f("fk_seat_intervals_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "workspace_id"],
            ["workspaces.account_id", "workspaces.id"],
            name=op.f("fk_seat_intervals_workspaces"),
        ),
        sa.PrimaryKeyConstraint("account_id", "id", name=op.f("pk_seat_intervals")),
    )
    op.create_index(
        "ix_seat_intervals_subscription",
        "seat_intervals",
        ["account_id", "subscription_id", "started_at"],
    )


def downgrade() -> None:
    op.drop_table("seat_intervals")  # its index goes with it
