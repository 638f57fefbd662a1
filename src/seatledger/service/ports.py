"""Ports: the unit of work and the repositories the use cases write against.

The service layer depends on these protocols only; ``seatledger.store`` implements them with
SQLAlchemy on SQLite and PostgreSQL, and ``bootstrap`` picks the implementation. Nothing here
imports a database library.

How a use case uses them::

    with uow:
        sub = uow.subscriptions.get_for_update(account_id, subscription_id)   # the seat lock
        workspaces = uow.subscriptions.workspace_ids(account_id, sub.id)
        roster = uow.rosters.get(account_id, workspaces)
        ...  # ask the domain; build the new roster, the ledger and audit entries
        uow.rosters.save(account_id, workspaces, new_roster, at=now)
        uow.ledger.append(account_id, sub.id, at=now, kind="member_invited", ...)
        uow.audit.append(account_id, at=now, actor=..., action=..., target=...)
        uow.commit()

Rules the store guarantees, and the ones it expects:

- One ``with uow:`` block is one database transaction. Leaving the block without ``commit()``
  (an exception, or simply not committing) rolls everything back. A unit of work can be entered
  again afterwards for a new transaction; it cannot be nested.
- ``subscriptions.get_for_update`` takes the lock under which seat limits are enforced (PostgreSQL
  ``SELECT ... FOR UPDATE``; SQLite serializes all writing units with ``BEGIN IMMEDIATE``). Read
  the roster *after* taking it. Ledger sequence numbers are allocated under it too, so append to a
  subscription's ledger only while holding its lock.
- Instants are aware UTC datetimes; a naive one is refused with ``InvalidInput``. Money is
  ``Money`` settled to its currency's minor unit (the store keeps integer minor units).
- JSON fields (``detail``, ``before``/``after``, ``payload``, ``response``) hold JSON values only:
  amounts as strings. Refer to people by ``person_id``, never by e-mail, in the ledger, the audit
  log and the outbox: erasing a person then removes their e-mail everywhere.
- A uniqueness rule broken by an ``add``/``put`` raises ``Conflict`` and leaves the transaction
  usable (the insert runs in a savepoint), so a caller may catch it and carry on.
- ``get`` of something missing raises ``NotFound``; ``find_*`` methods return ``None`` instead.
- The seat ledger, the audit log and credit entries are append-only: no method changes or
  removes a row, and the database refuses ``UPDATE``/``DELETE`` on them.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import TracebackType
from typing import Any, Protocol, Self

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
# Repositories


class AccountRepository(Protocol):
    def add(self, account: Account) -> None:
        """Insert; ``Conflict`` if the id exists."""

    def get(self, account_id: str) -> Account: ...


class WorkspaceRepository(Protocol):
    def add(self, workspace: Workspace) -> None:
        """Insert; ``Conflict`` if the id or the name exists in the account."""

    def get(self, account_id: str, workspace_id: str) -> Workspace: ...

    def find_by_name(self, account_id: str, name: str) -> Workspace | None: ...

    def for_account(self, account_id: str) -> tuple[Workspace, ...]:
        """The account's workspaces, by name."""


class PersonRepository(Protocol):
    def add(self, person: Person) -> None:
        """Insert; ``Conflict`` if the id or the e-mail exists in the account."""

    def get(self, account_id: str, person_id: str) -> Person: ...

    def find_by_email(self, account_id: str, email: str) -> Person | None:
        """The person with this (already normalized) e-mail, if any."""

    def ensure(self, account_id: str, email: str, *, at: datetime) -> Person:
        """The person with this e-mail, created (without a name) when missing."""

    def workspace_ids(self, account_id: str, person_id: str) -> tuple[str, ...]:
        """The workspaces where the person has a membership (any status)."""

    def erase(self, account_id: str, person_id: str, *, at: datetime) -> Person:
        """Forget the e-mail and the name; keep the row so ledger rows still resolve.

        Refused with ``Conflict`` while the person still has memberships: take them off the
        rosters first (under the subscription lock, so the seat counts and the ledger follow).
        """


class SubscriptionRepository(Protocol):
    def add(self, subscription: Subscription) -> None:
        """Insert; ``Conflict`` if the id exists."""

    def get(self, account_id: str, subscription_id: str) -> Subscription:
        """Read without locking (for display, previews)."""

    def get_for_update(self, account_id: str, subscription_id: str) -> Subscription:
        """Read and lock the row until the unit of work ends: the seat lock."""

    def save(self, subscription: Subscription) -> Subscription:
        """Write every field; returns the record with ``version`` bumped. ``Conflict`` if the
        stored version is no longer ``subscription.version`` (someone saved in between)."""

    def for_account(self, account_id: str) -> tuple[Subscription, ...]: ...

    def workspace_ids(self, account_id: str, subscription_id: str) -> tuple[str, ...]:
        """The workspaces the subscription covers (its bundle), sorted."""

    def set_workspaces(
        self, account_id: str, subscription_id: str, workspace_ids: Sequence[str]
    ) -> None:
        """Replace the bundle. ``Conflict`` if a workspace is covered by another subscription."""

    def find_for_workspace(self, account_id: str, workspace_id: str) -> Subscription | None:
        """The subscription covering the workspace, if any."""

    def claim_due(self, at: datetime, *, limit: int) -> tuple[Subscription, ...]:
        """Up to ``limit`` active subscriptions of any account whose period ended at or before
        ``at``, earliest first, locked like ``get_for_update``. On PostgreSQL rows locked by
        another worker are skipped (``FOR UPDATE SKIP LOCKED``), so several billing workers can
        run side by side without waiting on each other. Subscriptions attached to a test clock
        are left out: their clock, not the wall clock, bills them."""

    def count_due(self, at: datetime) -> int:
        """How many subscriptions ``claim_due`` would find without a limit (locking nothing)."""


class RosterRepository(Protocol):
    def get(self, account_id: str, workspace_ids: Sequence[str]) -> Roster:
        """Every membership of these workspaces with its grants, ordered by workspace, e-mail."""

    def save(
        self,
        account_id: str,
        workspace_ids: Sequence[str],
        roster: Roster,
        *,
        at: datetime,
    ) -> None:
        """Make the stored memberships of ``workspace_ids`` equal ``roster``.

        Diffs against what is stored: inserts new memberships and grants, updates changed
        statuses, deletes what the roster no longer holds. People are found by e-mail and created
        when missing. A member of a workspace outside ``workspace_ids``, or holding the same
        (role, scope) twice, is refused with ``InvalidInput``.
        """


class AddonRepository(Protocol):
    def counts(self, account_id: str, subscription_id: str) -> dict[str, int]:
        """Add-on name -> count (only names with a count above zero)."""

    def set_count(
        self, account_id: str, subscription_id: str, name: str, count: int, *, at: datetime
    ) -> None:
        """Set the count of one add-on (0 removes it)."""


class LedgerRepository(Protocol):
    def append(
        self,
        account_id: str,
        subscription_id: str,
        *,
        at: datetime,
        kind: str,
        seats_total: int,
        seats_used: int,
        seats_at_renewal: int,
        seats_paid: int,
        person_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> LedgerRecord:
        """Add the next row (``seq`` = last + 1). Call under the subscription's lock."""

    def entries(self, account_id: str, subscription_id: str) -> tuple[LedgerRecord, ...]:
        """The subscription's ledger in ``seq`` order."""


class AuditRepository(Protocol):
    def append(
        self,
        account_id: str,
        *,
        at: datetime,
        actor: str,
        action: str,
        target: str,
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
    ) -> AuditRecord: ...

    def entries(self, account_id: str) -> tuple[AuditRecord, ...]:
        """The account's audit log in ``seq`` order."""


class OutboxRepository(Protocol):
    def append(
        self, account_id: str, *, event_type: str, payload: Mapping[str, Any], at: datetime
    ) -> OutboxEvent: ...

    def claim_undelivered(self, *, limit: int) -> tuple[OutboxEvent, ...]:
        """Up to ``limit`` undelivered events of any account, oldest first, locked until the unit
        of work ends (other deliverers skip them on PostgreSQL)."""

    def mark_delivered(self, account_id: str, seq: int, *, at: datetime) -> None: ...

    def mark_failed(self, account_id: str, seq: int) -> None:
        """Count one more failed delivery attempt."""

    def for_account(self, account_id: str) -> tuple[OutboxEvent, ...]: ...


class InvoiceRepository(Protocol):
    def add(
        self,
        account_id: str,
        subscription_id: str,
        *,
        kind: InvoiceKind,
        status: InvoiceStatus,
        reason: str,
        period: Period,
        currency: str,
        lines: Sequence[InvoiceLine],
        issued_at: datetime | None,
        at: datetime,
        renewal_of: datetime | None = None,
    ) -> Invoice:
        """Number and insert an invoice with its lines, in this transaction.

        The number is the account's next one, allocated under a lock on the account's counter:
        a rolled-back invoice gives its number back, so numbers have no gaps. A second renewal
        invoice for the same (subscription, ``renewal_of``, kind) raises ``Conflict`` and uses no
        number. Lock subscriptions before adding invoices, never after: the counter lock then
        always comes last and two units never wait on each other in a circle.
        """

    def get(self, account_id: str, invoice_id: str) -> Invoice: ...

    def find_renewal(
        self, account_id: str, subscription_id: str, period_start: datetime, kind: InvoiceKind
    ) -> Invoice | None:
        """The renewal invoice of that period, if it was issued already."""

    def for_subscription(self, account_id: str, subscription_id: str) -> tuple[Invoice, ...]:
        """In number order."""

    def for_account(self, account_id: str) -> tuple[Invoice, ...]:
        """In number order."""

    def set_status(self, account_id: str, invoice_id: str, status: InvoiceStatus) -> Invoice: ...

    def by_number(self, number: int, *, account_id: str | None = None) -> tuple[Invoice, ...]:
        """The invoices numbered ``number``: the account's one, or one per account that has it
        when ``account_id`` is None (numbers are per account), by account id."""


class PendingLineRepository(Protocol):
    def add(
        self, account_id: str, subscription_id: str, line: InvoiceLine, *, at: datetime
    ) -> PendingLine: ...

    def unbilled(self, account_id: str, subscription_id: str) -> tuple[PendingLine, ...]:
        """Lines not yet on an invoice, oldest first."""

    def mark_billed(self, account_id: str, line_ids: Sequence[str], invoice_id: str) -> None:
        """Record that these lines went onto ``invoice_id``; ``Conflict`` if one was billed."""


class CreditRepository(Protocol):
    def add(
        self,
        account_id: str,
        *,
        amount: Money,
        reason: str,
        at: datetime,
        invoice_id: str | None = None,
    ) -> CreditEntry:
        """Append a movement (positive: credit granted; negative: credit used)."""

    def balance(self, account_id: str, currency: str) -> Money:
        """The sum of the account's movements in ``currency`` (zero when none)."""

    def entries(self, account_id: str) -> tuple[CreditEntry, ...]: ...


class TestClockRepository(Protocol):
    def add(self, clock: TestClock) -> None:
        """Insert; ``Conflict`` if the id exists."""

    def get(self, account_id: str, clock_id: str) -> TestClock: ...

    def get_for_update(self, account_id: str, clock_id: str) -> TestClock:
        """Read and lock the clock until the unit of work ends: one advance at a time."""

    def move(self, account_id: str, clock_id: str, now_at: datetime) -> TestClock:
        """Set the clock's time (the caller checks it does not go back)."""

    def for_account(self, account_id: str) -> tuple[TestClock, ...]:
        """The account's test clocks, oldest first."""


class IdempotencyRepository(Protocol):
    def get(self, account_id: str, key: str) -> IdempotencyRecord | None: ...

    def put(self, record: IdempotencyRecord) -> None:
        """Remember a response; ``Conflict`` if the key was used already (a concurrent request
        with the same key committed first)."""


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


class ApiKeyRepository(Protocol):
    def add(self, key: ApiKey) -> None:
        """Insert; ``Conflict`` if the id exists."""

    def get(self, account_id: str, key_id: str) -> ApiKey: ...

    def for_account(self, account_id: str) -> tuple[ApiKey, ...]:
        """The account's keys, revoked ones included, oldest first."""

    def revoke(self, account_id: str, key_id: str, *, at: datetime) -> ApiKey:
        """Set ``revoked_at`` (a key revoked already keeps its first revocation instant)."""


class WebhookEndpointRepository(Protocol):
    def add(self, endpoint: WebhookEndpoint) -> None:
        """Insert; ``Conflict`` if the id exists."""

    def get(self, account_id: str, endpoint_id: str) -> WebhookEndpoint: ...

    def for_account(self, account_id: str) -> tuple[WebhookEndpoint, ...]:
        """The account's endpoints, disabled ones included, oldest first."""

    def disable(self, account_id: str, endpoint_id: str, *, at: datetime) -> WebhookEndpoint:
        """Set ``disabled_at`` (an endpoint disabled already keeps its first instant)."""


class WebhookDeliveryRepository(Protocol):
    def add(self, delivery: WebhookDelivery) -> None:
        """Insert; ``Conflict`` if the (endpoint, event) pair exists."""

    def get(self, account_id: str, endpoint_id: str, event_seq: int) -> WebhookDelivery: ...

    def due(self, at: datetime, *, limit: int) -> tuple[WebhookDelivery, ...]:
        """Up to ``limit`` deliveries of any account that may be attempted at ``at``: for each
        endpoint only its pending delivery of the lowest event ``seq`` (events reach an endpoint
        in order), and only when its ``next_attempt_at`` has come and no lease runs past ``at``;
        earliest ``next_attempt_at`` first."""

    def lease(
        self, account_id: str, endpoint_id: str, event_seq: int, *, at: datetime, until: datetime
    ) -> bool:
        """Take the attempt: set ``lease_until`` if the delivery is still pending and not leased
        past ``at``. False when another deliverer took it first (a conditional update, so two
        deliverers never both win)."""

    def record_attempt(
        self,
        account_id: str,
        endpoint_id: str,
        event_seq: int,
        *,
        status: DeliveryStatus,
        at: datetime,
        next_attempt_at: datetime,
        status_code: int | None,
        error: str | None,
    ) -> WebhookDelivery:
        """Count one attempt, set its outcome and clear the lease (``delivered_at`` is ``at``
        when ``status`` is delivered)."""

    def for_endpoint(self, account_id: str, endpoint_id: str) -> tuple[WebhookDelivery, ...]:
        """The endpoint's deliveries in event order."""


class WebhookSender(Protocol):
    """Sends one webhook request; the HTTP client is the adapter's choice."""

    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """POST ``body`` to ``url`` and return the answer's status code; raise ``OSError``
        (``ConnectionError``, ``TimeoutError``) when no answer came."""


class UnitOfWork(Protocol):
    """One transaction over every repository: ``with uow: ...; uow.commit()``."""

    @property
    def accounts(self) -> AccountRepository: ...

    @property
    def workspaces(self) -> WorkspaceRepository: ...

    @property
    def persons(self) -> PersonRepository: ...

    @property
    def subscriptions(self) -> SubscriptionRepository: ...

    @property
    def rosters(self) -> RosterRepository: ...

    @property
    def addons(self) -> AddonRepository: ...

    @property
    def ledger(self) -> LedgerRepository: ...

    @property
    def audit(self) -> AuditRepository: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    @property
    def invoices(self) -> InvoiceRepository: ...

    @property
    def pending_lines(self) -> PendingLineRepository: ...

    @property
    def credits(self) -> CreditRepository: ...

    @property
    def idempotency(self) -> IdempotencyRepository: ...

    @property
    def test_clocks(self) -> TestClockRepository: ...

    @property
    def api_keys(self) -> ApiKeyRepository: ...

    @property
    def webhook_endpoints(self) -> WebhookEndpointRepository: ...

    @property
    def webhook_deliveries(self) -> WebhookDeliveryRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed, and release the connection."""

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def joined(self) -> UnitOfWork:
        """A unit of work inside this one's open transaction, so that use cases (each opening
        its own unit) and what the caller writes after them commit as one.

        Entering it opens a savepoint; its ``commit()`` keeps its writes for this unit's commit;
        its ``rollback()``, or leaving it without committing, undoes only its own writes. Use it
        only while this unit is open; nothing is durable before this unit commits.
        """
