"""Test clocks, and issued invoices that never change.

``test_clocks`` holds each account's test clocks (``subscriptions.test_clock_id`` points at one).
Triggers refuse, on both databases, any change to an issued invoice (status other than ``draft``)
except its status, and any update or removal of its lines: corrections are credit notes.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every column of an invoice but ``status``: what an issued invoice may never change.
FROZEN_COLUMNS = (
    "account_id",
    "id",
    "subscription_id",
    "number",
    "kind",
    "reason",
    "period_start",
    "period_end",
    "currency",
    "total_minor",
    "issued_at",
    "created_at",
    "renewal_of",
)
MESSAGE = "an issued invoice never changes: issue a credit note instead"


def upgrade() -> None:
    op.create_table(
        "test_clocks",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("now_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_test_clocks_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "id", name=op.f("pk_test_clocks")),
    )
    issued_line = (
        "EXISTS (SELECT 1 FROM invoices WHERE invoices.account_id = OLD.account_id "
        "AND invoices.id = OLD.invoice_id AND invoices.status <> 'draft')"
    )
    if op.get_bind().dialect.name == "postgresql":
        old = ", ".join(f"OLD.{c}" for c in FROZEN_COLUMNS)
        new = ", ".join(f"NEW.{c}" for c in FROZEN_COLUMNS)
        op.execute(
            "CREATE FUNCTION seatledger_issued_invoice() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF OLD.status <> 'draft' AND ROW({old}) IS DISTINCT FROM ROW({new}) THEN "
            f"RAISE EXCEPTION '{MESSAGE}'; END IF; RETURN NEW; END $$"
        )
        op.execute(
            "CREATE TRIGGER invoices_issued_unchanged BEFORE UPDATE ON invoices "
            "FOR EACH ROW EXECUTE FUNCTION seatledger_issued_invoice()"
        )
        op.execute(
            "CREATE FUNCTION seatledger_issued_invoice_line() RETURNS trigger LANGUAGE plpgsql "
            f"AS $$ BEGIN IF {issued_line} THEN RAISE EXCEPTION '{MESSAGE}'; END IF; "
            # A BEFORE trigger writes the row it returns: NEW for an update, OLD for a delete.
            "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$"
        )
        op.execute(
            "CREATE TRIGGER invoice_lines_issued_unchanged BEFORE UPDATE OR DELETE ON "
            "invoice_lines FOR EACH ROW EXECUTE FUNCTION seatledger_issued_invoice_line()"
        )
        return
    op.execute(
        "CREATE TRIGGER invoices_issued_unchanged BEFORE UPDATE OF "
        f"{', '.join(FROZEN_COLUMNS)} ON invoices WHEN OLD.status <> 'draft' "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    )
    for event in ("update", "delete"):
        op.execute(
            f"CREATE TRIGGER invoice_lines_issued_no_{event} BEFORE {event.upper()} ON "
            f"invoice_lines WHEN {issued_line} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER invoice_lines_issued_unchanged ON invoice_lines")
        op.execute("DROP TRIGGER invoices_issued_unchanged ON invoices")
        op.execute("DROP FUNCTION seatledger_issued_invoice_line()")
        op.execute("DROP FUNCTION seatledger_issued_invoice()")
    else:
        op.execute("DROP TRIGGER invoice_lines_issued_no_delete")
        op.execute("DROP TRIGGER invoice_lines_issued_no_update")
        op.execute("DROP TRIGGER invoices_issued_unchanged")
    op.drop_table("test_clocks")
