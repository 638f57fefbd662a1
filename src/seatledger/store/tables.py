"""The tables (SQLAlchemy Core). The package docstring describes the schema in words.

Every key starts with ``account_id`` so the schema can be distributed by account (Citus) without
redesign; foreign keys carry it too. The Alembic migrations in ``migrations/versions`` must build
exactly this metadata (a test compares them on both databases).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Sequence,
    String,
    Table,
    UniqueConstraint,
    text,
)

from seatledger.store.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# Sizes are generous limits, not business rules: they keep a runaway value out of an index.
ID = 64
NAME = 200
EMAIL = 320
ROLE = 64
KIND = 32


def _id(name: str, *, nullable: bool = False) -> Column[str]:
    return Column(name, String(ID), nullable=nullable)


def _at(name: str, *, nullable: bool = False) -> Column[datetime]:
    return Column(name, UTCDateTime(), nullable=nullable)


def _count(name: str) -> Column[int]:
    return Column(name, Integer, nullable=False)


def _minor(name: str) -> Column[int]:
    return Column(name, BigInteger, nullable=False)


# Append-only tables numbered per account draw their numbers from one PostgreSQL sequence each:
# concurrent writers of one account never collide, and no lock is needed. SQLite serializes its
# writers, so there ``seq`` is the account's last number + 1.
audit_log_seq = Sequence("audit_log_seq", metadata=metadata)
webhook_outbox_seq = Sequence("webhook_outbox_seq", metadata=metadata)
credit_entries_seq = Sequence("credit_entries_seq", metadata=metadata)

accounts = Table(
    "accounts",
    metadata,
    _id("id"),
    Column("name", String(NAME), nullable=False),
    _at("created_at"),
    # The last invoice number given: bumped in the invoice's transaction, so a rollback gives the
    # number back and numbers stay gapless; the row lock serializes an account's invoicing.
    Column("invoice_counter", Integer, nullable=False, server_default=text("0")),
    PrimaryKeyConstraint("id"),
)

workspaces = Table(
    "workspaces",
    metadata,
    _id("account_id"),
    _id("id"),
    Column("name", String(NAME), nullable=False),
    _at("created_at"),
    PrimaryKeyConstraint("account_id", "id"),
    UniqueConstraint("account_id", "name", name="uq_workspaces_name"),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
)

persons = Table(
    "persons",
    metadata,
    _id("account_id"),
    _id("id"),
    # NULL once erased: NULLs do not collide in a unique key, on either database.
    Column("email", String(EMAIL), nullable=True),
    Column("display_name", String(NAME), nullable=True),
    _at("created_at"),
    _at("erased_at", nullable=True),
    PrimaryKeyConstraint("account_id", "id"),
    UniqueConstraint("account_id", "email", name="uq_persons_email"),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    _id("account_id"),
    _id("id"),
    Column("policy", JSON, nullable=False),
    Column("preset", String(ID), nullable=True),
    Column("status", String(KIND), nullable=False),
    _at("anchor_at"),
    Column("interval", String(KIND), nullable=False),
    _at("period_start"),
    _at("period_end"),
    _count("seats_total"),
    _count("seats_at_renewal"),
    _count("seats_paid"),
    Column("cancel_at_period_end", Boolean, nullable=False),
    _at("canceled_at", nullable=True),
    _id("test_clock_id", nullable=True),
    _count("version"),
    _at("created_at"),
    # What the period starting at seats_invoiced_for invoiced and credited for seats (minor units)
    # and the seat shares that bought ("n/d", exact), for proration.credit_basis: invoiced. A row
    # whose period moved on without them (NULL, or another period start) credits on the price.
    Column("seats_invoiced", BigInteger, nullable=True),
    Column("seats_credited", BigInteger, nullable=True),
    Column("seats_invoiced_shares", String(NAME), nullable=True),
    _at("seats_invoiced_for", nullable=True),
    # Under proration.on_increase: monthly, the month end that bills the pending increases.
    _at("month_end_at", nullable=True),
    # billing_basis peak / true_up: the most seats used since peak_since (the period start or the
    # last true-up reconciliation), kept exactly across restarts; NULL under purchased.
    Column("seats_peak", Integer, nullable=True),
    _at("peak_since", nullable=True),
    PrimaryKeyConstraint("account_id", "id"),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
    CheckConstraint("status IN ('active', 'canceled')", name="status"),
    CheckConstraint("seats_total >= 0 AND seats_at_renewal >= 0 AND seats_paid >= 0", name="seats"),
    CheckConstraint("period_end > period_start", name="period"),
    # The billing run claims active subscriptions off the wall clock whose period has ended, in
    # (period_end, account_id, id) order: an index in that order lets each claim read its batch
    # off the front instead of sorting every due subscription again (a million, batch after batch).
    Index(
        "ix_subscriptions_due",
        "period_end",
        "account_id",
        "id",
        postgresql_where=text("status = 'active' AND test_clock_id IS NULL"),
        sqlite_where=text("status = 'active' AND test_clock_id IS NULL"),
    ),
    # ... or whose month end bills pending increases (on_increase: monthly). Only rows with a
    # month end: with the predicate above, PostgreSQL could pick it for the claim of ended
    # periods, and read and sort every subscription per batch (migration 0010).
    Index(
        "ix_subscriptions_month_end",
        "month_end_at",
        postgresql_where=text(
            "status = 'active' AND test_clock_id IS NULL AND month_end_at IS NOT NULL"
        ),
        sqlite_where=text(
            "status = 'active' AND test_clock_id IS NULL AND month_end_at IS NOT NULL"
        ),
    ),
)

test_clocks = Table(
    "test_clocks",
    metadata,
    _id("account_id"),
    _id("id"),
    Column("name", String(NAME), nullable=False),
    # The clock's time: subscriptions attached to it (subscriptions.test_clock_id) live here.
    _at("now_at"),
    _at("created_at"),
    PrimaryKeyConstraint("account_id", "id"),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
)

subscription_workspaces = Table(
    "subscription_workspaces",
    metadata,
    _id("account_id"),
    _id("workspace_id"),
    _id("subscription_id"),
    # Keyed by workspace: a workspace belongs to at most one subscription.
    PrimaryKeyConstraint("account_id", "workspace_id"),
    ForeignKeyConstraint(
        ["account_id", "subscription_id"],
        ["subscriptions.account_id", "subscriptions.id"],
        ondelete="CASCADE",
    ),
    ForeignKeyConstraint(
        ["account_id", "workspace_id"], ["workspaces.account_id", "workspaces.id"]
    ),
    Index("ix_subscription_workspaces_subscription", "account_id", "subscription_id"),
)

memberships = Table(
    "memberships",
    metadata,
    _id("account_id"),
    _id("workspace_id"),
    _id("person_id"),
    Column("status", String(KIND), nullable=False),
    _at("created_at"),
    _at("updated_at"),
    _at("status_changed_at"),
    # The covering subscription's version whose change last wrote this row or its grants.
    Column("roster_version", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("account_id", "workspace_id", "person_id"),
    ForeignKeyConstraint(
        ["account_id", "workspace_id"], ["workspaces.account_id", "workspaces.id"]
    ),
    ForeignKeyConstraint(["account_id", "person_id"], ["persons.account_id", "persons.id"]),
    CheckConstraint("status IN ('pending', 'active', 'deactivated')", name="status"),
    Index("ix_memberships_person", "account_id", "person_id"),
    # Catching a kept roster up reads the rows written after its version (migration 0011).
    Index("ix_memberships_roster_version", "account_id", "workspace_id", "roster_version"),
)

role_assignments = Table(
    "role_assignments",
    metadata,
    _id("account_id"),
    _id("workspace_id"),
    _id("person_id"),
    Column("role", String(ROLE), nullable=False),
    # '' is "the whole workspace": a NULL could not take part in the primary key.
    Column("scope", String(NAME), nullable=False),
    _at("expires_at", nullable=True),
    _at("created_at"),
    PrimaryKeyConstraint("account_id", "workspace_id", "person_id", "role", "scope"),
    ForeignKeyConstraint(
        ["account_id", "workspace_id", "person_id"],
        ["memberships.account_id", "memberships.workspace_id", "memberships.person_id"],
        ondelete="CASCADE",
    ),
)

addons = Table(
    "addons",
    metadata,
    _id("account_id"),
    _id("subscription_id"),
    Column("name", String(ID), nullable=False),
    _count("count"),
    _at("updated_at"),
    PrimaryKeyConstraint("account_id", "subscription_id", "name"),
    ForeignKeyConstraint(
        ["account_id", "subscription_id"],
        ["subscriptions.account_id", "subscriptions.id"],
        ondelete="CASCADE",
    ),
    CheckConstraint("count > 0", name="count"),
)

seat_ledger = Table(
    "seat_ledger",
    metadata,
    _id("account_id"),
    _id("subscription_id"),
    _count("seq"),
    _at("at"),
    Column("kind", String(ROLE), nullable=False),
    _count("seats_total"),
    _count("seats_used"),
    _count("seats_at_renewal"),
    _count("seats_paid"),
    _id("person_id", nullable=True),
    Column("detail", JSON, nullable=False),
    PrimaryKeyConstraint("account_id", "subscription_id", "seq"),
    ForeignKeyConstraint(
        ["account_id", "subscription_id"], ["subscriptions.account_id", "subscriptions.id"]
    ),
    ForeignKeyConstraint(["account_id", "person_id"], ["persons.account_id", "persons.id"]),
)

invoices = Table(
    "invoices",
    metadata,
    _id("account_id"),
    _id("id"),
    _id("subscription_id"),
    _count("number"),
    Column("kind", String(KIND), nullable=False),
    Column("status", String(KIND), nullable=False),
    Column("reason", String(KIND), nullable=False),
    _at("period_start"),
    _at("period_end"),
    Column("currency", String(3), nullable=False),
    _minor("total_minor"),
    _at("issued_at", nullable=True),
    _at("created_at"),
    # The start of the period a renewal invoice bills, NULL for every other invoice. NULLs never
    # collide in a unique key, so one subscription can have many proration invoices in a period
    # but only one renewal invoice (of each kind) per period: a billing run killed and run again
    # cannot bill a period twice.
    _at("renewal_of", nullable=True),
    PrimaryKeyConstraint("account_id", "id"),
    UniqueConstraint("account_id", "number", name="uq_invoices_number"),
    UniqueConstraint(
        "account_id", "subscription_id", "kind", "renewal_of", name="uq_invoices_renewal"
    ),
    ForeignKeyConstraint(
        ["account_id", "subscription_id"], ["subscriptions.account_id", "subscriptions.id"]
    ),
    CheckConstraint("kind IN ('invoice', 'credit_note')", name="kind"),
    CheckConstraint("status IN ('draft', 'open', 'paid', 'void')", name="status"),
    CheckConstraint("renewal_of IS NULL OR renewal_of = period_start", name="renewal_of"),
    Index("ix_invoices_subscription", "account_id", "subscription_id"),
)

invoice_lines = Table(
    "invoice_lines",
    metadata,
    _id("account_id"),
    _id("invoice_id"),
    _count("position"),
    Column("kind", String(KIND), nullable=False),
    Column("description", String(500), nullable=False),
    _count("quantity"),
    _minor("unit_amount_minor"),
    _minor("amount_minor"),
    _at("period_start"),
    _at("period_end"),
    PrimaryKeyConstraint("account_id", "invoice_id", "position"),
    ForeignKeyConstraint(
        ["account_id", "invoice_id"], ["invoices.account_id", "invoices.id"], ondelete="CASCADE"
    ),
)

pending_lines = Table(
    "pending_lines",
    metadata,
    _id("account_id"),
    _id("id"),
    _id("subscription_id"),
    Column("kind", String(KIND), nullable=False),
    Column("description", String(500), nullable=False),
    _count("quantity"),
    Column("currency", String(3), nullable=False),
    _minor("unit_amount_minor"),
    _minor("amount_minor"),
    _at("period_start"),
    _at("period_end"),
    _at("created_at"),
    _id("invoice_id", nullable=True),
    PrimaryKeyConstraint("account_id", "id"),
    ForeignKeyConstraint(
        ["account_id", "subscription_id"], ["subscriptions.account_id", "subscriptions.id"]
    ),
    ForeignKeyConstraint(["account_id", "invoice_id"], ["invoices.account_id", "invoices.id"]),
    Index("ix_pending_lines_subscription", "account_id", "subscription_id"),
)

credit_entries = Table(
    "credit_entries",
    metadata,
    _id("account_id"),
    Column("seq", BigInteger, nullable=False),
    _at("at"),
    _minor("amount_minor"),
    Column("currency", String(3), nullable=False),
    Column("reason", String(NAME), nullable=False),
    _id("invoice_id", nullable=True),
    PrimaryKeyConstraint("account_id", "seq"),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
    ForeignKeyConstraint(["account_id", "invoice_id"], ["invoices.account_id", "invoices.id"]),
)

audit_log = Table(
    "audit_log",
    metadata,
    _id("account_id"),
    Column("seq", BigInteger, nullable=False),
    _at("at"),
    Column("actor", String(EMAIL), nullable=False),
    Column("action", String(ROLE), nullable=False),
    Column("target", String(NAME), nullable=False),
    Column("before", JSON(none_as_null=True), nullable=True),
    Column("after", JSON(none_as_null=True), nullable=True),
    PrimaryKeyConstraint("account_id", "seq"),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    _id("account_id"),
    Column("key", String(255), nullable=False),
    Column("request_hash", String(128), nullable=False),
    Column("response", JSON, nullable=False),
    _at("created_at"),
    PrimaryKeyConstraint("account_id", "key"),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
)

webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    _id("account_id"),
    Column("seq", BigInteger, nullable=False),
    Column("event_type", String(ROLE), nullable=False),
    Column("payload", JSON, nullable=False),
    _at("created_at"),
    _at("delivered_at", nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    PrimaryKeyConstraint("account_id", "seq"),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
    Index("ix_webhook_outbox_delivered_at", "delivered_at"),
)

# Rows of these tables are never changed or removed (database triggers refuse it).
APPEND_ONLY = (seat_ledger, audit_log, credit_entries)

HREF = 2048  # a URL, as browsers accept them

# API keys: only the SHA-256 of the secret is stored. A key bound to a person acts as them.
api_keys = Table(
    "api_keys",
    metadata,
    _id("account_id"),
    _id("id"),
    Column("name", String(NAME), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    _id("person_id", nullable=True),
    _at("created_at"),
    _at("revoked_at", nullable=True),
    PrimaryKeyConstraint("account_id", "id"),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
    ForeignKeyConstraint(["account_id", "person_id"], ["persons.account_id", "persons.id"]),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    _id("account_id"),
    _id("id"),
    Column("url", String(HREF), nullable=False),
    Column("secret", String(ID), nullable=False),
    Column("description", String(NAME), nullable=False),
    # A JSON list of event types; empty receives every event.
    Column("event_types", JSON, nullable=False),
    _at("created_at"),
    _at("disabled_at", nullable=True),
    PrimaryKeyConstraint("account_id", "id"),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
)

# One row per (endpoint, event): each endpoint gets each event once, in event order, whatever
# happens to the other endpoints of the account.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    _id("account_id"),
    _id("endpoint_id"),
    Column("event_seq", BigInteger, nullable=False),
    Column("status", String(KIND), nullable=False),
    _count("attempts"),
    _at("next_attempt_at"),
    _at("lease_until", nullable=True),
    _at("created_at"),
    _at("delivered_at", nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", String(500), nullable=True),
    PrimaryKeyConstraint("account_id", "endpoint_id", "event_seq"),
    ForeignKeyConstraint(
        ["account_id", "endpoint_id"], ["webhook_endpoints.account_id", "webhook_endpoints.id"]
    ),
    ForeignKeyConstraint(
        ["account_id", "event_seq"], ["webhook_outbox.account_id", "webhook_outbox.seq"]
    ),
    CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
    # The deliverer looks for pending deliveries whose next attempt has come.
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)

# The seat ledger's intervals: one row per (person, workspace, role, scope) holding and stretch of
# time, ``[started_at, ended_at)``, with why it started and ended. People are named by person id
# only, so erasing a person (their e-mail set to NULL) leaves the history and nothing of the
# address. Rows are closed (``ended_at`` set) once, never removed.
seat_intervals = Table(
    "seat_intervals",
    metadata,
    _id("account_id"),
    _id("id"),
    _id("subscription_id"),
    _id("person_id"),
    _id("workspace_id"),
    Column("role", String(ROLE), nullable=False),
    # '' is "the whole workspace", as in role_assignments.
    Column("scope", String(NAME), nullable=False),
    Column("kind", String(KIND), nullable=False),
    _at("started_at"),
    Column("start_reason", String(KIND), nullable=False),
    _at("ended_at", nullable=True),
    Column("end_reason", String(KIND), nullable=True),
    PrimaryKeyConstraint("account_id", "id"),
    ForeignKeyConstraint(
        ["account_id", "subscription_id"], ["subscriptions.account_id", "subscriptions.id"]
    ),
    ForeignKeyConstraint(["account_id", "person_id"], ["persons.account_id", "persons.id"]),
    ForeignKeyConstraint(
        ["account_id", "workspace_id"], ["workspaces.account_id", "workspaces.id"]
    ),
    CheckConstraint("kind IN ('seat', 'free')", name="kind"),
    # Explaining an invoice reads a subscription's intervals; a change closes its open ones.
    Index("ix_seat_intervals_subscription", "account_id", "subscription_id", "started_at"),
)


# Fair billing (``inactive_after``): each seat holder's last reported activity, and the instant
# fair billing stopped billing them (NULL while billed). One row per (subscription, person),
# written only for subscriptions whose policy has the key; people by person id only, as in the
# seat ledger. A row goes when the person stops holding a seat (coming back starts afresh).
member_activity = Table(
    "member_activity",
    metadata,
    _id("account_id"),
    _id("subscription_id"),
    _id("person_id"),
    _at("last_active_at"),
    _at("inactive_at", nullable=True),
    PrimaryKeyConstraint("account_id", "subscription_id", "person_id"),
    ForeignKeyConstraint(
        ["account_id", "subscription_id"], ["subscriptions.account_id", "subscriptions.id"]
    ),
    ForeignKeyConstraint(["account_id", "person_id"], ["persons.account_id", "persons.id"]),
)
