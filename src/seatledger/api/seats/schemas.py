"""Seats of the subscription covering a workspace: usage, a priced preview, the count, add-ons."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from seatledger.api import limits
from seatledger.api.schemas import Amount, Currency, InvoiceRead, SeatsRead, amount
from seatledger.service.listings import AddonView, SubscriptionView
from seatledger.service.subscriptions import SeatChangePreview


class SeatUsageRead(SeatsRead):
    """Seats now, plus what the next period will bill."""

    subscription_id: str
    seats_at_renewal: int

    @classmethod
    def of_view(cls, view: SubscriptionView) -> SeatUsageRead:
        return cls(
            **SeatsRead.of(view.seats).model_dump(),
            subscription_id=view.subscription.id,
            seats_at_renewal=view.subscription.seats_at_renewal,
        )


class SeatsUpdate(BaseModel):
    seats: int = Field(
        ge=0, le=limits.MAX_SEATS, description="The new number of seats bought.", examples=[4]
    )


class NextInvoiceRead(BaseModel):
    period_start: datetime
    period_end: datetime
    total: Amount


class SeatPreviewRead(BaseModel):
    """What moving to ``seats`` now would do, computed exactly as the change would be and not
    made: the charge (invoices issued now) or the credit, the seats after it, and the next
    renewal invoice's total (after the credit balance)."""

    seats: SeatsRead
    currency: Currency
    charge: Amount
    credit: Amount
    invoices: list[InvoiceRead]
    next_invoice: NextInvoiceRead

    @classmethod
    def of(cls, preview: SeatChangePreview) -> SeatPreviewRead:
        result = preview.result
        return cls(
            seats=SeatsRead.of(result.seats),
            currency=result.balance.currency,
            charge=amount(result.charged),
            credit=amount(result.credited),
            invoices=[InvoiceRead.of_view(v) for v in result.invoices],
            next_invoice=NextInvoiceRead(
                period_start=preview.next_invoice_period.start,
                period_end=preview.next_invoice_period.end,
                total=amount(preview.next_invoice_total),
            ),
        )


class AddonRead(BaseModel):
    """An add-on of the plan: packs of ``seats`` at ``price`` per period, ``count`` bought."""

    name: str
    seats: int
    price: Amount
    count: int

    @classmethod
    def of(cls, view: AddonView) -> AddonRead:
        return cls(
            name=view.name,
            seats=view.addon.seats,
            price=amount(view.addon.price),
            count=view.count,
        )


class AddonUpdate(BaseModel):
    count: int = Field(ge=0, le=limits.MAX_SEATS, description="Packs to hold (0 removes).")
