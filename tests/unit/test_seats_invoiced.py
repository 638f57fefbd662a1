"""What a period invoiced for seats (``SeatsInvoiced``, read by ``credit_basis: invoiced``): the
renewal's seats line starts it, and every seat charge of the period adds its amount and share."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from seatledger.domain.billing import (
    SeatBilling,
    SeatsInvoiced,
    price_seat_change,
    record_seats_invoiced,
    renewal_lines,
)
from seatledger.domain.periods import Period
from seatledger.domain.policy import policy_from_mapping

APRIL = Period(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))
POLICY = policy_from_mapping(
    {
        "billable_roles": ["owner", "member"],
        "free_roles": [],
        "currency": "EUR",
        "interval": "month",
        "seat_price": "99.00",
        "base_price": "10.00",
        "proration": {"unit": "day", "on_increase": "charge_now", "credit_basis": "invoiced"},
    }
)


def test_a_renewal_and_a_seat_added_half_way_are_what_the_period_invoiced() -> None:
    """Renewal of 3 seats at EUR 99 (the base fee is no seat), then one more at April 16 (15 of
    30 days): 297.00 + 49.50 = 346.50 for 3 + 1/2 seat-periods, EUR 99 a seat-period."""
    lines = renewal_lines(POLICY, period=APRIL, seats_at_renewal=3, addons={})
    renewed = record_seats_invoiced(SeatBilling(APRIL, 3, 3, 3), POLICY, lines, APRIL.start)
    assert renewed.invoiced == SeatsInvoiced(amount=Decimal("297.00"), shares=Fraction(3))

    priced = price_seat_change(renewed, POLICY, datetime(2026, 4, 16, tzinfo=UTC), 4)

    assert priced.state.invoiced == SeatsInvoiced(amount=Decimal("346.50"), shares=Fraction(7, 2))
    assert priced.state.invoiced.rate == Fraction(99)
