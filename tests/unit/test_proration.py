"""The share of a period left after a change, per proration unit, at the edges of months and years."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction

import pytest

from seatledger.domain.errors import InvalidInput
from seatledger.domain.periods import Interval, IntervalUnit, Period, period_n
from seatledger.domain.policy import ProrationUnit
from seatledger.domain.proration import prorated_fraction

MONTH = Interval(IntervalUnit.MONTH)
QUARTER = Interval(IntervalUnit.QUARTER)
YEAR = Interval(IntervalUnit.YEAR)
WEEK = Interval(IntervalUnit.WEEK)
DAY = Interval(IntervalUnit.DAY)


def utc(text: str) -> datetime:
    """An aware UTC instant from ``2026-04-16`` or ``2026-04-16T12:30:00``."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def span(start: str, end: str) -> Period:
    return Period(utc(start), utc(end))


APRIL = span("2026-04-01", "2026-05-01")
YEAR_2026 = span("2026-01-01", "2027-01-01")


@pytest.mark.parametrize(
    ("period", "at", "unit", "interval", "expected"),
    [
        pytest.param(APRIL, "2026-04-16", "second", MONTH, "1/2", id="second-half-way-april"),
        pytest.param(APRIL, "2026-04-16", "day", MONTH, "1/2", id="day-half-way-april"),
        pytest.param(APRIL, "2026-04-01", "second", MONTH, "1", id="second-at-start"),
        pytest.param(APRIL, "2026-04-01", "day", MONTH, "1", id="day-at-start"),
        pytest.param(APRIL, "2026-04-16", "none", MONTH, "1", id="none-mid-period-full-price"),
        pytest.param(
            APRIL, "2026-04-30T23:59:59", "second", MONTH, "1/2592000", id="second-last-second"
        ),
        pytest.param(APRIL, "2026-04-30T23:59:59", "day", MONTH, "1/30", id="day-last-day"),
        pytest.param(
            APRIL, "2026-04-16T23:59:59", "day", MONTH, "1/2", id="day-of-change-counts-remaining"
        ),
        pytest.param(
            APRIL,
            "2026-04-16T00:00:00.500000",
            "second",
            MONTH,
            "1295999/2592000",
            id="second-drops-the-part-second",
        ),
        pytest.param(
            span("2028-02-01", "2028-03-01"), "2028-02-15", "day", MONTH, "15/29", id="leap-feb-day"
        ),
        pytest.param(
            span("2026-02-01", "2026-03-01"),
            "2026-02-15",
            "day",
            MONTH,
            "1/2",
            id="common-feb-day",
        ),
        pytest.param(
            span("2028-01-01", "2029-01-01"),
            "2028-07-02",
            "second",
            YEAR,
            "1/2",
            id="leap-year-366-days-by-second",
        ),
        pytest.param(
            span("2026-04-06", "2026-04-13"), "2026-04-09", "day", WEEK, "4/7", id="week-by-day"
        ),
        pytest.param(
            span("2026-04-01T12:00:00", "2026-05-01T12:00:00"),
            "2026-04-30T18:00:00",
            "day",
            MONTH,
            "1/30",
            id="day-counts-utc-dates-not-24h",
        ),
        pytest.param(YEAR_2026, "2026-01-01", "month", YEAR, "1", id="month-at-year-start"),
        pytest.param(YEAR_2026, "2026-07-15", "month", YEAR, "1/2", id="month-mid-july-6-left"),
        pytest.param(YEAR_2026, "2026-07-01", "month", YEAR, "1/2", id="month-first-of-july"),
        pytest.param(
            YEAR_2026, "2026-06-30T23:59:59", "month", YEAR, "7/12", id="month-end-of-june"
        ),
        pytest.param(YEAR_2026, "2026-12-31", "month", YEAR, "1/12", id="month-last-month"),
        pytest.param(APRIL, "2026-04-30", "month", MONTH, "1", id="month-unit-monthly-full"),
        pytest.param(
            span("2026-01-01", "2026-04-01"), "2026-02-10", "month", QUARTER, "2/3", id="quarter"
        ),
    ],
)
def test_prorated_fraction(
    period: Period, at: str, unit: str, interval: Interval, expected: str
) -> None:
    assert prorated_fraction(period, utc(at), ProrationUnit(unit), interval) == Fraction(expected)


@pytest.mark.parametrize(
    ("anchor", "interval", "n", "at", "unit", "expected"),
    [
        # Anchor Jan 31: period 1 is [Feb 28, Mar 31), 31 days; Mar 15 leaves 16 of them.
        pytest.param("2026-01-31", MONTH, 1, "2026-03-15", "day", "16/31", id="jan31-anchor-day"),
        # Yearly from Jan 31: the first monthly piece ends on Feb 28 (clamped), not Mar 3.
        pytest.param("2026-01-31", YEAR, 0, "2026-02-27", "month", "1", id="jan31-year-feb-27"),
        pytest.param("2026-01-31", YEAR, 0, "2026-02-28", "month", "11/12", id="jan31-year-feb-28"),
        # Period 3 of a Feb 29 anchor is [2027-02-28, 2028-02-29): the last piece ends on Feb 29.
        pytest.param(
            "2024-02-29", YEAR, 3, "2028-02-28T12:00:00", "month", "1/12", id="feb29-anchor-last"
        ),
        pytest.param("2024-02-29", YEAR, 3, "2028-01-27", "month", "2/12", id="feb29-anchor-jan"),
    ],
)
def test_prorated_fraction_on_anchored_periods(
    anchor: str, interval: Interval, n: int, at: str, unit: str, expected: str
) -> None:
    period = period_n(utc(anchor), interval, n)
    assert prorated_fraction(period, utc(at), ProrationUnit(unit), interval) == Fraction(expected)


def test_an_instant_in_another_zone_counts_in_utc() -> None:
    # 02:00 at +02:00 on Apr 16 is Apr 16 00:00 UTC; at +03:00 it would still be Apr 15 in UTC.
    plus_two = datetime(2026, 4, 16, 2, tzinfo=timezone(timedelta(hours=2)))
    plus_three = datetime(2026, 4, 16, 2, tzinfo=timezone(timedelta(hours=3)))
    assert prorated_fraction(APRIL, plus_two, ProrationUnit.DAY, MONTH) == Fraction(15, 30)
    assert prorated_fraction(APRIL, plus_three, ProrationUnit.DAY, MONTH) == Fraction(16, 30)


@pytest.mark.parametrize(
    "at",
    [
        pytest.param("2026-03-31T23:59:59", id="before-start"),
        pytest.param("2026-05-01", id="at-end-belongs-to-next-period"),
        pytest.param("2026-06-01", id="after-end"),
    ],
)
@pytest.mark.parametrize("unit", list(ProrationUnit), ids=str)
def test_an_instant_outside_the_period_is_refused(at: str, unit: ProrationUnit) -> None:
    with pytest.raises(InvalidInput) as caught:
        prorated_fraction(APRIL, utc(at), unit, MONTH)
    assert caught.value.field == "at"
    assert at[:10] in caught.value.rule


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        prorated_fraction(APRIL, datetime(2026, 4, 16), ProrationUnit.SECOND, MONTH)  # noqa: DTZ001
    assert caught.value.field == "at"


@pytest.mark.parametrize("interval", [DAY, WEEK, Interval(IntervalUnit.WEEK, 2)], ids=str)
def test_month_unit_needs_a_month_based_interval(interval: Interval) -> None:
    period = Period(utc("2026-04-06"), utc("2026-04-06") + timedelta(days=7))
    with pytest.raises(InvalidInput) as caught:
        prorated_fraction(period, utc("2026-04-07"), ProrationUnit.MONTH, interval)
    assert caught.value.field == "proration.unit"
    assert str(interval) in caught.value.rule


@pytest.mark.parametrize(
    ("period", "unit"),
    [
        pytest.param(
            Period(utc("2026-04-01"), utc("2026-04-01T00:00:00.500000")),
            ProrationUnit.SECOND,
            id="under-a-second",
        ),
        pytest.param(
            span("2026-04-01T01:00:00", "2026-04-01T20:00:00"),
            ProrationUnit.DAY,
            id="inside-one-day",
        ),
    ],
)
def test_a_period_shorter_than_the_unit_cannot_be_prorated(
    period: Period, unit: ProrationUnit
) -> None:
    with pytest.raises(InvalidInput) as caught:
        prorated_fraction(period, period.start, unit, MONTH)
    assert caught.value.field == "period"
    assert unit.value in caught.value.rule
