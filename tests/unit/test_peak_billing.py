"""Peak and true-up billing (``billing_basis: peak | true_up``): the arithmetic, worked example
by worked example, and its two promises as properties: a peak line is the period's most seats used
times the price, and a true-up overage is never billed twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatledger.domain.billing import SeatBilling, seat_line
from seatledger.domain.errors import InvalidInput
from seatledger.domain.invoices import LineKind
from seatledger.domain.money import Money
from seatledger.domain.peak_billing import (
    TrueUp,
    next_reconciliation,
    peak_line,
    peak_seats,
    raise_peak,
    reconciliation_instants,
    true_up,
)
from seatledger.domain.periods import Period
from seatledger.domain.policy import Policy, policy_from_mapping


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def span(start: str, end: str) -> Period:
    return Period(utc(start), utc(end))


def policy(**keys: Any) -> Policy:
    base: dict[str, Any] = {
        "billable_roles": ["owner", "member"],
        "free_roles": [],
        "currency": "USD",
        "interval": "month",
        "seat_price": "10.00",
        "proration": {"unit": "day"},
        "billing_basis": "peak",
    }
    return policy_from_mapping(base | keys)


ANNUAL: dict[str, Any] = {
    "interval": "year",
    "seat_price": "120.00",
    "seat_mode": "automatic",
    "proration": {"unit": "month"},
    "billing_basis": "true_up",
    "true_up_months": 3,
}
APRIL = span("2026-04-01", "2026-05-01")
YEAR = span("2026-01-01", "2027-01-01")


# --- the peak ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peak", "used", "expected"),
    [(None, 2, 2), (4, 2, 4), (4, 6, 6), (0, 0, 0)],
    ids=["first instant", "usage below the peak", "usage above it", "nothing used"],
)
def test_raise_peak_keeps_the_most_seats_used(peak: int | None, used: int, expected: int) -> None:
    assert raise_peak(peak, used) == expected


@pytest.mark.parametrize("used", [-1, True, 1.5])
def test_raise_peak_refuses_what_is_not_a_seat_count(used: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        raise_peak(3, used)
    assert refused.value.field == "seats_used"


@pytest.mark.parametrize(
    ("keys", "peak", "expected"),
    [({}, 3, 3), ({"min_seats": 2}, 1, 2), ({"min_seats": 2}, 5, 5)],
    ids=["no minimum", "raised to min_seats", "above min_seats"],
)
def test_peak_seats_is_never_below_min_seats(
    keys: dict[str, Any], peak: int, expected: int
) -> None:
    assert peak_seats(policy(**keys), peak) == expected


@pytest.mark.parametrize(
    ("keys", "billed_from", "peak", "quantity", "amount", "period"),
    [
        ({}, "2026-04-01", 3, 3, "30.00", ("2026-04-01", "2026-05-01")),
        ({}, "2026-04-16", 3, 3, "15.00", ("2026-04-16", "2026-05-01")),  # 3 x 10 x 15/30
        ({"included_seats": 2}, "2026-04-01", 5, 3, "30.00", ("2026-04-01", "2026-05-01")),
        ({"min_seats": 4}, "2026-04-01", 1, 4, "40.00", ("2026-04-01", "2026-05-01")),
    ],
    ids=["whole month", "leading partial month", "beyond included seats", "min seats"],
)
def test_the_peak_line_bills_the_peak_at_the_period_price(
    keys: dict[str, Any],
    billed_from: str,
    peak: int,
    quantity: int,
    amount: str,
    period: tuple[str, str],
) -> None:
    (line,) = peak_line(policy(**keys), period=APRIL, billed_from=utc(billed_from), peak=peak)

    assert line.kind is LineKind.SEATS
    assert line.quantity == quantity
    assert line.unit_amount == Money(Decimal("10.00"), "USD")
    assert line.amount == Money(Decimal(amount), "USD")
    assert line.period == span(*period)


def test_a_peak_within_the_included_seats_has_no_line() -> None:
    assert peak_line(policy(included_seats=2), period=APRIL, billed_from=APRIL.start, peak=2) == ()


@pytest.mark.parametrize(
    ("keys", "until", "amount"),
    [
        ({}, "2026-04-11", "10.00"),  # 3 x 10.00 x 10/30 days used
        ({"proration": {"unit": "none"}}, "2026-04-11", "30.00"),  # the period is owed whole
    ],
    ids=["by day", "unit none"],
)
def test_a_peak_canceled_inside_its_period_bills_the_time_used(
    keys: dict[str, Any], until: str, amount: str
) -> None:
    (line,) = peak_line(
        policy(**keys), period=APRIL, billed_from=APRIL.start, peak=3, until=utc(until)
    )

    assert line.amount == Money(Decimal(amount), "USD")
    assert line.period == span("2026-04-01", until)


@pytest.mark.parametrize("until", ["2026-04-01", "2026-05-01", "2026-03-31"])
def test_a_cancellation_instant_must_follow_the_start_inside_the_period(until: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        peak_line(policy(), period=APRIL, billed_from=APRIL.start, peak=3, until=utc(until))
    assert refused.value.field == "until"


def test_the_peak_line_refuses_a_start_outside_its_period() -> None:
    with pytest.raises(InvalidInput) as refused:
        peak_line(policy(), period=APRIL, billed_from=utc("2026-05-01"), peak=1)
    assert refused.value.field == "billed_from"


@given(
    used=st.lists(st.integers(0, 500), min_size=1, max_size=30),
    price=st.decimals(Decimal("0.01"), Decimal("999.99"), places=2),
)
def test_the_peak_line_is_the_most_seats_used_times_the_price(
    used: list[int], price: Decimal
) -> None:
    """Whatever the order seats come and go in, the line is max(used) x price, to the cent."""
    plan = policy(seat_price=str(price))
    peak: int | None = None
    for count in used:
        peak = raise_peak(peak, count)
    assert peak is not None

    lines = peak_line(plan, period=APRIL, billed_from=APRIL.start, peak=peak)

    assert sum((line.amount.amount for line in lines), Decimal(0)) == max(used) * price


# --- true-up -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "months", "expected"),
    [
        (YEAR, 3, ["2026-04-01", "2026-07-01", "2026-10-01"]),
        (span("2026-01-31", "2027-01-31"), 4, ["2026-05-31", "2026-09-30"]),  # clamped, Sep 30
        (YEAR, 12, []),
        (APRIL, 1, []),
        (span("2026-01-01", "2026-04-01"), 1, ["2026-02-01", "2026-03-01"]),
    ],
    ids=["a year by quarters", "month ends clamp", "once a year", "a month", "a quarter by months"],
)
def test_reconciliation_instants_cut_the_period_from_its_start(
    period: Period, months: int, expected: list[str]
) -> None:
    assert reconciliation_instants(period, months) == tuple(utc(t) for t in expected)


@pytest.mark.parametrize("months", [0, -3, True])
def test_reconciliation_instants_refuse_a_window_that_is_no_whole_month(months: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        reconciliation_instants(YEAR, months)
    assert refused.value.field == "true_up_months"


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        ("2026-01-01", "2026-04-01"),
        ("2026-04-01", "2026-07-01"),
        ("2026-05-20", "2026-07-01"),
        ("2026-10-01", None),
    ],
)
def test_the_next_reconciliation_follows_the_window_start(since: str, expected: str | None) -> None:
    due = next_reconciliation(YEAR, 3, utc(since))

    assert due == (None if expected is None else utc(expected))


def test_a_true_up_bills_the_peak_above_the_commitment_for_the_rest_of_the_period() -> None:
    """GitLab's quarterly reconciliation: 5 committed, a first-quarter peak of 7, reconciled
    2026-04-01 with 9 of 12 months left: 2 x 120.00 x 9/12 = 180.00, and 7 committed after."""
    outcome = true_up(policy(**ANNUAL), period=YEAR, at=utc("2026-04-01"), committed=5, peak=7)

    (line,) = outcome.lines
    assert outcome.committed == 7
    assert line.kind is LineKind.PRORATION_CHARGE
    assert line.quantity == 2
    assert line.amount == Money(Decimal("180.00"), "USD")
    assert line.period == span("2026-04-01", "2027-01-01")


@pytest.mark.parametrize("peak", [3, 5])
def test_a_peak_within_the_commitment_bills_nothing(peak: int) -> None:
    outcome = true_up(policy(**ANNUAL), period=YEAR, at=utc("2026-07-01"), committed=5, peak=peak)

    assert outcome == TrueUp(lines=(), committed=5)


def test_a_true_up_overage_of_included_seats_only_has_no_line() -> None:
    plan = policy(**ANNUAL, included_seats=4)

    outcome = true_up(plan, period=YEAR, at=utc("2026-04-01"), committed=1, peak=3)

    assert outcome == TrueUp(lines=(), committed=3)


def test_a_true_up_refuses_an_instant_outside_the_period() -> None:
    with pytest.raises(InvalidInput) as refused:
        true_up(policy(**ANNUAL), period=YEAR, at=utc("2027-01-01"), committed=1, peak=3)
    assert refused.value.field == "at"


@given(
    peaks=st.lists(st.integers(0, 200), min_size=1, max_size=12),
    committed=st.integers(0, 200),
    day=st.integers(0, 364),
)
def test_a_true_up_overage_is_never_billed_twice(
    peaks: list[int], committed: int, day: int
) -> None:
    """Reconciled again and again at one instant, a run of peaks bills each seat above the first
    commitment once: the quantities add up to max(peaks) - committed (or nothing)."""
    plan = policy(**ANNUAL)
    at = YEAR.start + timedelta(days=day)
    billed = 0
    for peak in peaks:
        outcome = true_up(plan, period=YEAR, at=at, committed=committed, peak=peak)
        billed += sum(line.quantity for line in outcome.lines)
        assert outcome.committed >= peak
        assert outcome.committed >= committed
        committed = outcome.committed
        assert true_up(plan, period=YEAR, at=at, committed=committed, peak=peak).lines == ()

    assert billed == max(0, max(peaks) - (committed - billed))


# --- the billing state and the shared seat line --------------------------------------------------


def test_seat_billing_keeps_the_peak_and_refuses_a_negative_one() -> None:
    state = SeatBilling(APRIL, 3, 3, 0, seats_peak=4, peak_since=APRIL.start)
    assert state.seats_peak == 4
    with pytest.raises(InvalidInput) as refused:
        SeatBilling(APRIL, 3, 3, 0, seats_peak=-1)
    assert refused.value.field == "seats_peak"


def test_seat_line_prices_a_share_of_the_seat_price() -> None:
    (line,) = seat_line(policy(), LineKind.SEATS, APRIL, 3, Fraction(1, 2))

    assert line.amount == Money(Decimal("15.00"), "USD")
    assert line.description.startswith("3 × Seat")
    assert seat_line(policy(), LineKind.SEATS, APRIL, 0, Fraction(1)) == ()
