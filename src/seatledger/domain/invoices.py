"""Invoice lines: what a customer is charged or credited, each settled once, with its own period.

A line's ``period`` is half-open ``[start, end)``; ``describe_span`` renders it for people with the
end shown as the instant the line stops covering (``15 Apr – 1 May 2026``), which is also the
first instant of the next period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache

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
        if self.amount.currency != self.unit_amount.currency:
            raise ValueError(
                f"invoice line mixes {self.unit_amount.currency} and {self.amount.currency}"
            )
        # A line for nothing tells the customer nothing; callers leave such lines out.
        if self.quantity < 1:
            raise ValueError(f"invoice line quantity must be at least 1, got {self.quantity}")


def lines_total(lines: Sequence[InvoiceLine], currency: str) -> Money:
    """The exact sum of settled lines (no rounding happens here)."""
    return Money.sum_of((line.amount for line in lines), currency)


# English month abbreviations, spelled out rather than read from the process locale, so the same
# invoice always reads the same wherever it is rendered.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _day(on: date, with_year: bool) -> str:
    text = f"{on.day} {_MONTHS[on.month - 1]}"
    return f"{text} {on.year}" if with_year else text


def describe_span(period: Period) -> str:
    """The UTC dates of a half-open period for a line description, the year said once if shared.

    ``[2026-04-15, 2026-05-01)`` is ``"15 Apr – 1 May 2026"``; ``[2026-12-15, 2027-01-01)`` is
    ``"15 Dec 2026 – 1 Jan 2027"``. Times of day are not shown.
    """
    return _span(period.start_on, period.end_on)


@lru_cache(maxsize=1024)
def _span(start: date, end: date) -> str:
    # Every line of an invoice, and every subscription renewing on the same days, says the same.
    return f"{_day(start, start.year != end.year)} – {_day(end, True)}"
