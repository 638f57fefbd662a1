"""The records the repositories take and give back, the ids, and the store's own errors.

They are not the rows: the store maps them. See the package docstring for the rules."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from seatledger.domain.billing import SeatsInvoiced
from seatledger.domain.invoices import InvoiceLine, lines_total
from seatledger.domain.money import Money
from seatledger.domain.periods import Interval, Period
from seatledger.domain.policy import Policy
from seatledger.domain.seats import Roster

Json = dict[str, Any]


def new_id(prefix: str) -> str:
    """A fresh random identifier such as ``sub_3f9c0d1a6b2e4c7d8e9f0a1b``: ``prefix`` names the
    kind (``acc``, ``ws``, ``per``, ``sub``, ``inv``...). Random, not time-ordered, so it reads no
    clock and leaks nothing about when or how many."""
    return f"{prefix}_{secrets.token_hex(12)}"


class StoreError(Exception):
    """The store cannot serve: not a refusal of the request but an operating problem."""


class DatabaseNotMigrated(StoreError):
    """The database schema is not at the revision this version of seatledger expects.

    ``url`` is shown with its password hidden. ``unknown`` says the database is at a revision this
    version does not know (written by a newer seatledger): migrating cannot help, upgrading can.
    """

    def __init__(
        self,
        url: str,
        *,
        current: tuple[str, ...],
        head: tuple[str, ...],
        unknown: bool = False,
    ) -> None:
        self.url, self.current, self.head, self.unknown = url, current, head, unknown
        if unknown:
            message = (
                f"The database at {url} is at revision {', '.join(current)}, which this version "
                "of seatledger does not know: upgrade seatledger"
            )
        else:
            message = (
                f"The database at {url} is not migrated: run `seatledger migrate --database {url}`"
            )
        super().__init__(message)


# ---------------------------------------------------------------------------------------------
# Records: what the repositories take and give back. They are not the rows: the store maps them.


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    CANCELED = "canceled"


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"  # issued, awaiting payment
    PAID = "paid"
    VOID = "void"


class InvoiceKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


@dataclass(frozen=True, slots=True)
class Account:
    """Who pays: owns subscriptions, workspaces, people and a credit balance."""

    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Workspace:
    """Where people work. ``id`` is what ``Member.workspace`` holds; ``name`` is unique per account."""

    account_id: str
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Person:
    """A person of an account, identified by a normalized e-mail (unique per account).

    An erased person keeps the row (the ledger still points at it) but loses the e-mail and the
    name; ``label`` then gives a pseudonym built from the id.
    """

    account_id: str
    id: str
    email: str | None
    display_name: str | None
    created_at: datetime
    erased_at: datetime | None = None

    @property
    def label(self) -> str:
        return self.email if self.email is not None else f"erased-{self.id}"


@dataclass(frozen=True, slots=True)
class StoredRoster:
    """A roster as the store holds it: members name their workspace by id, and ``person_ids``
    maps the e-mail of every member to the person's id.

    ``rosters.load`` gives one and ``rosters.save`` returns the one it wrote; handed back to the
    next ``save`` of the same transaction, it stands for the stored rows, which are then not read
    again (the subscription's lock keeps anyone else from changing them meanwhile).
    """

    roster: Roster = field(default_factory=Roster)
    person_ids: Mapping[str, str] = field(default_factory=dict)
    # Rosters renamed from ``roster`` (workspace ids to names), by the renaming: one loaded
    # roster may serve many transactions (``store/version_cache.py``), and renaming a large one
    # costs as much as reading it.
    renamed: dict[tuple[tuple[str, str], ...], Roster] = field(
        default_factory=dict, compare=False, repr=False
    )


@dataclass(frozen=True, slots=True)
class SubscriptionParts:
    """A subscription's add-on counts (only those above zero, by name) and its unbilled pending
    lines (in the order the next invoice bills them), as stored."""

    addons: Mapping[str, int] = field(default_factory=dict)
    pending: tuple[PendingLine, ...] = ()


class Covering(NamedTuple):
    """The subscription covering a workspace, the names of the workspaces it covers (id ->
    name), and the account's credit balances by currency as read with it (a currency without
    entries is missing: its balance is zero), None when they were not read."""

    subscription: Subscription
    workspace_names: dict[str, str]
    balances: Mapping[str, Money] | None = None


class SubscriptionVersion(NamedTuple):
    """A subscription as of one committed ``version``: what its roster is cached by."""

    subscription_id: str
    version: int


@dataclass(frozen=True, slots=True)
class Subscription:
    """An account's plan, seats and current period.

    ``seats_total`` is bought now, ``seats_at_renewal`` is what the next period bills,
    ``seats_paid`` is what the current period has been paid for (it can stay above
    ``seats_total`` after a decrease that was not refunded). ``period`` is the current billing
    period, half-open; the interval is the policy's. ``version`` is bumped by every save: a save
    from a stale copy raises ``Conflict``.
    """

    account_id: str
    id: str
    policy: Policy
    preset: str | None
    status: SubscriptionStatus
    anchor_at: datetime
    period: Period
    seats_total: int
    seats_at_renewal: int
    seats_paid: int
    created_at: datetime
    cancel_at_period_end: bool = False
    canceled_at: datetime | None = None
    test_clock_id: str | None = None
    version: int = 1
    # What the current period invoiced and credited for seats (None: not known for it), and the
    # month end that bills pending increases under ``on_increase: monthly`` (None: nothing due).
    seats_invoiced: SeatsInvoiced | None = None
    month_end_at: datetime | None = None
    # billing_basis peak / true_up: the most seats used since ``peak_since`` (the period start or
    # the last true-up reconciliation); None under purchased.
    seats_peak: int | None = None
    peak_since: datetime | None = None

    @property
    def interval(self) -> Interval:
        return self.policy.interval


@dataclass(frozen=True, slots=True)
class TestClock:
    """A clock of an account's own, for trying billing over time: the subscriptions attached to it
    live at ``now_at`` instead of the wall clock, and time moves only when the clock is advanced."""

    __test__ = False  # a product record, not a pytest test class

    account_id: str
    id: str
    name: str
    now_at: datetime
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    """One row of a subscription's seat ledger: the counts right after a change.

    ``seq`` counts from 1 per subscription without gaps; ``kind`` names the change
    (``subscribed``, ``seats_changed``, ``member_added``, ``renewed``...).
    """

    account_id: str
    subscription_id: str
    seq: int
    at: datetime
    kind: str
    seats_total: int
    seats_used: int
    seats_at_renewal: int
    seats_paid: int
    person_id: str | None = None
    detail: Json = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """Who did what to what, with the state before and after. ``seq`` grows with insertion order
    (it may have gaps)."""

    account_id: str
    seq: int
    at: datetime
    actor: str
    action: str
    target: str
    before: Json | None = None
    after: Json | None = None


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """A webhook event written in the same transaction as the change it announces."""

    account_id: str
    seq: int
    event_type: str
    payload: Json
    created_at: datetime
    delivered_at: datetime | None = None
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class Invoice:
    """An invoice or credit note as stored. ``number`` is sequential per account without gaps;
    ``renewal_of`` is the start of the period a renewal invoice bills (``None`` for proration and
    other one-off invoices): one renewal invoice per (subscription, period, kind)."""

    account_id: str
    id: str
    subscription_id: str
    number: int
    kind: InvoiceKind
    status: InvoiceStatus
    reason: str
    period: Period
    currency: str
    lines: tuple[InvoiceLine, ...]
    issued_at: datetime | None
    created_at: datetime
    renewal_of: datetime | None = None

    @property
    def total(self) -> Money:
        return lines_total(self.lines, self.currency)


@dataclass(frozen=True, slots=True)
class PendingLine:
    """A line waiting for the next invoice (``invoice_id`` set once it has been billed)."""

    account_id: str
    id: str
    subscription_id: str
    line: InvoiceLine
    created_at: datetime
    invoice_id: str | None = None


@dataclass(frozen=True, slots=True)
class CreditEntry:
    """A movement of the account's credit balance: positive adds credit for the customer,
    negative uses it. The balance is the sum of the entries, per currency."""

    account_id: str
    seq: int
    at: datetime
    amount: Money
    reason: str
    invoice_id: str | None = None


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """The response given to the first request with this key, and a hash of that request."""

    account_id: str
    key: str
    request_hash: str
    response: Json
    created_at: datetime


# ---------------------------------------------------------------------------------------------
# API keys and webhooks: who may call the HTTP API, and where events are delivered.


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key to the HTTP API of one account. Only a SHA-256 hash of its secret is kept: the
    secret is shown once, when the key is made.

    ``person_id`` binds the key to one person, whose roles then decide what its requests may do;
    an account-wide key (``None``) names the acting person on each request instead. A revoked key
    keeps its row (``revoked_at`` set) so the audit of who used what stays readable.
    """

    account_id: str
    id: str
    name: str
    secret_hash: str
    created_at: datetime
    person_id: str | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """A URL that receives the account's events, signed with ``secret`` (HMAC-SHA256).

    ``event_types`` empty means every event. An endpoint receives the events created from its
    ``created_at`` on; a disabled endpoint (``disabled_at`` set) receives nothing more.
    """

    account_id: str
    id: str
    url: str
    secret: str
    description: str
    event_types: tuple[str, ...]
    created_at: datetime
    disabled_at: datetime | None = None


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its turn or its next attempt
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # every attempt failed; the endpoint's later events go ahead


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One event on its way to one endpoint. ``next_attempt_at`` is when it may be sent (again);
    ``lease_until`` marks an attempt in flight, so two deliverers never send it at once."""

    account_id: str
    endpoint_id: str
    event_seq: int
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    lease_until: datetime | None = None
    delivered_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
