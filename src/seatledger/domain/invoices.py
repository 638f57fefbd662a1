"""Invoice lines: what a customer is charged or credited, each settled once, with its own period."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from seatledger.domain.money import Money
from seatledger.domain.periods import Period


class LineKind(StrEnum):
    BASE = "base"
    SEATS = "seats"
    PRORATION_CHARGE = "proration_charge"
    PRORATION_CREDIT = "proration_credit"
    ADDON = "addon"
    CREDIT_APPLIED = "credit_applied"


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One line: ``quantity`` x ``unit_amount`` (per full period), prorated over ``period``, settled
    to ``amount``. Credits (``proration_credit``, ``credit_applied``) carry negative amounts."""

    kind: LineKind
    description: str
    quantity: int
    unit_amount: Money
    amount: Money
    period: Period

    def __post_init__(self) -> None:
        if not self.amount.is_settled:
            raise ValueError(f"invoice line amount {self.amount} is not settled")


def lines_total(lines: Sequence[InvoiceLine], currency: str) -> Money:
    """The exact sum of settled lines (no rounding happens here)."""
    total = Money.zero(currency)
    for line in lines:
        total = total + line.amount
    return total
