"""API keys, webhook endpoints and webhook deliveries.

``api_keys`` keeps each key's SHA-256 hash, never the secret. ``webhook_endpoints`` are the URLs
an account's events go to; ``webhook_deliveries`` holds one row per (endpoint, outbox event) with
its attempts, so each endpoint receives each event once and in order.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=64), nullable=nullable)


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id"], ["accounts.id"], name=op.f(f"fk_{table}_accounts")
    )


def upgrade() -> None:
    op.create_table(
        "api_keys",
        _id("account_id"),
        _id("id"),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        _id("person_id", nullable=True),
        _at("created_at"),
        _at("revoked_at", nullable=True),
        _account_fk("api_keys"),
        sa.ForeignKeyConstraint(
            ["account_id", "person_id"],
            ["persons.account_id", "persons.id"],
            name=op.f("fk_api_keys_persons"),
        ),
        sa.PrimaryKeyConstraint("account_id", "id", name=op.f("pk_api_keys")),
    )
    op.create_table(
        "webhook_endpoints",
        _id("account_id"),
        _id("id"),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        _at("created_at"),
        _at("disabled_at", nullable=True),
        _account_fk("webhook_endpoints"),
        sa.PrimaryKeyConstraint("account_id", "id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_table(
        "webhook_deliveries",
        _id("account_id"),
        _id("endpoint_id"),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _at("next_attempt_at"),
        _at("lease_until", nullable=True),
        _at("created_at"),
        _at("delivered_at", nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')",
            name=op.f("ck_webhook_deliveries_status"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "endpoint_id"],
            ["webhook_endpoints.account_id", "webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_webhook_endpoints"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "event_seq"],
            ["webhook_outbox.account_id", "webhook_outbox.seq"],
            name=op.f("fk_webhook_deliveries_webhook_outbox"),
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "endpoint_id", "event_seq", name=op.f("pk_webhook_deliveries")
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )


def downgrade() -> None:
    for table in ("webhook_deliveries", "webhook_endpoints", "api_keys"):
        op.drop_table(table)  # indexes go with their table
