"""The subscription as a use case holds it under the lock, and the effects a change produces.

A use case loads one ``SubscriptionState`` (the subscription row locked, its roster, add-ons,
pending lines and the account's credit balance), lets the domain and the billing engine change it,
and hands the state and the collected ``Effects`` back to the store, which writes them in the same
transaction: the ledger, the audit log and the outbox can never disagree with the seats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from seatledger.domain.billing import SeatBilling
from seatledger.domain.fair_billing import ActivityBook
from seatledger.domain.invoices import InvoiceLine
from seatledger.domain.money import Money
from seatledger.domain.periods import Period
from seatledger.domain.policy import Policy
from seatledger.domain.seats import Roster, SeatUsage, seat_usage
from seatledger.service.ports import (
    AuditRecord,
    LedgerRecord,
    PendingLine,
    StoredRoster,
    Subscription,
)
from seatledger.service.ports import InvoiceKind as InvoiceKind
from seatledger.service.ports import SubscriptionStatus as SubscriptionStatus


class InvoiceReason(StrEnum):
    SUBSCRIBE = "subscribe"
    PRORATION = "proration"
    RENEWAL = "renewal"
    CANCELLATION = "cancellation"


@dataclass(frozen=True)
class StoredRows:
    """What the store holds for a loaded state, as it was read (or last written) in this
    transaction: ``save_state`` compares with it and writes only the difference, without reading
    the rows again (the subscription's lock keeps them as they are)."""

    record: Subscription
    roster: StoredRoster
    addons: dict[str, int]
    # The unbilled pending lines as stored, None once a save of this transaction added or billed
    # some (they are read again when needed).
    pending: tuple[PendingLine, ...] | None = None


class _UsageMemo:
    """The last answer of ``SubscriptionState.usage`` and what it was asked of: the roster and
    the policy by identity (both are immutable), the capacity and the instant, which together
    decide the answer. A copy of the state shares it (``__copy__`` shares every field): a renewal
    copies the state for the figures before it, and those are counted once, by whichever of the
    two asks first, when nothing they count moved in between."""

    __slots__ = ("kept",)

    def __init__(self) -> None:
        self.kept: tuple[Roster, Policy, int, datetime, SeatUsage] | None = None


@dataclass
class SubscriptionState:
    """One subscription, loaded under its row lock; mutated by the engine, saved by the store."""

    account_id: str
    subscription_id: str
    policy: Policy
    preset: str | None
    anchor_at: datetime
    billing: SeatBilling
    roster: Roster
    workspaces: tuple[str, ...]
    addons: dict[str, int] = field(default_factory=dict)
    pending: list[InvoiceLine] = field(default_factory=list)
    balance: Money | None = None
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    cancel_at_period_end: bool = False
    canceled_at: datetime | None = None
    created_at: datetime | None = None
    version: int = 0
    # The test clock the subscription lives on (``service/test_clocks.py``), None for the wall.
    test_clock_id: str | None = None
    # Workspace name -> id for the workspaces the subscription covers. The roster held here names
    # workspaces by name (what people and scenario files use); the store keys them by id.
    workspace_ids: dict[str, str] = field(default_factory=dict)
    # Fair billing's activity of the seat holders (``inactive_after``), read from the store only
    # when the policy has the key (``service/activity.py``).
    activity: ActivityBook = field(default_factory=ActivityBook)
    # The rows as loaded, None for a state not read from the store (a new subscription).
    stored: StoredRows | None = field(default=None, repr=False, compare=False)
    # The last answer of ``usage`` (see ``_UsageMemo``).
    _usage: _UsageMemo = field(default_factory=_UsageMemo, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.balance is None:
            self.balance = Money.zero(self.policy.currency)

    def __copy__(self) -> SubscriptionState:
        # What ``copy.copy`` makes of a dataclass (the same fields, shared), without its generic
        # reduce protocol: every renewal copies the state it renews, for the figures before it.
        clone = object.__new__(SubscriptionState)
        clone.__dict__.update(self.__dict__)
        return clone

    @property
    def credit_balance(self) -> Money:
        assert self.balance is not None  # set in __post_init__
        return self.balance

    @property
    def addon_seats(self) -> int:
        return sum(self.policy.addons[name].seats * count for name, count in self.addons.items())

    @property
    def capacity(self) -> int:
        """Seats that may be occupied: bought seats plus the seats of add-on packs."""
        return self.billing.seats_total + self.addon_seats

    def usage(self, at: datetime) -> SeatUsage:
        roster, policy, capacity = self.roster, self.policy, self.capacity
        memo = self._usage
        kept = memo.kept
        if (
            kept is not None
            and kept[0] is roster
            and kept[1] is policy
            and kept[2] == capacity
            and kept[3] == at
        ):
            return kept[4]
        usage = seat_usage(roster, policy, capacity, at)
        memo.kept = (roster, policy, capacity, at, usage)
        return usage


@dataclass(frozen=True)
class InvoiceDraft:
    """An invoice to issue: the store numbers it (per account, without gaps) when it writes it."""

    kind: InvoiceKind
    reason: InvoiceReason
    period: Period
    issued_at: datetime
    lines: tuple[InvoiceLine, ...]
    total: Money
    # One renewal invoice per (subscription, period): the store keys renewals by their period
    # start, so a billing run killed and run again can never bill a period twice.
    renewal_of: datetime | None = None


@dataclass(frozen=True)
class CreditMovement:
    """A movement of the account's credit balance: positive adds credit, negative uses it."""

    amount: Money
    reason: str
    at: datetime


@dataclass(frozen=True)
class LedgerEntry:
    at: datetime
    kind: str
    seats_total: int
    seats_used: int
    seats_at_renewal: int
    seats_paid: int
    email: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def record(
        self, account_id: str, subscription_id: str, person_id: str | None = None
    ) -> LedgerRecord:
        """This entry as the ledger row to write (its ``seq`` is the store's to give); the
        person it names by ``person_id``."""
        return LedgerRecord(
            account_id,
            subscription_id,
            0,
            at=self.at,
            kind=self.kind,
            seats_total=self.seats_total,
            seats_used=self.seats_used,
            seats_at_renewal=self.seats_at_renewal,
            seats_paid=self.seats_paid,
            person_id=person_id,
            detail={k: v for k, v in self.detail.items() if v is not None},
        )


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    target: str
    before: dict[str, Any]
    after: dict[str, Any]

    def record(self, account_id: str, *, actor: str, target: str) -> AuditRecord:
        """This entry as the audit row to write, naming ``actor`` and ``target`` as given (the
        store gives the ``seq``)."""
        return AuditRecord(
            account_id,
            0,
            at=self.at,
            actor=actor,
            action=self.action,
            target=target,
            before=self.before,
            after=self.after,
        )


@dataclass(frozen=True)
class Event:
    """A webhook event, written to the outbox in the change's transaction."""

    type: str
    payload: dict[str, Any]


@dataclass
class Effects:
    """Everything one use case writes besides the state itself."""

    invoices: list[InvoiceDraft] = field(default_factory=list)
    pending_added: list[InvoiceLine] = field(default_factory=list)
    # A renewal bills every pending line: (index of its draft in ``invoices``, how many of
    # ``pending_added`` existed when it did). Lines pending before this change are billed by the
    # first renewal.
    pending_billed_by: list[tuple[int, int]] = field(default_factory=list)
    credits: list[CreditMovement] = field(default_factory=list)
    ledger: list[LedgerEntry] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
