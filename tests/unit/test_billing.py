"""Billing math, worked example by worked example: the seeds' promises to the cent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from seatledger.domain.billing import (
    SeatBilling,
    addon_change_lines,
    opening_lines,
    price_seat_change,
    renewal_lines,
    settle_invoice,
)
from seatledger.domain.errors import InvalidInput
from seatledger.domain.invoices import InvoiceLine, LineKind, describe_span, lines_total
from seatledger.domain.money import Money
from seatledger.domain.periods import Interval, IntervalUnit, Period, period_n
from seatledger.domain.policy import Policy, merge_policy, policy_from_mapping


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def span(start: str, end: str) -> Period:
    return Period(utc(start), utc(end))


BASE: dict[str, Any] = {
    "billable_roles": ["owner", "member"],
    "free_roles": ["viewer"],
    "currency": "EUR",
    "interval": "month",
    "seat_price": "99.00",
}
# The seeds' rules, reduced to the keys billing reads.
REVIEWER_PRO: dict[str, Any] = {
    "base_price": "99.00",
    "included_seats": 2,
    "min_seats": 2,
    "proration": {"unit": "second", "on_increase": "charge_now", "on_decrease": "none"},
    "decrease_release": "period_end",
    "refill_paid_seat_free": True,
}
RALLLY: dict[str, Any] = {
    "currency": "USD",
    "seat_price": "7.00",
    "proration": {"unit": "second", "on_increase": "charge_now", "on_decrease": "credit_now"},
    "decrease_release": "immediate",
}
VOLTASIS: dict[str, Any] = {
    "seat_price": "12.00",
    "seat_mode": "automatic",
    "proration": {
        "unit": "day",
        "on_increase": "next_invoice",
        "on_decrease": "credit_next_invoice",
    },
    "decrease_release": "period_end",
}
VOLTASIS_ANNUAL: dict[str, Any] = VOLTASIS | {
    "interval": "year",
    "seat_price": "120.00",
    "proration": VOLTASIS["proration"] | {"unit": "month"},
}
PLAKY: dict[str, Any] = {
    "proration": {"unit": "day", "on_increase": "charge_now", "on_decrease": "none"},
    "decrease_release": "immediate",
}
UPCOACH: dict[str, Any] = {
    "base_price": "200.00",
    "included_seats": 5,
    "proration": {"unit": "day"},
    "addons": {
        "seat_pack": {"seats": 5, "price": "50.00"},
        "big_pack": {"seats": 20, "price": "150.00"},
    },
}


def make_policy(*layers: Mapping[str, Any]) -> Policy:
    data: dict[str, Any] = dict(BASE)
    for layer in layers:
        data = merge_policy(data, layer)
    return policy_from_mapping(data)


APRIL = span("2026-04-01", "2026-05-01")
MAY = span("2026-05-01", "2026-06-01")


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def amounts(lines: tuple[InvoiceLine, ...]) -> list[str]:
    return [line.amount.format() for line in lines]


# --- reviewer Pro: the seed's own numbers ------------------------------------------------------


def test_reviewer_third_seat_half_way_costs_half_a_seat_and_renews_at_198() -> None:
    policy = make_policy(REVIEWER_PRO)
    opening = opening_lines(policy, start=APRIL.start, period=APRIL, seats=2, addons={})
    assert [(line.kind, line.amount.format()) for line in opening] == [(LineKind.BASE, "99.00")]

    change = price_seat_change(SeatBilling(APRIL, 2, 2, 2), policy, utc("2026-04-16"), 3)

    (charge,) = change.charges
    assert change.credits == ()
    assert (charge.kind, charge.quantity, charge.unit_amount, charge.amount) == (
        LineKind.PRORATION_CHARGE,
        1,
        eur("99.00"),
        eur("49.50"),
    )
    assert charge.period == Period(utc("2026-04-16"), APRIL.end)
    assert charge.description == "1 × Seat, 16 Apr – 1 May 2026, prorated"
    assert change.state == SeatBilling(APRIL, seats_total=3, seats_at_renewal=3, seats_paid=3)
    renewal = renewal_lines(policy, period=MAY, seats_at_renewal=3, addons={})
    assert lines_total(renewal, "EUR") == eur("198.00")
    assert [line.description for line in renewal] == [
        "Base fee, 1 May – 1 Jun 2026",
        "1 × Seat, 1 May – 1 Jun 2026",
    ]


def test_reviewer_removed_seat_is_kept_unrefunded_and_refilled_free() -> None:
    policy = make_policy(REVIEWER_PRO)
    removed = price_seat_change(SeatBilling(APRIL, 3, 3, 3), policy, utc("2026-04-16"), 2)

    assert removed.charges == removed.credits == ()
    assert removed.state == SeatBilling(APRIL, seats_total=3, seats_at_renewal=2, seats_paid=3)
    renewal = renewal_lines(policy, period=MAY, seats_at_renewal=2, addons={})
    assert lines_total(renewal, "EUR") == eur("99.00")

    added_back = price_seat_change(removed.state, policy, utc("2026-04-25"), 3)
    assert added_back.charges == added_back.credits == ()
    assert added_back.state == SeatBilling(APRIL, 3, 3, 3)


def test_reviewer_seats_inside_the_included_two_cost_nothing() -> None:
    policy = make_policy(REVIEWER_PRO)
    change = price_seat_change(SeatBilling(APRIL, 1, 1, 1), policy, utc("2026-04-16"), 2)
    assert change.charges == ()
    assert change.state == SeatBilling(APRIL, 2, 2, 2)


def test_reviewer_going_past_the_included_seats_bills_only_the_extra_ones() -> None:
    policy = make_policy(REVIEWER_PRO)
    change = price_seat_change(SeatBilling(APRIL, 1, 1, 1), policy, utc("2026-04-16"), 4)
    assert [(line.quantity, line.amount.format()) for line in change.charges] == [(2, "99.00")]


# --- the policy table of price_seat_change -----------------------------------------------------


@dataclass(frozen=True)
class SeatCase:
    layers: tuple[Mapping[str, Any], ...]
    before: tuple[int, int, int]  # seats_total, seats_at_renewal, seats_paid
    at: str
    new_total: int
    after: tuple[int, int, int]
    charges: list[tuple[int, str]] = field(default_factory=list)  # (quantity, amount)
    credits: list[tuple[int, str]] = field(default_factory=list)
    period: Period = APRIL


SEAT_CASES = [
    pytest.param(
        SeatCase((RALLLY,), (5, 5, 5), "2026-04-16", 7, (7, 7, 7), charges=[(2, "7.00")]),
        id="rallly-increase-charge-now",
    ),
    pytest.param(
        SeatCase((RALLLY,), (5, 5, 5), "2026-04-16", 3, (3, 3, 3), credits=[(2, "-7.00")]),
        id="rallly-decrease-credit-now-released-at-once",
    ),
    pytest.param(
        SeatCase((RALLLY,), (5, 5, 5), "2026-04-16", 5, (5, 5, 5)),
        id="rallly-same-count-no-lines",
    ),
    pytest.param(
        SeatCase((VOLTASIS,), (4, 4, 4), "2026-04-21", 5, (5, 5, 5), charges=[(1, "4.00")]),
        id="voltasis-day-based-10-of-30-days",
    ),
    pytest.param(
        SeatCase((VOLTASIS,), (4, 4, 4), "2026-04-21", 3, (4, 3, 3), credits=[(1, "-4.00")]),
        id="voltasis-decrease-credit-kept-until-period-end",
    ),
    pytest.param(
        SeatCase((VOLTASIS,), (5, 3, 3), "2026-04-21", 4, (5, 4, 4), charges=[(1, "4.00")]),
        id="voltasis-refill-after-credit-is-charged-again",
    ),
    pytest.param(
        SeatCase(
            (VOLTASIS_ANNUAL,),
            (4, 4, 4),
            "2026-07-15",
            5,
            (5, 5, 5),
            charges=[(1, "60.00")],
            period=span("2026-01-01", "2027-01-01"),
        ),
        id="voltasis-annual-6-of-12-months",
    ),
    pytest.param(
        SeatCase(
            (VOLTASIS_ANNUAL,),
            (4, 4, 4),
            "2026-12-31T23:00:00",
            3,
            (4, 3, 3),
            credits=[(1, "-10.00")],
            period=span("2026-01-01", "2027-01-01"),
        ),
        id="voltasis-annual-credit-last-month",
    ),
    pytest.param(
        SeatCase((PLAKY,), (4, 4, 4), "2026-04-16", 3, (3, 3, 3)),
        id="plaky-decrease-no-refund-released",
    ),
    pytest.param(
        SeatCase((PLAKY,), (3, 3, 3), "2026-04-16", 4, (4, 4, 4), charges=[(1, "49.50")]),
        id="plaky-re-adding-a-removed-seat-costs-again",
    ),
    pytest.param(
        SeatCase(
            (RALLLY, {"proration": {"on_increase": "none"}}), (5, 5, 5), "2026-04-16", 6, (6, 6, 6)
        ),
        id="on-increase-none-gives-the-seat-until-renewal",
    ),
    pytest.param(
        SeatCase(
            (RALLLY, {"proration": {"unit": "none"}}),
            (5, 5, 5),
            "2026-04-30",
            6,
            (6, 6, 6),
            charges=[(1, "7.00")],
        ),
        id="unit-none-full-price-mid-period",
    ),
    pytest.param(
        SeatCase((RALLLY,), (5, 5, 5), "2026-04-01", 6, (6, 6, 6), charges=[(1, "7.00")]),
        id="at-period-start-full-price",
    ),
    pytest.param(
        SeatCase(
            (RALLLY, {"decrease_release": "period_end"}),
            (6, 6, 4),
            "2026-04-16",
            5,
            (6, 5, 5),
            charges=[(1, "3.50")],
        ),
        id="increase-under-a-kept-capacity-keeps-it",
    ),
    pytest.param(
        SeatCase(
            (REVIEWER_PRO, {"proration": {"on_decrease": "credit_now"}}),
            (3, 3, 3),
            "2026-04-16",
            1,
            (3, 1, 1),
            credits=[(1, "-49.50")],
        ),
        id="credit-counts-billed-seats-only",
    ),
    pytest.param(
        SeatCase((BASE,), (2, 2, 2), "2026-04-30T23:59:59", 1, (1, 1, 1), credits=[(1, "0.00")]),
        id="a-credit-that-settles-to-zero-is-plain-zero",
    ),
]


@pytest.mark.parametrize("case", SEAT_CASES)
def test_price_seat_change(case: SeatCase) -> None:
    policy = make_policy(*case.layers)
    change = price_seat_change(
        SeatBilling(case.period, *case.before), policy, utc(case.at), case.new_total
    )

    assert [(line.quantity, line.amount.format()) for line in change.charges] == case.charges
    assert [(line.quantity, line.amount.format()) for line in change.credits] == case.credits
    assert {line.kind for line in change.charges} <= {LineKind.PRORATION_CHARGE}
    assert {line.kind for line in change.credits} <= {LineKind.PRORATION_CREDIT}
    for line in change.charges + change.credits:
        assert line.period == Period(utc(case.at), case.period.end)
        assert line.unit_amount == policy.seat_price
        assert not line.amount.amount.is_signed() or not line.amount.is_zero
    state = change.state
    assert (state.seats_total, state.seats_at_renewal, state.seats_paid) == case.after
    assert state.period == case.period


def test_a_credit_line_reads_as_unused_time() -> None:
    change = price_seat_change(
        SeatBilling(APRIL, 5, 5, 5), make_policy(RALLLY), utc("2026-04-16"), 3
    )
    assert [line.description for line in change.credits] == [
        "Unused time on 2 × Seat, 16 Apr – 1 May 2026"
    ]


@pytest.mark.parametrize(
    ("currency", "price", "rounding", "period", "at", "expected"),
    [
        pytest.param("JPY", "1000", "half_up", APRIL, "2026-04-21", "333", id="jpy-10-of-30-days"),
        pytest.param("JPY", "5", "half_up", APRIL, "2026-04-16", "3", id="jpy-half-up-2.5"),
        pytest.param("JPY", "5", "half_even", APRIL, "2026-04-16", "2", id="jpy-half-even-2.5"),
        pytest.param("KWD", "10.000", "half_up", APRIL, "2026-04-21", "3.333", id="kwd-3-decimals"),
        pytest.param("KWD", "0.005", "half_up", APRIL, "2026-04-16", "0.003", id="kwd-half-up"),
        pytest.param(
            "EUR",
            "99.00",
            "half_up",
            span("2028-02-01", "2028-03-01"),
            "2028-02-15",
            "51.21",
            id="eur-leap-february-15-of-29-days",
        ),
        pytest.param(
            "EUR",
            "99.00",
            "half_up",
            period_n(utc("2026-01-31"), Interval(IntervalUnit.MONTH), 1),
            "2026-03-15",
            "51.10",
            id="eur-anchor-jan-31-feb-28-to-mar-31",
        ),
    ],
)
def test_a_seat_settles_in_the_currencys_minor_unit(
    currency: str, price: str, rounding: str, period: Period, at: str, expected: str
) -> None:
    policy = make_policy(PLAKY, {"currency": currency, "seat_price": price, "rounding": rounding})
    change = price_seat_change(SeatBilling(period, 1, 1, 1), policy, utc(at), 2)
    (charge,) = change.charges
    assert charge.amount == Money.of(expected, currency)
    assert charge.amount.format() == expected


def test_anchor_jan_31_line_shows_its_clamped_period() -> None:
    period = period_n(utc("2026-01-31"), Interval(IntervalUnit.MONTH), 1)
    change = price_seat_change(
        SeatBilling(period, 1, 1, 1), make_policy(PLAKY), utc("2026-03-15"), 2
    )
    assert change.charges[0].description == "1 × Seat, 15 Mar – 31 Mar 2026, prorated"


@pytest.mark.parametrize(
    ("before", "new_total", "at", "field"),
    [
        pytest.param((2, 2, 2), -1, "2026-04-16", "seats", id="negative-seats"),
        pytest.param((2, 2, 2), True, "2026-04-16", "seats", id="bool-seats"),
        pytest.param((2, 2, 2), 3, "2026-05-01", "at", id="at-period-end"),
        pytest.param((2, 2, 2), 3, "2026-03-31", "at", id="before-period"),
    ],
)
def test_a_seat_change_refuses_bad_input(
    before: tuple[int, int, int], new_total: int, at: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        price_seat_change(SeatBilling(APRIL, *before), make_policy(RALLLY), utc(at), new_total)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("counts", "field"),
    [
        pytest.param((-1, 0, 0), "seats_total", id="seats-total"),
        pytest.param((0, -1, 0), "seats_at_renewal", id="seats-at-renewal"),
        pytest.param((0, 0, -1), "seats_paid", id="seats-paid"),
    ],
)
def test_a_billing_state_has_no_negative_counts(counts: tuple[int, int, int], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        SeatBilling(APRIL, *counts)
    assert caught.value.field == field


# --- opening and renewal ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layers", "start", "period", "seats", "addons", "expected"),
    [
        pytest.param(
            (REVIEWER_PRO,),
            "2026-04-01",
            APRIL,
            3,
            {},
            [("base", 1, "99.00"), ("seats", 1, "99.00")],
            id="reviewer-3-seats-full-month",
        ),
        pytest.param(
            (REVIEWER_PRO, {"proration": {"unit": "day"}}),
            "2026-04-10",
            period_n(utc("2026-05-01"), Interval(IntervalUnit.MONTH), -1),
            3,
            {},
            [("base", 1, "69.30"), ("seats", 1, "69.30")],
            id="leading-partial-period-before-a-may-1-anchor",
        ),
        pytest.param(
            (REVIEWER_PRO, {"proration": {"unit": "none"}}),
            "2026-04-10",
            APRIL,
            2,
            {},
            [("base", 1, "99.00")],
            id="unit-none-opens-at-full-price",
        ),
        pytest.param(
            (RALLLY,),
            "2026-04-01",
            APRIL,
            0,
            {},
            [],
            id="no-base-no-seats-no-lines",
        ),
        pytest.param(
            (UPCOACH,),
            "2026-04-16",
            APRIL,
            7,
            {"seat_pack": 2, "big_pack": 0},
            [("base", 1, "100.00"), ("seats", 2, "99.00"), ("addon", 2, "50.00")],
            id="upcoach-addon-half-month",
        ),
        pytest.param(
            (VOLTASIS_ANNUAL,),
            "2026-10-20",
            span("2026-01-01", "2027-01-01"),
            2,
            {},
            [("seats", 2, "60.00")],
            id="voltasis-annual-opening-3-of-12-months",
        ),
    ],
)
def test_opening_lines(
    layers: tuple[Mapping[str, Any], ...],
    start: str,
    period: Period,
    seats: int,
    addons: dict[str, int],
    expected: list[tuple[str, int, str]],
) -> None:
    policy = make_policy(*layers)
    lines = opening_lines(policy, start=utc(start), period=period, seats=seats, addons=addons)
    assert [(line.kind.value, line.quantity, line.amount.format()) for line in lines] == expected
    for line in lines:
        assert line.period == Period(utc(start), period.end)


def test_a_leading_partial_period_says_prorated_and_shows_its_dates() -> None:
    policy = make_policy(REVIEWER_PRO, {"proration": {"unit": "day"}})
    lines = opening_lines(policy, start=utc("2026-04-10"), period=APRIL, seats=3, addons={})
    assert [line.description for line in lines] == [
        "Base fee, 10 Apr – 1 May 2026, prorated",
        "1 × Seat, 10 Apr – 1 May 2026, prorated",
    ]


def test_renewal_lines_bill_the_whole_period_with_addons_in_name_order() -> None:
    policy = make_policy(UPCOACH)
    lines = renewal_lines(
        policy, period=MAY, seats_at_renewal=6, addons={"seat_pack": 1, "big_pack": 2}
    )
    assert [(line.kind.value, line.quantity, line.amount.format()) for line in lines] == [
        ("base", 1, "200.00"),
        ("seats", 1, "99.00"),
        ("addon", 2, "300.00"),
        ("addon", 1, "50.00"),
    ]
    assert lines[2].description == "2 × Add-on big_pack (20 seats), 1 May – 1 Jun 2026"
    assert all(line.period == MAY for line in lines)


def test_renewal_lines_asked_again_are_the_same_and_each_policy_and_period_has_its_own() -> None:
    # The lines of recent renewals are kept (a billing run prices thousands alike): asked again
    # they are the very same, and an equal but other policy, another period, seat count or
    # add-ons each get lines of their own, right however many are asked.
    policy = make_policy(UPCOACH)
    first = renewal_lines(policy, period=MAY, seats_at_renewal=6, addons={"seat_pack": 1})
    assert renewal_lines(policy, period=MAY, seats_at_renewal=6, addons={"seat_pack": 1}) is first
    other = make_policy(UPCOACH)
    assert renewal_lines(other, period=MAY, seats_at_renewal=6, addons={"seat_pack": 1}) == first
    cheaper = make_policy(UPCOACH, {"seat_price": "10.00"})
    assert renewal_lines(cheaper, period=MAY, seats_at_renewal=6, addons={"seat_pack": 1}) != first
    assert renewal_lines(policy, period=APRIL, seats_at_renewal=6, addons={})[0].period == APRIL
    for seats in range(100):
        lines = renewal_lines(policy, period=MAY, seats_at_renewal=seats, addons={})
        expected = policy.seat_price * policy.billed_seats(seats)
        assert lines_total(lines, "EUR") == policy.base_price + expected
    assert renewal_lines(policy, period=MAY, seats_at_renewal=6, addons={"seat_pack": 1}) == first


@pytest.mark.parametrize(
    ("seats", "addons", "field"),
    [
        pytest.param(-1, {}, "seats", id="negative-seats"),
        pytest.param(2, {"seat_pack": -1}, "addons.seat_pack", id="negative-addon"),
        pytest.param(2, {"nope": 1}, "addon", id="unknown-addon"),
    ],
)
def test_recurring_lines_refuse_bad_counts(seats: int, addons: dict[str, int], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        renewal_lines(make_policy(UPCOACH), period=MAY, seats_at_renewal=seats, addons=addons)
    assert caught.value.field == field


def test_an_unknown_addon_names_the_plans_addons() -> None:
    with pytest.raises(InvalidInput) as caught:
        renewal_lines(make_policy(RALLLY), period=MAY, seats_at_renewal=1, addons={"x": 1})
    assert "(none)" in caught.value.rule
    with pytest.raises(InvalidInput) as caught:
        renewal_lines(make_policy(UPCOACH), period=MAY, seats_at_renewal=1, addons={"x": 1})
    assert "big_pack, seat_pack" in caught.value.rule


def test_an_opening_outside_its_period_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        opening_lines(
            make_policy(RALLLY), start=utc("2026-05-01"), period=APRIL, seats=1, addons={}
        )
    assert caught.value.field == "start"


# --- add-ons -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layers", "old", "new", "expected"),
    [
        pytest.param((UPCOACH,), 0, 1, [("proration_charge", 1, "25.00")], id="buy-one-pack"),
        pytest.param((UPCOACH,), 3, 1, [("proration_credit", 2, "-50.00")], id="drop-two-packs"),
        pytest.param((UPCOACH,), 2, 2, [], id="no-change"),
        pytest.param(
            (UPCOACH, {"proration": {"on_increase": "none"}}), 0, 1, [], id="on-increase-none"
        ),
        pytest.param(
            (UPCOACH, {"proration": {"on_decrease": "none"}}), 1, 0, [], id="on-decrease-none"
        ),
    ],
)
def test_addon_change_lines(
    layers: tuple[Mapping[str, Any], ...], old: int, new: int, expected: list[tuple[str, int, str]]
) -> None:
    lines = addon_change_lines(
        make_policy(*layers),
        period=APRIL,
        at=utc("2026-04-16"),
        name="seat_pack",
        old_count=old,
        new_count=new,
    )
    assert [(line.kind.value, line.quantity, line.amount.format()) for line in lines] == expected
    for line in lines:
        assert line.period == Period(utc("2026-04-16"), APRIL.end)
        assert line.unit_amount == eur("50.00")


def test_an_addon_charge_reads_like_a_seat_charge() -> None:
    (line,) = addon_change_lines(
        make_policy(UPCOACH),
        period=APRIL,
        at=utc("2026-04-16"),
        name="seat_pack",
        old_count=0,
        new_count=1,
    )
    assert line.description == "1 × Add-on seat_pack (5 seats), 16 Apr – 1 May 2026, prorated"


@pytest.mark.parametrize(
    ("name", "old", "new", "field"),
    [
        pytest.param("nope", 0, 1, "addon", id="unknown"),
        pytest.param("seat_pack", -1, 1, "old_count", id="negative-old"),
        pytest.param("seat_pack", 0, -1, "new_count", id="negative-new"),
    ],
)
def test_addon_change_refuses_bad_input(name: str, old: int, new: int, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        addon_change_lines(
            make_policy(UPCOACH),
            period=APRIL,
            at=utc("2026-04-16"),
            name=name,
            old_count=old,
            new_count=new,
        )
    assert caught.value.field == field


# --- settling an invoice against the credit balance --------------------------------------------


def line(amount: str, start: str = "2026-04-16", end: str = "2026-05-01") -> InvoiceLine:
    money = eur(amount)
    kind = LineKind.PRORATION_CREDIT if money.is_negative else LineKind.PRORATION_CHARGE
    return InvoiceLine(kind, "a line", 1, money, money, span(start, end))


@pytest.mark.parametrize(
    ("lines", "balance", "applied", "total", "balance_after", "used", "created"),
    [
        pytest.param(["49.50"], "0.00", None, "49.50", "0.00", "0.00", "0.00", id="no-balance"),
        pytest.param(
            ["49.50"], "10.00", "-10.00", "39.50", "0.00", "10.00", "0.00", id="balance-covers-part"
        ),
        pytest.param(
            ["49.50"], "100.00", "-49.50", "0.00", "50.50", "49.50", "0.00", id="balance-covers-all"
        ),
        pytest.param(
            ["49.50", "-99.00"],
            "10.00",
            "49.50",
            "0.00",
            "59.50",
            "0.00",
            "49.50",
            id="credits-exceed-charges-go-to-balance",
        ),
        pytest.param(
            ["99.00", "-49.50"],
            "0.00",
            None,
            "49.50",
            "0.00",
            "0.00",
            "0.00",
            id="credits-net-against-charges",
        ),
        pytest.param([], "5.00", None, "0.00", "5.00", "0.00", "0.00", id="empty-invoice"),
    ],
)
def test_settle_invoice(
    lines: list[str],
    balance: str,
    applied: str | None,
    total: str,
    balance_after: str,
    used: str,
    created: str,
) -> None:
    given = tuple(line(amount) for amount in lines)
    settled = settle_invoice(given, eur(balance))

    assert settled.lines[: len(given)] == given
    extra = settled.lines[len(given) :]
    assert [entry.amount.format() for entry in extra] == ([] if applied is None else [applied])
    assert all(entry.kind is LineKind.CREDIT_APPLIED for entry in extra)
    assert settled.total.format() == total
    assert settled.total == lines_total(settled.lines, "EUR")
    assert settled.balance_after.format() == balance_after
    assert settled.credit_used.format() == used
    assert settled.credit_created.format() == created


def test_the_credit_applied_line_covers_the_span_of_the_invoice() -> None:
    settled = settle_invoice(
        (line("10.00", "2026-04-16", "2026-05-01"), line("99.00", "2026-05-01", "2026-06-01")),
        eur("20.00"),
    )
    applied = settled.lines[-1]
    assert applied.period == span("2026-04-16", "2026-06-01")
    assert applied.description == "Credit applied from your balance"
    assert (applied.quantity, applied.unit_amount) == (1, eur("-20.00"))


def test_a_surplus_credit_line_says_where_it_went() -> None:
    settled = settle_invoice((line("-5.00"),), eur("0.00"))
    assert settled.lines[-1].description == "Credit carried to your balance"


def test_a_negative_balance_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        settle_invoice((line("10.00"),), eur("-0.01"))
    assert caught.value.field == "balance"


def test_a_balance_in_another_currency_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot combine"):
        settle_invoice((line("10.00"),), Money.of("5.00", "USD"))


# --- invoice lines ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "unit_amount", "amount", "message"),
    [
        pytest.param(1, eur("1.00"), eur("0.005"), "not settled", id="unsettled"),
        pytest.param(0, eur("1.00"), eur("0.00"), "at least 1", id="quantity-zero"),
        pytest.param(1, Money.of("1.00", "USD"), eur("1.00"), "mixes USD and EUR", id="mixed"),
    ],
)
def test_an_invoice_line_refuses_what_cannot_be_billed(
    quantity: int, unit_amount: Money, amount: Money, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        InvoiceLine(LineKind.SEATS, "x", quantity, unit_amount, amount, APRIL)


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        pytest.param(APRIL, "1 Apr – 1 May 2026", id="same-year"),
        pytest.param(span("2026-12-15", "2027-01-01"), "15 Dec 2026 – 1 Jan 2027", id="new-year"),
        pytest.param(span("2026-01-01", "2027-01-01"), "1 Jan 2026 – 1 Jan 2027", id="a-year"),
    ],
)
def test_describe_span(period: Period, expected: str) -> None:
    assert describe_span(period) == expected
