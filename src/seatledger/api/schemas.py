"""Schemas shared by several resources: seats, invoices, the outcome of a change.

Amounts are strings with the currency's minor digits (``"49.50"``, ``"1200"`` for JPY), always
next to their ``currency``; instants are ISO 8601 in UTC (``2026-04-16T00:00:00Z``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

from seatledger.domain.invoices import InvoiceLine, LineKind
from seatledger.domain.money import Money
from seatledger.domain.seats import SeatUsage
from seatledger.service.ports import Invoice, InvoiceKind
from seatledger.service.results import ChangeResult, InvoiceView

Amount = Annotated[
    str,
    Field(
        pattern=r"^-?[0-9]+(\.[0-9]+)?$",
        description="A decimal amount with the currency's minor digits.",
        examples=["49.50"],
    ),
]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


Instant = Annotated[
    AwareDatetime,
    AfterValidator(_utc),
    Field(description="An ISO 8601 instant with its offset; read as UTC."),
]


def amount(money: Money) -> str:
    return money.format()


class SeatsRead(BaseModel):
    """Seats of a subscription: ``total`` bought (add-on packs included), ``used`` by distinct
    people, ``available``; with a free allowance (Plaky's free viewers per paid seat) the free
    places used, allowed and available."""

    total: int = Field(examples=[3])
    used: int = Field(examples=[3])
    available: int = Field(examples=[0])
    free_used: int | None = None
    free_allowed: int | None = None
    free_available: int | None = None

    @classmethod
    def of(cls, usage: SeatUsage) -> SeatsRead:
        return cls(
            total=usage.total,
            used=usage.used,
            available=usage.available,
            free_used=usage.free_used,
            free_allowed=usage.free_allowed,
            free_available=usage.free_available,
        )


class InvoiceLineRead(BaseModel):
    kind: LineKind
    description: str
    quantity: int
    unit_amount: Amount
    amount: Amount
    period_start: datetime
    period_end: datetime

    @classmethod
    def of(cls, line: InvoiceLine) -> InvoiceLineRead:
        return cls(
            kind=line.kind,
            description=line.description,
            quantity=line.quantity,
            unit_amount=amount(line.unit_amount),
            amount=amount(line.amount),
            period_start=line.period.start,
            period_end=line.period.end,
        )


class InvoiceRead(BaseModel):
    """An invoice or credit note. ``number`` is sequential per account (``000012``); a preview's
    drafts have an empty ``id`` and ``number`` and the status ``draft``."""

    id: str
    number: str
    subscription_id: str | None = None
    kind: InvoiceKind
    reason: str
    status: str
    period_start: datetime
    period_end: datetime
    issued_at: datetime | None
    currency: Currency
    total: Amount
    lines: list[InvoiceLineRead]

    @classmethod
    def of_view(cls, view: InvoiceView, subscription_id: str | None = None) -> InvoiceRead:
        return cls(
            id=view.id,
            number=view.number,
            subscription_id=subscription_id,
            kind=view.kind,
            reason=view.reason.value,
            status=view.status,
            period_start=view.period.start,
            period_end=view.period.end,
            issued_at=view.issued_at,
            currency=view.currency,
            total=amount(view.total),
            lines=[InvoiceLineRead.of(line) for line in view.lines],
        )

    @classmethod
    def of_record(cls, invoice: Invoice) -> InvoiceRead:
        return cls(
            id=invoice.id,
            number=f"{invoice.number:06d}",
            subscription_id=invoice.subscription_id,
            kind=invoice.kind,
            reason=invoice.reason,
            status=invoice.status.value,
            period_start=invoice.period.start,
            period_end=invoice.period.end,
            issued_at=invoice.issued_at,
            currency=invoice.currency,
            total=amount(invoice.total),
            lines=[InvoiceLineRead.of(line) for line in invoice.lines],
        )


class ChangeRead(BaseModel):
    """What a change did: the seats after it, the invoices it issued, what they charged, the
    credit it created and the account's credit balance after it."""

    seats: SeatsRead
    invoices: list[InvoiceRead]
    currency: Currency
    charged: Amount
    credited: Amount
    balance: Amount
    detail: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, result: ChangeResult) -> ChangeRead:
        return cls(
            seats=SeatsRead.of(result.seats),
            invoices=[InvoiceRead.of_view(v) for v in result.invoices],
            currency=result.balance.currency,
            charged=amount(result.charged),
            credited=amount(result.credited),
            balance=amount(result.balance),
            detail=dict(result.detail),
        )
