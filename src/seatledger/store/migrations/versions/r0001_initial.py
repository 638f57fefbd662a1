"""Initial schema: accounts, workspaces, people, subscriptions, rosters, ledger, billing, audit.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("seat_ledger", "audit_log", "credit_entries")
SEQUENCES = ("audit_log", "webhook_outbox", "credit_entries")


def _id(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=64), nullable=nullable)


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _int(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=False)


def _minor(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def _kind(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=32), nullable=False)


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id"], ["accounts.id"], name=op.f(f"fk_{table}_accounts")
    )


def upgrade() -> None:
    op.create_table(
        "accounts",
        _id("id"),
        sa.Column("name", sa.String(length=200), nullable=False),
        _at("created_at"),
        sa.Column("invoice_counter", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "workspaces",
        _id("account_id"),
        _id("id"),
        sa.Column("name", sa.String(length=200), nullable=False),
        _at("created_at"),
        _account_fk("workspaces"),
        sa.PrimaryKeyConstraint("account_id", "id", name=op.f("pk_workspaces")),
        sa.UniqueConstraint("account_id", "name", name="uq_workspaces_name"),
    )
    op.create_table(
        "persons",
        _id("account_id"),
        _id("id"),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        _at("created_at"),
        _at("erased_at", nullable=True),
        _account_fk("persons"),
        sa.PrimaryKeyConstraint("account_id", "id", name=op.f("pk_persons")),
        sa.UniqueConstraint("account_id", "email", name="uq_persons_email"),
    )
    op.create_table(
        "subscriptions",
        _id("account_id"),
        _id("id"),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("preset", sa.String(length=64), nullable=True),
        _kind("status"),
        _at("anchor_at"),
        _kind("interval"),
        _at("period_start"),
        _at("period_end"),
        _int("seats_total"),
        _int("seats_at_renewal"),
        _int("seats_paid"),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        _at("canceled_at", nullable=True),
        _id("test_clock_id", nullable=True),
        _int("version"),
        _at("created_at"),
        sa.CheckConstraint(
            "status IN ('active', 'canceled')", name=op.f("ck_subscriptions_status")
        ),
        sa.CheckConstraint(
            "seats_total >= 0 AND seats_at_renewal >= 0 AND seats_paid >= 0",
            name=op.f("ck_subscriptions_seats"),
        ),
        sa.CheckConstraint("period_end > period_start", name=op.f("ck_subscriptions_period")),
        _account_fk("subscriptions"),
        sa.PrimaryKeyConstraint("account_id", "id", name=op.f("pk_subscriptions")),
    )
    op.create_index("ix_subscriptions_due", "subscriptions", ["status", "period_end"])
    op.create_table(
        "subscription_workspaces",
        _id("account_id"),
        _id("workspace_id"),
        _id("subscription_id"),
        sa.ForeignKeyConstraint(
            ["account_id", "subscription_id"],
            ["subscriptions.account_id", "subscriptions.id"],
            name=op.f("fk_subscription_workspaces_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "workspace_id"],
            ["workspaces.account_id", "workspaces.id"],
            name=op.f("fk_subscription_workspaces_workspaces"),
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "workspace_id", name=op.f("pk_subscription_workspaces")
        ),
    )
    op.create_index(
        "ix_subscription_workspaces_subscription",
        "subscription_workspaces",
        ["account_id", "subscription_id"],
    )
    op.create_table(
        "memberships",
        _id("account_id"),
        _id("workspace_id"),
        _id("person_id"),
        _kind("status"),
        _at("created_at"),
        _at("updated_at"),
        _at("status_changed_at"),
        sa.CheckConstraint(
            "status IN ('pending', 'active', 'deactivated')", name=op.f("ck_memberships_status")
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "person_id"],
            ["persons.account_id", "persons.id"],
            name=op.f("fk_memberships_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "workspace_id"],
            ["workspaces.account_id", "workspaces.id"],
            name=op.f("fk_memberships_workspaces"),
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "workspace_id", "person_id", name=op.f("pk_memberships")
        ),
    )
    op.create_index("ix_memberships_person", "memberships", ["account_id", "person_id"])
    op.create_table(
        "role_assignments",
        _id("account_id"),
        _id("workspace_id"),
        _id("person_id"),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        _at("expires_at", nullable=True),
        _at("created_at"),
        sa.ForeignKeyConstraint(
            ["account_id", "workspace_id", "person_id"],
            ["memberships.account_id", "memberships.workspace_id", "memberships.person_id"],
            name=op.f("fk_role_assignments_memberships"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "account_id",
            "workspace_id",
            "person_id",
            "role",
            "scope",
            name=op.f("pk_role_assignments"),
        ),
    )
    op.create_table(
        "addons",
        _id("account_id"),
        _id("subscription_id"),
        sa.Column("name", sa.String(length=64), nullable=False),
        _int("count"),
        _at("updated_at"),
        sa.CheckConstraint("count > 0", name=op.f("ck_addons_count")),
        sa.ForeignKeyConstraint(
            ["account_id", "subscription_id"],
            ["subscriptions.account_id", "subscriptions.id"],
            name=op.f("fk_addons_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "subscription_id", "name", name=op.f("pk_addons")),
    )
    op.create_table(
        "seat_ledger",
        _id("account_id"),
        _id("subscription_id"),
        _int("seq"),
        _at("at"),
        sa.Column("kind", sa.String(length=64), nullable=False),
        _int("seats_total"),
        _int("seats_used"),
        _int("seats_at_renewal"),
        _int("seats_paid"),
        _id("person_id", nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id", "person_id"],
            ["persons.account_id", "persons.id"],
            name=op.f("fk_seat_ledger_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "subscription_id"],
            ["subscriptions.account_id", "subscriptions.id"],
            name=op.f("fk_seat_ledger_subscriptions"),
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "subscription_id", "seq", name=op.f("pk_seat_ledger")
        ),
    )
    op.create_table(
        "invoices",
        _id("account_id"),
        _id("id"),
        _id("subscription_id"),
        _int("number"),
        _kind("kind"),
        _kind("status"),
        _kind("reason"),
        _at("period_start"),
        _at("period_end"),
        sa.Column("currency", sa.String(length=3), nullable=False),
        _minor("total_minor"),
        _at("issued_at", nullable=True),
        _at("created_at"),
        _at("renewal_of", nullable=True),
        sa.CheckConstraint("kind IN ('invoice', 'credit_note')", name=op.f("ck_invoices_kind")),
        sa.CheckConstraint(
            "status IN ('draft', 'open', 'paid', 'void')", name=op.f("ck_invoices_status")
        ),
        sa.CheckConstraint(
            "renewal_of IS NULL OR renewal_of = period_start", name=op.f("ck_invoices_renewal_of")
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "subscription_id"],
            ["subscriptions.account_id", "subscriptions.id"],
            name=op.f("fk_invoices_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("account_id", "id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("account_id", "number", name="uq_invoices_number"),
        sa.UniqueConstraint(
            "account_id", "subscription_id", "kind", "renewal_of", name="uq_invoices_renewal"
        ),
    )
    op.create_index("ix_invoices_subscription", "invoices", ["account_id", "subscription_id"])
    op.create_table(
        "invoice_lines",
        _id("account_id"),
        _id("invoice_id"),
        _int("position"),
        _kind("kind"),
        sa.Column("description", sa.String(length=500), nullable=False),
        _int("quantity"),
        _minor("unit_amount_minor"),
        _minor("amount_minor"),
        _at("period_start"),
        _at("period_end"),
        sa.ForeignKeyConstraint(
            ["account_id", "invoice_id"],
            ["invoices.account_id", "invoices.id"],
            name=op.f("fk_invoice_lines_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "invoice_id", "position", name=op.f("pk_invoice_lines")
        ),
    )
    op.create_table(
        "pending_lines",
        _id("account_id"),
        _id("id"),
        _id("subscription_id"),
        _kind("kind"),
        sa.Column("description", sa.String(length=500), nullable=False),
        _int("quantity"),
        sa.Column("currency", sa.String(length=3), nullable=False),
        _minor("unit_amount_minor"),
        _minor("amount_minor"),
        _at("period_start"),
        _at("period_end"),
        _at("created_at"),
        _id("invoice_id", nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id", "invoice_id"],
            ["invoices.account_id", "invoices.id"],
            name=op.f("fk_pending_lines_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "subscription_id"],
            ["subscriptions.account_id", "subscriptions.id"],
            name=op.f("fk_pending_lines_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("account_id", "id", name=op.f("pk_pending_lines")),
    )
    op.create_index(
        "ix_pending_lines_subscription", "pending_lines", ["account_id", "subscription_id"]
    )
    op.create_table(
        "credit_entries",
        _id("account_id"),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        _at("at"),
        _minor("amount_minor"),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        _id("invoice_id", nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id", "invoice_id"],
            ["invoices.account_id", "invoices.id"],
            name=op.f("fk_credit_entries_invoices"),
        ),
        _account_fk("credit_entries"),
        sa.PrimaryKeyConstraint("account_id", "seq", name=op.f("pk_credit_entries")),
    )
    op.create_table(
        "audit_log",
        _id("account_id"),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        _at("at"),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("before", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("after", sa.JSON(none_as_null=True), nullable=True),
        _account_fk("audit_log"),
        sa.PrimaryKeyConstraint("account_id", "seq", name=op.f("pk_audit_log")),
    )
    op.create_table(
        "idempotency_keys",
        _id("account_id"),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=128), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        _at("created_at"),
        _account_fk("idempotency_keys"),
        sa.PrimaryKeyConstraint("account_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "webhook_outbox",
        _id("account_id"),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        _at("created_at"),
        _at("delivered_at", nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _account_fk("webhook_outbox"),
        sa.PrimaryKeyConstraint("account_id", "seq", name=op.f("pk_webhook_outbox")),
    )
    op.create_index("ix_webhook_outbox_delivered_at", "webhook_outbox", ["delivered_at"])

    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        # Numbers for the per-account logs; OWNED BY so TRUNCATE ... RESTART IDENTITY resets them.
        for table in SEQUENCES:
            op.execute(f"CREATE SEQUENCE {table}_seq OWNED BY {table}.seq")
        op.execute(
            "CREATE FUNCTION seatledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only: rows are never updated or deleted', "
            "TG_TABLE_NAME; END $$"
        )
    for table in APPEND_ONLY:
        if postgres:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION seatledger_append_only()"
            )
        else:
            for event in ("update", "delete"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event} BEFORE {event.upper()} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: rows are never "
                    "updated or deleted'); END"
                )


def downgrade() -> None:
    for table in (
        "webhook_outbox",
        "idempotency_keys",
        "audit_log",
        "credit_entries",
        "pending_lines",
        "invoice_lines",
        "invoices",
        "seat_ledger",
        "addons",
        "role_assignments",
        "memberships",
        "subscription_workspaces",
        "subscriptions",
        "persons",
        "workspaces",
        "accounts",
    ):
        op.drop_table(table)  # indexes, triggers and owned sequences go with their table
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION seatledger_append_only()")
