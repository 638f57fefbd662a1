"""The repository protocols and the unit of work over them. See the package docstring."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from seatledger.domain.invoices import InvoiceLine
from seatledger.domain.money import Money
from seatledger.domain.periods import Period
from seatledger.domain.seats import Roster
from seatledger.service.ports.activity import ActivityRepository
from seatledger.service.ports.batches import RenewalBatchRepository
from seatledger.service.ports.intervals import SeatIntervalRepository
from seatledger.service.ports.records import (
    Account,
    ApiKey,
    AuditRecord,
    Covering,
    CreditEntry,
    DeliveryStatus,
    IdempotencyRecord,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    LedgerRecord,
    OutboxEvent,
    PendingLine,
    Person,
    StoredRoster,
    Subscription,
    SubscriptionParts,
    SubscriptionVersion,
    TestClock,
    WebhookDelivery,
    WebhookEndpoint,
    Workspace,
)

# ---------------------------------------------------------------------------------------------
# Repositories


class AccountRepository(Protocol):
    def add(self, account: Account) -> None:
        """Insert; ``Conflict`` if the id exists."""

    def get(self, account_id: str) -> Account: ...

    def ids(self) -> tuple[str, ...]:
        """Every account's id, in id order (for work over all accounts, such as simulations)."""


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

    def ids_by_email(self, account_id: str, emails: Collection[str]) -> dict[str, str]:
        """E-mail -> person id for those of ``emails`` (already normalized) that are someone's."""

    def ensure_ids(
        self, account_id: str, emails: Collection[str], *, at: datetime
    ) -> dict[str, str]:
        """E-mail -> person id for every one of ``emails``, creating (as ``ensure``) the missing.
        The people found are held until the transaction ends, so ``erase`` waits for it."""

    def workspace_ids(self, account_id: str, person_id: str) -> tuple[str, ...]:
        """The workspaces where the person has a membership (any status)."""

    def erase(self, account_id: str, person_id: str, *, at: datetime) -> Person:
        """Forget the e-mail and the name; keep the row so ledger rows still resolve.

        Refused with ``Conflict`` while the person still has memberships: take them off the
        rosters first (under the subscription lock, so the seat counts and the ledger follow).
        The row is locked before the memberships are looked for (see ``ensure_ids``).
        """


class SubscriptionRepository(Protocol):
    def add(self, subscription: Subscription) -> None:
        """Insert; ``Conflict`` if the id exists."""

    def get(self, account_id: str, subscription_id: str) -> Subscription:
        """Read without locking (for display, previews)."""

    def get_for_update(self, account_id: str, subscription_id: str) -> Subscription:
        """Read and lock the row until the unit of work ends: the seat lock."""

    def save(
        self, subscription: Subscription, *, stored: Subscription | None = None
    ) -> Subscription:
        """Write every field (only those that differ from ``stored``, the record as read in this
        transaction, when given); returns the record with ``version`` bumped. ``Conflict`` if the
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

    def find_for_workspace_name(self, account_id: str, name: str, *, lock: bool) -> Covering | None:
        """The subscription covering the workspace called ``name``, if any, with the names of the
        workspaces it covers; with ``lock``, read and locked as ``get_for_update`` does, in the
        same statement (which has the names too unless the subscription covers several). With
        ``lock`` the account's credit balances come along (``Covering.balances``), read once the
        lock is held (what a change that held it committed is in them), in the same round trip."""

    def workspace_names(self, account_id: str, subscription_id: str) -> dict[str, str]:
        """Workspace id -> name for the workspaces the subscription covers."""

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

    def load(
        self,
        account_id: str,
        workspace_ids: Sequence[str],
        *,
        version: SubscriptionVersion | None = None,
        remember: bool = False,
    ) -> StoredRoster:
        """``get``, with the person id of every member.

        With ``version`` (the subscription covering these workspaces, as its row was read in
        this transaction), the store may answer with the roster it knows was committed at that
        version without reading it, or read only what changed since a version it knows; with
        ``remember`` too (the row was read under its lock, so
        nobody can commit a change meanwhile), what it reads is kept for the next reader.
        """

    def remember(
        self,
        account_id: str,
        workspace_ids: Sequence[str],
        stored: StoredRoster,
        *,
        version: SubscriptionVersion,
    ) -> None:
        """``stored`` is the roster of these workspaces at ``version`` once this transaction
        commits (what ``save`` returned, with the subscription saved at ``version``); forgotten if
        it does not."""

    def save(
        self,
        account_id: str,
        workspace_ids: Sequence[str],
        roster: Roster,
        *,
        at: datetime,
        version: int,
        stored: StoredRoster | None = None,
    ) -> StoredRoster:
        """Make the stored memberships of ``workspace_ids`` equal ``roster``; returns what is
        stored now. ``version`` is the covering subscription's version this change commits: the
        rows written are stamped with it, so a reader that knows the roster at an earlier version
        can read only what changed after it (``load``).

        Diffs against what is stored (``stored``, when given, is taken for it unread: what
        ``load`` or the last ``save`` of this transaction returned): inserts new memberships and
        grants, updates changed statuses, deletes what the roster no longer holds. People are
        found by e-mail and created when missing. A member of a workspace outside
        ``workspace_ids``, or holding the same (role, scope) twice, is refused with
        ``InvalidInput``.
        """


class SubscriptionPartsRepository(Protocol):
    def load(
        self, account_id: str, subscription_id: str, *, version: int, remember: bool = False
    ) -> SubscriptionParts:
        """The add-on counts and unbilled pending lines of the subscription, whose row was read
        at ``version`` in this transaction: the store may answer with what it knows was committed
        at that version without reading it; with ``remember`` (the row was read under its lock)
        what it reads is kept for the next reader."""

    def remember(
        self, account_id: str, subscription_id: str, parts: SubscriptionParts, *, version: int
    ) -> None:
        """``parts`` are the subscription's at ``version`` once this transaction commits;
        forgotten if it does not."""


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

    def mark_delivered(self, events: Sequence[tuple[str, int]], *, at: datetime) -> None:
        """Mark these events, each an (account id, ``seq``) pair, handed on at ``at``, in one
        statement; ``NotFound`` if any of them does not exist."""

    def mark_failed(self, account_id: str, seq: int) -> None:
        """Count one more failed delivery attempt."""

    def for_account(self, account_id: str) -> tuple[OutboxEvent, ...]: ...


class ChangeRecordRepository(Protocol):
    def write(
        self,
        *,
        ledger: Sequence[LedgerRecord] = (),
        audit: Sequence[AuditRecord] = (),
        outbox: Sequence[OutboxEvent] = (),
    ) -> None:
        """Append a change's ledger, audit and outbox rows, in that order, each numbered as its
        log's ``append`` numbers it (the ``seq`` given is ignored), together: one round trip to
        PostgreSQL for all of them."""


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

    def spendable_balance(self, account_id: str, currency: str) -> Money:
        """``balance``, read once the account's row is locked (until the transaction ends): what a
        transaction about to spend credit reads, so two never spend the same credit. Take it after
        every subscription lock of the transaction (``service/credit_locks.py``)."""

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


class ApiKeyRepository(Protocol):
    def add(self, key: ApiKey) -> None:
        """Insert; ``Conflict`` if the id exists."""

    def get(self, account_id: str, key_id: str) -> ApiKey: ...

    def find_with_person(
        self, account_id: str, key_id: str, *, email: str | None
    ) -> tuple[ApiKey, Person | None] | None:
        """The key and, in the same read, the person it acts for: a bound key's own person, an
        account-wide key's person with ``email`` (None when there is none, or no ``email``);
        None when the key does not exist."""

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

    def for_accounts(self, account_ids: Sequence[str]) -> dict[str, tuple[WebhookEndpoint, ...]]:
        """``for_account`` of each of these accounts in one read; an account without endpoints
        is left out."""

    def disable(self, account_id: str, endpoint_id: str, *, at: datetime) -> WebhookEndpoint:
        """Set ``disabled_at`` (an endpoint disabled already keeps its first instant)."""


class WebhookDeliveryRepository(Protocol):
    def add(self, delivery: WebhookDelivery) -> None:
        """Insert; ``Conflict`` if the (endpoint, event) pair exists."""

    def add_all(self, deliveries: Sequence[WebhookDelivery]) -> None:
        """Insert them all in one statement; ``Conflict`` if one of the (endpoint, event) pairs
        exists, and then none is inserted."""

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
    def parts(self) -> SubscriptionPartsRepository: ...

    @property
    def ledger(self) -> LedgerRepository: ...

    @property
    def audit(self) -> AuditRepository: ...

    @property
    def change_records(self) -> ChangeRecordRepository: ...

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

    @property
    def seat_intervals(self) -> SeatIntervalRepository: ...

    @property
    def member_activity(self) -> ActivityRepository: ...

    @property
    def renewal_batches(self) -> RenewalBatchRepository: ...

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
