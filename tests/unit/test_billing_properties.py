"""Properties of proration and billing that must hold for any period, instant, price and currency.

Each guards a money bug: a change at the start not costing the full period, a change at the end
costing more than the time left, an add-then-remove that leaves a cent behind, pieces of a period
that do not add up to the period, seat-time billed twice or not at all, an invoice that goes
negative or a balance that does.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from seatledger.domain.billing import (
    SeatBilling,
    opening_lines,
    price_seat_change,
    settle_invoice,
)
from seatledger.domain.invoices import InvoiceLine, LineKind, lines_total
from seatledger.domain.money import Money, minor_unit
from seatledger.domain.periods import Interval, IntervalUnit, Period, period_n
from seatledger.domain.policy import Policy, ProrationUnit, policy_from_mapping
from seatledger.domain.proration import prorated_fraction

CURRENCIES = ("EUR", "JPY", "KWD", "USD")
INTERVALS = (
    Interval(IntervalUnit.DAY),
    Interval(IntervalUnit.WEEK),
    Interval(IntervalUnit.WEEK, 2),
    Interval(IntervalUnit.MONTH),
    Interval(IntervalUnit.QUARTER),
    Interval(IntervalUnit.YEAR),
)
CREDIT_ON_DECREASE = ("credit_now", "credit_next_invoice")
CHARGE_ON_INCREASE = ("charge_now", "next_invoice")


@dataclass(frozen=True)
class Case:
    policy: Policy
    period: Period

    def at(self, offset_seconds: int) -> datetime:
        """The instant ``offset_seconds`` into the period, kept inside it."""
        return self.period.start + timedelta(seconds=offset_seconds % self.period.seconds)

    def half_minor_units(self, lines: int) -> Fraction:
        """The largest drift ``lines`` settled lines may add up to: half a minor unit each."""
        return Fraction(lines, 2 * 10 ** minor_unit(self.policy.currency))


@st.composite
def periods(draw: st.DrawFn, interval: Interval, midnight: bool = False) -> Period:
    anchor = draw(
        st.datetimes(
            min_value=datetime(2020, 1, 1),  # noqa: DTZ001 (hypothesis takes naive bounds)
            max_value=datetime(2032, 12, 31),  # noqa: DTZ001
            timezones=st.just(UTC),
        )
    ).replace(microsecond=0)
    if midnight:
        anchor = anchor.replace(hour=0, minute=0, second=0)
    return period_n(anchor, interval, draw(st.integers(-3, 40)))


@st.composite
def cases(
    draw: st.DrawFn,
    units: tuple[str, ...] = ("second", "day", "month", "none"),
    on_increase: tuple[str, ...] = ("charge_now", "next_invoice", "none"),
    on_decrease: tuple[str, ...] = ("credit_now", "credit_next_invoice", "none"),
    midnight: bool = False,
) -> Case:
    unit = draw(st.sampled_from(units))
    interval = draw(
        st.sampled_from([i for i in INTERVALS if unit != "month" or i.months is not None])
    )
    currency = draw(st.sampled_from(CURRENCIES))
    price = Money.from_minor(draw(st.integers(0, 10**7)), currency)
    data: dict[str, Any] = {
        "billable_roles": ["owner"],
        "free_roles": [],
        "currency": currency,
        "interval": str(interval),
        "seat_price": price.format(),
        "included_seats": draw(st.integers(0, 3)),
        "proration": {
            "unit": unit,
            "on_increase": draw(st.sampled_from(on_increase)),
            "on_decrease": draw(st.sampled_from(on_decrease)),
        },
        "decrease_release": draw(st.sampled_from(["immediate", "period_end"])),
        "refill_paid_seat_free": draw(st.booleans()),
        "rounding": draw(st.sampled_from(["half_up", "half_even"])),
    }
    return Case(policy_from_mapping(data), draw(periods(interval, midnight)))


def exact(lines: tuple[InvoiceLine, ...]) -> Fraction:
    return sum((line.amount.as_fraction() for line in lines), Fraction(0))


def share_at(case: Case, at: datetime) -> Fraction:
    """The share left at ``at``, with nothing left at the period's end."""
    if at >= case.period.end:
        return Fraction(0)
    policy = case.policy
    return prorated_fraction(case.period, at, policy.proration.unit, policy.interval)


@settings(deadline=None)
@given(
    case=cases(on_increase=CHARGE_ON_INCREASE),
    seats=st.integers(0, 40),
    more=st.integers(1, 20),
)
def test_a_change_at_period_start_costs_the_full_period(case: Case, seats: int, more: int) -> None:
    policy = case.policy
    state = SeatBilling(case.period, seats, seats, seats)
    change = price_seat_change(state, policy, case.period.start, seats + more)
    quantity = policy.billed_seats(seats + more) - policy.billed_seats(seats)
    assert exact(change.charges) == policy.seat_price.as_fraction() * quantity
    assert sum(line.quantity for line in change.charges) == quantity


@settings(deadline=None)
@given(case=cases(units=("second",), on_increase=CHARGE_ON_INCREASE), more=st.integers(1, 20))
def test_a_change_in_the_last_second_costs_one_second_of_the_period(case: Case, more: int) -> None:
    last_second = case.period.end - timedelta(seconds=1)
    change = price_seat_change(
        SeatBilling(case.period, 0, 0, 0), case.policy, last_second, more + 3
    )
    one_second = (
        case.policy.seat_price.as_fraction()
        * case.policy.billed_seats(more + 3)
        / case.period.seconds
    )
    assert abs(exact(change.charges) - one_second) <= case.half_minor_units(1)


@settings(deadline=None)
@given(
    case=cases(units=("day",), on_increase=CHARGE_ON_INCREASE, midnight=True),
    into_last_day=st.integers(0, 86_399),
    more=st.integers(1, 20),
)
def test_a_change_on_the_last_day_costs_one_day_under_day_proration(
    case: Case, into_last_day: int, more: int
) -> None:
    at = case.period.end - timedelta(days=1) + timedelta(seconds=into_last_day)
    days = (case.period.end_on - case.period.start_on).days
    change = price_seat_change(SeatBilling(case.period, 0, 0, 0), case.policy, at, more + 3)
    one_day = case.policy.seat_price.as_fraction() * case.policy.billed_seats(more + 3) / days
    assert abs(exact(change.charges) - one_day) <= case.half_minor_units(1)


@settings(deadline=None)
@given(
    case=cases(on_increase=CHARGE_ON_INCREASE, on_decrease=CREDIT_ON_DECREASE),
    counts=st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40)),
    other=st.integers(0, 60),
    offset=st.integers(0, 10**9),
)
def test_a_change_undone_at_the_same_instant_nets_to_zero_under_credit_policies(
    case: Case, counts: tuple[int, int, int], other: int, offset: int
) -> None:
    at = case.at(offset)
    before = SeatBilling(case.period, *counts)
    there = price_seat_change(before, case.policy, at, other)
    back = price_seat_change(there.state, case.policy, at, before.seats_paid)
    lines = there.charges + there.credits + back.charges + back.credits
    assert exact(lines) == 0
    assert back.state.seats_paid == before.seats_paid
    assert back.state.seats_at_renewal == before.seats_paid


@settings(deadline=None)
@given(case=cases(), offset=st.integers(0, 10**9), later=st.integers(0, 10**9))
def test_the_share_left_is_between_zero_and_one_and_never_grows(
    case: Case, offset: int, later: int
) -> None:
    first, second = sorted([case.at(offset), case.at(later)])
    assert share_at(case, case.period.start) == 1
    assert 1 >= share_at(case, first) >= share_at(case, second) >= 0


@settings(deadline=None)
@given(
    case=cases(units=("second", "day", "month")),
    cuts=st.lists(st.integers(1, 10**9), max_size=12),
    quantity=st.integers(1, 30),
)
def test_the_pieces_of_a_split_period_add_up_to_the_whole(
    case: Case, cuts: list[int], quantity: int
) -> None:
    bounds = sorted({case.period.start, *(case.at(c) for c in cuts), case.period.end})
    pieces = list(itertools.pairwise(bounds))
    shares = [share_at(case, a) - share_at(case, b) for a, b in pieces]
    unit = case.policy.proration.unit
    whole_days = (case.period.end_on - case.period.start_on).days
    for (a, b), share in zip(pieces, shares, strict=True):
        assert share >= 0
        if unit is ProrationUnit.SECOND:
            assert share == Fraction((b - a) // timedelta(seconds=1), case.period.seconds)
        elif unit is ProrationUnit.DAY:
            assert share == Fraction((b.date() - a.date()).days, whole_days)
    assert sum(shares) == 1
    price = case.policy.seat_price.as_fraction() * quantity
    settled = [
        Money.settle_exact(price * share, case.policy.currency, case.policy.rounding)
        for share in shares
    ]
    drift = sum((m.as_fraction() for m in settled), Fraction(0)) - price
    assert abs(drift) <= case.half_minor_units(len(pieces))


@settings(deadline=None)
@given(
    case=cases(
        units=("second", "day"),
        on_increase=CHARGE_ON_INCREASE,
        on_decrease=CREDIT_ON_DECREASE,
    ),
    opening=st.integers(0, 30),
    changes=st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 30)), max_size=10),
)
def test_under_credit_policies_what_is_paid_is_the_seat_time_used(
    case: Case, opening: int, changes: list[tuple[int, int]]
) -> None:
    policy, period = case.policy, case.period
    steps = sorted((case.at(offset), seats) for offset, seats in changes)
    lines = opening_lines(policy, start=period.start, period=period, seats=opening, addons={})
    state = SeatBilling(period, opening, opening, opening)
    for at, seats in steps:
        change = price_seat_change(state, policy, at, seats)
        lines += change.charges + change.credits
        state = change.state
    assert {line.kind for line in lines} <= {
        LineKind.SEATS,
        LineKind.PRORATION_CHARGE,
        LineKind.PRORATION_CREDIT,
    }
    # Seat-time measured on its own: each segment's billed seats times its length in the unit.
    bounds = [period.start, *(at for at, _ in steps), period.end]
    counts = [opening, *(seats for _, seats in steps)]
    if policy.proration.unit is ProrationUnit.SECOND:
        lengths = [(b - a) // timedelta(seconds=1) for a, b in itertools.pairwise(bounds)]
        whole = period.seconds
    else:
        lengths = [(b.date() - a.date()).days for a, b in itertools.pairwise(bounds)]
        whole = (period.end_on - period.start_on).days
    seat_time = sum(
        (
            Fraction(policy.billed_seats(n) * length, whole)
            for n, length in zip(counts, lengths, strict=True)
        ),
        Fraction(0),
    )
    owed = policy.seat_price.as_fraction() * seat_time
    assert abs(exact(lines) - owed) <= case.half_minor_units(len(lines))


@settings(deadline=None)
@given(
    currency=st.sampled_from(CURRENCIES),
    amounts=st.lists(st.integers(-(10**6), 10**6), max_size=8),
    balance=st.integers(0, 10**6),
)
def test_a_settled_invoice_is_never_negative_and_loses_no_credit(
    currency: str, amounts: list[int], balance: int
) -> None:
    period = Period(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))
    lines = tuple(
        InvoiceLine(
            LineKind.PRORATION_CREDIT if minor < 0 else LineKind.PRORATION_CHARGE,
            "a line",
            1,
            Money.from_minor(minor, currency),
            Money.from_minor(minor, currency),
            period,
        )
        for minor in amounts
    )
    held = Money.from_minor(balance, currency)
    settled = settle_invoice(lines, held)

    assert not settled.total.is_negative
    assert not settled.balance_after.is_negative
    assert settled.total == lines_total(settled.lines, currency)
    assert settled.lines[: len(lines)] == lines
    assert len(settled.lines) - len(lines) <= 1
    # Nothing appears or vanishes: what the lines net to is what was invoiced plus the change in
    # the balance, and credit is either used or created, never both.
    net = lines_total(lines, currency)
    assert net == settled.total + held - settled.balance_after
    assert settled.credit_used.is_zero or settled.credit_created.is_zero
    assert settled.balance_after == held - settled.credit_used + settled.credit_created
