"""What use cases return: seat figures, the invoices issued, the credit created, the balance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from seatledger.domain.invoices import InvoiceLine, LineKind
from seatledger.domain.money import Money
from seatledger.domain.periods import Period
from seatledger.domain.seats import SeatUsage
from seatledger.service.state import Effects, InvoiceKind, InvoiceReason


@dataclass(frozen=True)
class InvoiceView:
    """An issued invoice (or credit note) as stored: numbered, immutable."""

    id: str
    number: str
    kind: InvoiceKind
    reason: InvoiceReason
    status: str
    period: Period
    issued_at: datetime
    currency: str
    total: Money
    lines: tuple[InvoiceLine, ...]


@dataclass(frozen=True)
class ChangeResult:
    """The outcome of one use case."""

    seats: SeatUsage
    invoices: tuple[InvoiceView, ...]
    credited: Money
    balance: Money
    detail: dict[str, object] = field(default_factory=dict)

    @property
    def charged(self) -> Money:
        """The totals of the invoices issued (credit notes are credits, not charges)."""
        total = Money.zero(self.balance.currency)
        for invoice in self.invoices:
            if invoice.kind is InvoiceKind.INVOICE:
                total = total + invoice.total
        return total


def credit_created(effects: Effects, currency: str) -> Money:
    """The proration credit a change created: on a credit note now, or parked for the next invoice."""
    credited = Money.zero(currency)
    lines = [
        line
        for draft in effects.invoices
        if draft.kind is InvoiceKind.CREDIT_NOTE
        for line in draft.lines
    ]
    lines += [line for line in effects.pending_added if line.kind is LineKind.PRORATION_CREDIT]
    for line in lines:
        credited = credited - line.amount
    return credited
