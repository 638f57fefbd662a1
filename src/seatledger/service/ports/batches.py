"""The set-based port of the billing run: load many subscriptions at once, write their renewals
in a few statements.

A renewal that changes no roster, names no person and adds no pending line writes the same kinds
of rows for every subscription (the subscription's new period, a numbered invoice with its lines,
a ledger row, an audit row, an ``invoice.issued`` event, perhaps a credit movement and billed
pending lines). ``RenewalBatchRepository`` reads what such renewals need for a whole batch with one
query per table and writes them with one statement per table, under the same rules as the
one-at-a-time repositories: the caller holds the subscriptions' locks (``claim_due``), the store
numbers the log rows (``seq``), and a second renewal invoice for a (subscription, period) raises
``Conflict``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from seatledger.domain.money import Money
from seatledger.domain.seats import Roster
from seatledger.service.ports.records import (
    AuditRecord,
    CreditEntry,
    Invoice,
    LedgerRecord,
    OutboxEvent,
    PendingLine,
    Subscription,
)

SubscriptionKey = tuple[str, str]  # (account id, subscription id)


@dataclass(frozen=True, slots=True)
class StoredParts:
    """What a subscription's state is built from besides its row.

    ``workspace_names`` maps the bundle's workspace ids to names; ``roster`` names workspaces by
    id, like ``RosterRepository.get``; ``pending`` holds the unbilled pending lines, oldest first.
    """

    workspace_names: Mapping[str, str]
    roster: Roster
    addons: Mapping[str, int]
    pending: tuple[PendingLine, ...]


@dataclass(frozen=True, slots=True)
class RenewalWrites:
    """Every row of a batch of renewals.

    ``subscriptions`` carry their new values with the ``version`` that was read (the store bumps
    it); ``invoices`` are numbered already (``number_invoices``); ``billed_pending`` pairs
    (account id, pending line id) with the invoice that billed it. The ``seq`` of the ledger, audit,
    outbox and credit rows is ignored: the store numbers them as their own repositories do.
    """

    subscriptions: Sequence[Subscription] = ()
    invoices: Sequence[Invoice] = ()
    billed_pending: Sequence[tuple[str, str, str]] = ()
    credits: Sequence[CreditEntry] = ()
    ledger: Sequence[LedgerRecord] = ()
    audit: Sequence[AuditRecord] = ()
    outbox: Sequence[OutboxEvent] = ()


class RenewalBatchRepository(Protocol):
    def parts(self, subscriptions: Sequence[Subscription]) -> dict[SubscriptionKey, StoredParts]:
        """The stored parts of each subscription, one query per table whatever the batch size."""

    def balances(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Money]:
        """The credit balance of each (account id, currency), read once every account of
        ``keys`` is locked (in account order, until the transaction ends): the batch may spend
        them (``CreditRepository.spendable_balance``)."""

    def number_invoices(self, counts: Mapping[str, int]) -> dict[str, int]:
        """Reserve ``counts[account]`` invoice numbers per account and return the first of each.

        The accounts' counter rows are locked in account order and stay locked until the
        transaction ends (as with ``InvoiceRepository.add``), so numbers have no gaps and
        concurrent runs never wait on each other in a circle."""

    def write(self, writes: RenewalWrites) -> None:
        """Insert and update every row, one statement per table. ``Conflict`` when a renewal
        invoice for a (subscription, period) exists already or a subscription's version moved;
        the transaction is then unusable: roll it back."""
