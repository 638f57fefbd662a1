"""The proration keys' own rules, each with a worked example (docs/proration-styles.md has the
styles that set them): who pays the day of a change, a leading period counted in months, keys
refused where they would be ignored, the credit of what was invoiced capped by what is left, and
``true_up_months``."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from seatledger.domain.billing import SeatBilling, SeatsInvoiced, price_seat_change
from seatledger.domain.errors import InvalidInput
from seatledger.domain.fair_policy import BillingBasis, billing_basis_from_mapping
from seatledger.domain.money import Money
from seatledger.domain.periods import Interval, IntervalUnit, Period
from seatledger.domain.policy import Policy, merge_policy, policy_from_mapping
from seatledger.domain.proration import leading_share, period_share
from seatledger.domain.proration_policy import (
    ChangeDay,
    ProrationPolicy,
    ProrationUnit,
    proration_from_mapping,
)

MONTH = Interval(IntervalUnit.MONTH)
YEAR = Interval(IntervalUnit.YEAR)
APRIL = Period(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))
BASE: dict[str, Any] = {
    "billable_roles": ["owner", "member"],
    "free_roles": [],
    "currency": "EUR",
    "interval": "month",
    "seat_price": "10.00",
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def policy(**overrides: Any) -> Policy:
    return policy_from_mapping(merge_policy(BASE, overrides))


# --- change_day: who pays the day of a change ---------------------------------------------------


@pytest.mark.parametrize(
    ("at", "change_day", "share"),
    [
        pytest.param("2026-04-16T10:00:00", ChangeDay.REMAINING, Fraction(15, 30), id="remaining"),
        pytest.param("2026-04-16T10:00:00", ChangeDay.USED, Fraction(14, 30), id="used"),
        pytest.param("2026-04-30T10:00:00", ChangeDay.USED, Fraction(0), id="used, last day"),
        pytest.param("2026-04-01T00:00:00", ChangeDay.USED, Fraction(1), id="used, at the start"),
    ],
)
def test_change_day_says_who_pays_the_day_of_the_change(
    at: str, change_day: ChangeDay, share: Fraction
) -> None:
    proration = ProrationPolicy(unit=ProrationUnit.DAY, change_day=change_day)

    assert period_share(APRIL, utc(at), proration, MONTH) == share


def test_change_day_used_counts_days_in_the_accounts_time_zone() -> None:
    # 23:30 UTC on April 15 is already April 16 in Berlin: the next day there starts at April 17,
    # 14 of April's 30 days left (the same as at 10:00 UTC on the 16th).
    proration = ProrationPolicy(
        unit=ProrationUnit.DAY, change_day=ChangeDay.USED, timezone="Europe/Berlin"
    )
    april_berlin = Period(utc("2026-03-31T22:00:00"), utc("2026-04-30T22:00:00"))

    assert period_share(april_berlin, utc("2026-04-15T23:30:00"), proration, MONTH) == Fraction(
        14, 30
    )


# --- a leading partial period under partial_period_basis: start_period --------------------------


@pytest.mark.parametrize(
    ("unit", "start", "anchor", "share"),
    [
        # A year from 2026-01-10: the months begun before an anchor on 2026-03-01 are January and
        # February (10 Jan - 10 Feb, 10 Feb - 10 Mar): 2 of 12.
        pytest.param(ProrationUnit.MONTH, "2026-01-10", "2026-03-01", Fraction(2, 12), id="month"),
        pytest.param(ProrationUnit.NONE, "2026-01-10", "2026-03-01", Fraction(1), id="none"),
        # 2026-01-10 to 2026-03-01 is 50 of the 365 days from 2026-01-10 to 2027-01-10.
        pytest.param(ProrationUnit.DAY, "2026-01-10", "2026-03-01", Fraction(50, 365), id="day"),
        pytest.param(ProrationUnit.MONTH, "2026-01-10", "2027-01-10", Fraction(1), id="a year"),
    ],
)
def test_a_leading_period_bills_its_share_of_the_period_from_the_start(
    unit: ProrationUnit, start: str, anchor: str, share: Fraction
) -> None:
    proration = ProrationPolicy(unit=unit)

    assert leading_share(utc(f"{start}T00:00:00"), utc(f"{anchor}T00:00:00"), proration, YEAR) == (
        share
    )


def test_a_leading_period_by_month_honours_fraction_scale() -> None:
    proration = ProrationPolicy(unit=ProrationUnit.MONTH, fraction_scale=2)

    # 1 month of 12 begun: 1/12 = 0.0833... -> 0.08.
    share = leading_share(utc("2026-01-10T00:00:00"), utc("2026-02-01T00:00:00"), proration, YEAR)

    assert share == Fraction(8, 100)


# --- keys refused where they would be ignored -------------------------------------------------


@pytest.mark.parametrize(
    ("table", "interval", "field", "rule"),
    [
        pytest.param(
            {"unit": "second", "day_count": 30},
            "month",
            "proration.day_count",
            "a fixed day count needs unit: day",
            id="day_count without day",
        ),
        pytest.param(
            {"unit": "day", "day_count": 30},
            "week",
            "proration.day_count",
            "needs a month, quarter or year interval",
            id="day_count on weeks",
        ),
        pytest.param(
            {"unit": "minute", "change_day": "used"},
            "month",
            "proration.change_day",
            "used needs unit: day",
            id="change_day without day",
        ),
        pytest.param(
            {"unit": "day", "on_increase": "monthly"},
            "week",
            "proration.on_increase",
            "monthly needs a month, quarter or year interval",
            id="monthly on weeks",
        ),
        pytest.param(
            {"unit": "day", "day_count": 45},
            "month",
            "proration.day_count",
            "must be actual or a whole number of days per month",
            id="day_count out of range",
        ),
        pytest.param(
            {"unit": "day", "day_count": True},
            "month",
            "proration.day_count",
            "must be actual or a whole number",
            id="day_count boolean",
        ),
        pytest.param(
            {"fraction_scale": -1},
            "month",
            "proration.fraction_scale",
            "must be null (exact) or a whole number of decimals",
            id="fraction_scale negative",
        ),
        pytest.param(
            {"fraction_scale": "4"},
            "month",
            "proration.fraction_scale",
            "must be null (exact) or a whole number of decimals",
            id="fraction_scale text",
        ),
        pytest.param(
            {"timezone": "Mars/Olympus"},
            "month",
            "proration.timezone",
            "",
            id="unknown time zone",
        ),
        pytest.param(
            {"timezone": 1},
            "month",
            "proration.timezone",
            "",
            id="time zone not text",
        ),
    ],
)
def test_a_key_that_would_be_ignored_or_is_malformed_is_refused_naming_it(
    table: dict[str, Any], interval: str, field: str, rule: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        proration_from_mapping(table, Interval(IntervalUnit(interval)))

    assert caught.value.field == field
    assert rule in caught.value.rule


def test_fraction_scale_and_time_zone_are_read() -> None:
    proration = proration_from_mapping(
        {"unit": "day", "fraction_scale": 4, "timezone": "America/New_York"}, MONTH
    )

    assert (proration.fraction_scale, proration.timezone) == (4, "America/New_York")


# --- credit_basis: invoiced never credits more than is left ---------------------------------------


def test_a_credit_on_what_was_invoiced_stops_at_what_earlier_credits_left() -> None:
    """Regression: a credit settled on the invoiced rate could exceed what was left to credit
    after earlier credits had each rounded up; the customer would get back more than they paid."""
    credits = policy(proration={"unit": "day", "credit_basis": "invoiced"})
    # 10.00 paid for 3 seat-periods (rate 3.333...); 9.99 of it already credited.
    state = SeatBilling(
        period=APRIL,
        seats_total=3,
        seats_at_renewal=3,
        seats_paid=3,
        invoiced=SeatsInvoiced(
            amount=Decimal("10.00"), shares=Fraction(3), credited=Decimal("9.99")
        ),
    )

    # One seat less for the whole period would be 3.33; only 0.01 is left.
    priced = price_seat_change(state, credits, APRIL.start, 2)

    assert [line.amount for line in priced.credits] == [Money.of("-0.01", "EUR")]
    assert priced.state.invoiced is not None
    assert priced.state.invoiced.left == Decimal(0)


# --- true_up_months ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        pytest.param({}, (BillingBasis.PURCHASED, 3), id="default"),
        pytest.param({"billing_basis": "peak"}, (BillingBasis.PEAK, 3), id="peak"),
        pytest.param(
            {"billing_basis": "true_up", "true_up_months": 1}, (BillingBasis.TRUE_UP, 1), id="1"
        ),
        pytest.param(
            {"billing_basis": "true_up", "true_up_months": None},
            (BillingBasis.TRUE_UP, 3),
            id="null is 3",
        ),
    ],
)
def test_billing_basis_and_true_up_months_are_read(
    table: dict[str, Any], expected: tuple[BillingBasis, int]
) -> None:
    assert billing_basis_from_mapping(table) == expected


@pytest.mark.parametrize(
    ("table", "field", "rule"),
    [
        pytest.param({"billing_basis": "max"}, "billing_basis", "must be one of", id="unknown"),
        pytest.param(
            {"billing_basis": "peak", "true_up_months": 1},
            "true_up_months",
            "applies only with billing_basis: true_up",
            id="months without true_up",
        ),
        pytest.param(
            {"billing_basis": "true_up", "true_up_months": 0},
            "true_up_months",
            "must be a whole number >= 1",
            id="zero",
        ),
        pytest.param(
            {"billing_basis": "true_up", "true_up_months": True},
            "true_up_months",
            "must be a whole number >= 1",
            id="boolean",
        ),
        pytest.param(
            {"billing_basis": "true_up", "true_up_months": "3"},
            "true_up_months",
            "must be a whole number >= 1",
            id="text",
        ),
    ],
)
def test_a_bad_billing_basis_is_refused_naming_the_key(
    table: dict[str, Any], field: str, rule: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        billing_basis_from_mapping(table)

    assert caught.value.field == field
    assert rule in caught.value.rule
