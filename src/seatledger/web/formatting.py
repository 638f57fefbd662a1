"""How the admin pages write money, dates, roles and spans of time for people.

Money is formatted by Babel from the ``Decimal`` amount and the ISO 4217 code, with the currency's
own number of minor digits (EUR 49.50, JPY 1,200, KWD 1.234); nothing passes through a float.
Amounts shown are settled invoice amounts, so formatting never rounds.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from babel.dates import format_date
from babel.numbers import format_currency

from seatledger.domain.invoices import LineKind, describe_span
from seatledger.domain.money import Money
from seatledger.domain.periods import Interval, IntervalUnit, Period

DEFAULT_LOCALE = "en"

# The ISO code before the amount ("EUR 49.50"), as the seed articles and invoices write it; a minus
# sign in front for credits ("-EUR 49.50").
_MONEY_PATTERN = "¤¤ #,##0.00;-¤¤ #,##0.00"


def money(value: Money, locale: str = DEFAULT_LOCALE) -> str:
    """``Money.of("49.5", "EUR")`` is ``"EUR 49.50"``; ``JPY 1200`` is ``"JPY 1,200"``."""
    return format_currency(
        value.amount, value.currency, format=_MONEY_PATTERN, locale=locale, currency_digits=True
    )


def day(at: datetime, locale: str = DEFAULT_LOCALE) -> str:
    """The UTC date of an instant: ``16 Apr 2026``."""
    return format_date(at.date(), format="d MMM y", locale=locale)


def span(period: Period) -> str:
    """A half-open period as invoices describe it: ``16 Apr – 1 May 2026``."""
    return describe_span(period)


def duration_days(period: Period) -> int:
    """Days a period touches, a started day counting whole: ``[16 Apr 10:00, 1 May)`` is 15.

    This is how a day-prorated change is priced (the day of the change counts as remaining)."""
    length = period.end - period.start
    return length.days + (1 if length % timedelta(days=1) else 0)


def days_text(days: int) -> str:
    return "1 day" if days == 1 else f"{days} days"


def role_label(role: str) -> str:
    """``program_facilitator`` is ``Program facilitator``."""
    return role.replace("_", " ").capitalize()


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


_ADVERBS = {
    IntervalUnit.DAY: "Daily",
    IntervalUnit.WEEK: "Weekly",
    IntervalUnit.MONTH: "Monthly",
    IntervalUnit.QUARTER: "Quarterly",
    IntervalUnit.YEAR: "Yearly",
}


def interval_label(interval: Interval) -> str:
    """``month`` is ``Monthly``; ``3 month`` is ``Every 3 months``."""
    if interval.count == 1:
        return _ADVERBS[interval.unit]
    return f"Every {interval.count} {interval.unit.value}s"


def per_interval(interval: Interval) -> str:
    """``a month``, ``a year``, ``every 3 months``."""
    if interval.count == 1:
        return f"a {interval.unit.value}"
    return f"every {interval.count} {interval.unit.value}s"


LINE_KIND_LABELS = {
    LineKind.BASE: "Base fee",
    LineKind.SEATS: "Seats",
    LineKind.PRORATION_CHARGE: "Prorated charge",
    LineKind.PRORATION_CREDIT: "Prorated credit",
    LineKind.ADDON: "Add-on",
    LineKind.CREDIT_APPLIED: "Credit",
}

PRORATED_KINDS = frozenset({LineKind.PRORATION_CHARGE, LineKind.PRORATION_CREDIT})
