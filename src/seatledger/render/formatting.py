"""Money, instants and periods as invoices write them (English, UTC, the currency's own digits)."""

from __future__ import annotations

from datetime import UTC, datetime

from babel.dates import format_date
from babel.numbers import format_currency

from seatledger.domain.invoices import LineKind, describe_span
from seatledger.domain.money import Money
from seatledger.domain.periods import Period
from seatledger.service.ports import InvoiceKind

# The ISO code before the amount ("EUR 1,049.50"), a minus sign in front for credits.
_MONEY_PATTERN = "¤¤ #,##0.00;-¤¤ #,##0.00"

LINE_KIND_LABELS = {
    LineKind.BASE: "Base fee",
    LineKind.SEATS: "Seats",
    LineKind.PRORATION_CHARGE: "Proration",
    LineKind.PRORATION_CREDIT: "Proration credit",
    LineKind.ADDON: "Add-on",
    LineKind.CREDIT_APPLIED: "Credit",
}


def money(value: Money) -> str:
    """``EUR 49.50``, ``JPY 1,200``, ``-EUR 10.00``: exact, with the currency's minor digits
    (Babel from the ``Decimal``; no float on the way)."""
    return format_currency(
        value.amount, value.currency, format=_MONEY_PATTERN, locale="en", currency_digits=True
    )


def day(at: datetime) -> str:
    """The UTC date of an instant: ``1 May 2026`` (English whatever the process locale)."""
    return format_date(at.astimezone(UTC).date(), format="d MMM y", locale="en")


def instant(at: datetime) -> str:
    """``2026-05-01 00:00 UTC``."""
    return f"{at:%Y-%m-%d %H:%M} UTC"


def span(period: Period) -> str:
    """A half-open period: ``16 Apr – 1 May 2026`` (the end is the first instant not covered)."""
    return describe_span(period)


def title(kind: InvoiceKind) -> str:
    return "Credit note" if kind is InvoiceKind.CREDIT_NOTE else "Invoice"
