"""The subscription columns of the proration keys, mapped to and from a ``Subscription``.

``seats_invoiced`` / ``seats_credited`` hold minor units of the policy's currency,
``seats_invoiced_shares`` the exact seat shares as ``"n/d"``, and ``seats_invoiced_for`` the period
start those figures belong to: a row whose period moved on without them (a renewal written by a
path that does not know them) reads back as "not known" (None), and its period credits on the
price. ``month_end_at`` is ``SubscriptionState``'s next monthly billing instant, if any.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Any

from seatledger.domain.billing import SeatsInvoiced
from seatledger.domain.money import Money
from seatledger.domain.policy import Policy
from seatledger.service.ports import Subscription

# The columns, in the order ``proration_values`` gives them.
PRORATION_COLUMNS = (
    "seats_invoiced",
    "seats_credited",
    "seats_invoiced_shares",
    "seats_invoiced_for",
    "month_end_at",
)


def proration_values(sub: Subscription) -> dict[str, Any]:
    """The column values of ``sub``'s proration fields."""
    invoiced = sub.seats_invoiced
    currency = sub.policy.currency
    if invoiced is None:
        figures: dict[str, Any] = dict.fromkeys(PRORATION_COLUMNS[:-1])
    else:
        figures = {
            "seats_invoiced": Money(invoiced.amount, currency).minor_units,
            "seats_credited": Money(invoiced.credited, currency).minor_units,
            "seats_invoiced_shares": f"{invoiced.shares.numerator}/{invoiced.shares.denominator}",
            "seats_invoiced_for": sub.period.start,
        }
    return figures | {"month_end_at": sub.month_end_at}


@lru_cache(maxsize=1024)
def _shares(text: str) -> Fraction:
    # Parsing "n/d" costs more than the rest of the row; the same few values come back.
    return Fraction(text)


@lru_cache(maxsize=1024)
def _invoiced(amount_minor: int, credited_minor: int, shares: str, currency: str) -> SeatsInvoiced:
    # A billing run claims thousands of rows holding the same few figures (a plan's seats at
    # its price), and a SeatsInvoiced is immutable: each is built once.
    return SeatsInvoiced(
        amount=Money.from_minor(amount_minor, currency).amount,
        shares=_shares(shares),
        credited=Money.from_minor(credited_minor, currency).amount,
    )


def proration_fields(row: Any, policy: Policy) -> dict[str, Any]:
    """The ``Subscription`` fields read from a subscriptions row (``seats_invoiced`` None where
    the row's figures are missing or belong to an earlier period)."""
    known = (
        row.seats_invoiced is not None
        and row.seats_credited is not None
        and row.seats_invoiced_shares is not None
        and row.seats_invoiced_for == row.period_start
    )
    invoiced = (
        _invoiced(
            row.seats_invoiced, row.seats_credited, row.seats_invoiced_shares, policy.currency
        )
        if known
        else None
    )
    return {"seats_invoiced": invoiced, "month_end_at": row.month_end_at}
