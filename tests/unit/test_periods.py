"""Billing periods: from a fixed anchor, half-open, with end-of-month clamping."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatledger.domain.errors import InvalidInput
from seatledger.domain.periods import (
    Interval,
    IntervalUnit,
    Period,
    add_months,
    period_at,
    period_index_at,
    period_n,
    require_utc,
)

MONTH = Interval(IntervalUnit.MONTH)


def utc(text: str) -> datetime:
    """``"2026-01-31"`` or ``"2026-01-31T10:30"`` as an aware UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def naive(text: str) -> datetime:
    """A datetime without a time zone, which the domain must refuse."""
    return datetime.fromisoformat(text)


# --- require_utc and add_months ------------------------------------------------------------------


class _NoOffset(tzinfo):
    """A tzinfo that does not know its offset: as unusable as a naive datetime."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(naive("2026-01-31"), id="naive"),
        pytest.param(datetime(2026, 1, 31, tzinfo=_NoOffset()), id="tzinfo without an offset"),
    ],
)
def test_require_utc_refuses_instants_without_an_offset(value: datetime) -> None:
    with pytest.raises(InvalidInput) as caught:
        require_utc(value, "renews_at")

    assert caught.value.field == "renews_at"
    assert "timezone-aware" in caught.value.rule


def test_require_utc_converts_other_offsets_to_utc() -> None:
    paris = datetime(2026, 4, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))

    converted = require_utc(paris)

    assert converted == utc("2026-04-01T00:00")
    assert converted.tzinfo is UTC


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        pytest.param("2026-01-31", 1, "2026-02-28", id="Jan 31 + 1 clamps to Feb 28"),
        pytest.param("2024-01-31", 1, "2024-02-29", id="Jan 31 + 1 in a leap year is Feb 29"),
        pytest.param("2026-01-31", 2, "2026-03-31", id="Jan 31 + 2 is Mar 31 again"),
        pytest.param("2026-01-31", 3, "2026-04-30", id="Jan 31 + 3 clamps to Apr 30"),
        pytest.param("2026-03-31", -1, "2026-02-28", id="Mar 31 - 1 clamps back"),
        pytest.param("2026-11-30", 3, "2027-02-28", id="across the year end"),
        pytest.param("2026-01-15", -13, "2024-12-15", id="back over a year"),
        pytest.param("2024-02-29", 12, "2025-02-28", id="leap day + a year"),
        pytest.param("2026-05-31T23:59:59", 1, "2026-06-30T23:59:59", id="time of day kept"),
    ],
)
def test_add_months_clamps_the_day(start: str, months: int, expected: str) -> None:
    assert add_months(utc(start), months) == utc(expected)


# --- intervals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "unit", "count", "months"),
    [
        pytest.param("day", IntervalUnit.DAY, 1, None, id="day"),
        pytest.param("week", IntervalUnit.WEEK, 1, None, id="week"),
        pytest.param("2 week", IntervalUnit.WEEK, 2, None, id="fortnight"),
        pytest.param("month", IntervalUnit.MONTH, 1, 1, id="month"),
        pytest.param("quarter", IntervalUnit.QUARTER, 1, 3, id="quarter"),
        pytest.param("6 month", IntervalUnit.MONTH, 6, 6, id="half year"),
        pytest.param("year", IntervalUnit.YEAR, 1, 12, id="year"),
        pytest.param("2 quarter", IntervalUnit.QUARTER, 2, 6, id="two quarters"),
    ],
)
def test_interval_parse_and_round_trip(
    text: str, unit: IntervalUnit, count: int, months: int | None
) -> None:
    interval = Interval.parse(text)

    assert (interval.unit, interval.count, interval.months) == (unit, count, months)
    assert str(interval) == text
    assert Interval.parse(str(interval)) == interval


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("monthly", id="adjective"),
        pytest.param("months", id="plural"),
        pytest.param("2 fortnight", id="unknown unit with a count"),
        pytest.param("two month", id="count in words"),
        pytest.param("1 2 month", id="three words"),
        pytest.param("", id="empty"),
    ],
)
def test_interval_parse_refusal_lists_the_units(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Interval.parse(text)

    assert caught.value.field == "interval"
    assert "day, week, month, quarter, year" in caught.value.rule
    assert repr(text) in caught.value.rule


@pytest.mark.parametrize("text", [pytest.param("0 month", id="zero months")])
def test_interval_count_must_be_at_least_one(text: str) -> None:
    with pytest.raises(InvalidInput, match="at least 1"):
        Interval.parse(text)


def test_interval_count_below_one_is_refused_directly() -> None:
    with pytest.raises(InvalidInput) as caught:
        Interval(IntervalUnit.DAY, -1)

    assert caught.value.field == "interval"


# --- periods -------------------------------------------------------------------------------------


def test_period_is_half_open() -> None:
    period = Period(utc("2026-04-01"), utc("2026-05-01"))

    assert utc("2026-04-01") in period
    assert utc("2026-04-30T23:59:59") in period
    assert utc("2026-05-01") not in period
    assert utc("2026-03-31T23:59:59") not in period
    assert period.seconds == 30 * 86_400
    assert (period.start_on, period.end_on) == (date(2026, 4, 1), date(2026, 5, 1))


def test_period_seconds_ignore_sub_second_noise() -> None:
    period = Period(utc("2026-04-01"), utc("2026-04-01T00:00:01.999999"))

    assert period.seconds == 1


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        pytest.param(naive("2026-04-01"), utc("2026-05-01"), "period_start", id="naive start"),
        pytest.param(utc("2026-04-01"), naive("2026-05-01"), "period_end", id="naive end"),
        pytest.param(utc("2026-04-01"), utc("2026-04-01"), "period_end", id="empty"),
        pytest.param(utc("2026-05-01"), utc("2026-04-01"), "period_end", id="backwards"),
    ],
)
def test_period_refuses_naive_or_empty_spans(start: datetime, end: datetime, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Period(start, end)

    assert caught.value.field == field


@pytest.mark.parametrize(
    ("anchor", "interval", "n", "start", "end"),
    [
        pytest.param("2026-01-31", "month", 0, "2026-01-31", "2026-02-28", id="Jan 31: first"),
        pytest.param("2026-01-31", "month", 1, "2026-02-28", "2026-03-31", id="Jan 31: Feb 28"),
        pytest.param("2026-01-31", "month", 2, "2026-03-31", "2026-04-30", id="Jan 31: Mar 31"),
        pytest.param("2026-01-31", "month", 3, "2026-04-30", "2026-05-31", id="Jan 31: Apr 30"),
        pytest.param(
            "2024-01-31", "month", 1, "2024-02-29", "2024-03-31", id="Jan 31: Feb 29 2024"
        ),
        pytest.param("2026-01-31", "month", -1, "2025-12-31", "2026-01-31", id="before the anchor"),
        pytest.param("2026-03-31", "month", -1, "2026-02-28", "2026-03-31", id="before, clamped"),
        pytest.param("2026-01-31", "quarter", 1, "2026-04-30", "2026-07-31", id="quarters clamp"),
        pytest.param(
            "2026-11-30", "quarter", 1, "2027-02-28", "2027-05-30", id="quarter over year"
        ),
        pytest.param("2024-02-29", "year", 1, "2025-02-28", "2026-02-28", id="leap day yearly"),
        pytest.param("2024-02-29", "year", 4, "2028-02-29", "2029-02-28", id="leap day returns"),
        pytest.param("2026-04-01", "week", 2, "2026-04-15", "2026-04-22", id="weeks"),
        pytest.param("2026-04-01", "2 week", -1, "2026-03-18", "2026-04-01", id="fortnight before"),
        pytest.param(
            "2026-04-01T12:00", "day", 30, "2026-05-01T12:00", "2026-05-02T12:00", id="days"
        ),
    ],
)
def test_period_n_from_the_anchor(anchor: str, interval: str, n: int, start: str, end: str) -> None:
    period = period_n(utc(anchor), Interval.parse(interval), n)

    assert period == Period(utc(start), utc(end))


def test_period_n_never_chains_clamped_days() -> None:
    # Chaining would give Jan 31 -> Feb 28 -> Mar 28; from the anchor it is Mar 31.
    anchor = utc("2026-01-31")
    chained_end = add_months(period_n(anchor, MONTH, 1).start, 1)

    assert period_n(anchor, MONTH, 2).start == utc("2026-03-31")
    assert chained_end == utc("2026-03-28")


def test_period_n_refuses_a_naive_anchor() -> None:
    with pytest.raises(InvalidInput) as caught:
        period_n(naive("2026-01-31"), MONTH, 0)

    assert caught.value.field == "anchor"


@pytest.mark.parametrize(
    ("anchor", "interval", "instant", "n"),
    [
        pytest.param("2026-01-31", "month", "2026-01-31", 0, id="the anchor itself"),
        pytest.param("2026-01-31", "month", "2026-02-27T23:59:59", 0, id="just before Feb 28"),
        pytest.param("2026-01-31", "month", "2026-02-28", 1, id="on the clamped bound"),
        pytest.param("2026-01-31", "month", "2026-03-30T23:59", 1, id="just before Mar 31"),
        pytest.param("2026-01-31", "month", "2026-03-31", 2, id="on Mar 31"),
        pytest.param("2026-01-31T10:00", "month", "2026-02-28T09:59", 0, id="time of day, before"),
        pytest.param("2026-01-31T10:00", "month", "2026-02-28T10:00", 1, id="time of day, on"),
        pytest.param(
            "2026-01-15T10:00", "month", "2026-03-15T09:00", 1, id="same day, earlier hour"
        ),
        pytest.param("2026-01-31", "month", "2026-01-30", -1, id="a day before the anchor"),
        pytest.param("2026-01-31", "month", "2025-12-31", -1, id="on the previous bound"),
        pytest.param("2026-01-31", "month", "2025-12-30T23:00", -2, id="two periods before"),
        pytest.param("2026-01-31", "quarter", "2026-04-29", 0, id="quarter, before clamp"),
        pytest.param("2026-01-31", "quarter", "2026-04-30", 1, id="quarter, on clamp"),
        pytest.param("2024-02-29", "year", "2025-02-28", 1, id="year after a leap day"),
        pytest.param("2024-02-29", "year", "2025-02-27T23:59", 0, id="year, before it"),
        pytest.param("2026-04-01T12:00", "week", "2026-04-08T11:59", 0, id="week, before noon"),
        pytest.param("2026-04-01T12:00", "week", "2026-04-08T12:00", 1, id="week, at noon"),
        pytest.param("2026-04-01T12:00", "day", "2026-04-01T11:59:59.999999", -1, id="day, before"),
        pytest.param("2026-04-01T12:00", "3 day", "2026-03-25T12:00", -3, id="three days, back"),
    ],
)
def test_period_index_at(anchor: str, interval: str, instant: str, n: int) -> None:
    parsed = Interval.parse(interval)

    assert period_index_at(utc(anchor), parsed, utc(instant)) == n
    assert utc(instant) in period_at(utc(anchor), parsed, utc(instant))
    assert period_at(utc(anchor), parsed, utc(instant)) == period_n(utc(anchor), parsed, n)


def test_period_index_at_reads_other_offsets_as_utc() -> None:
    # 2026-02-28T01:00+02:00 is Feb 27 23:00 UTC: still in the first period of a Jan 31 anchor.
    instant = datetime(2026, 2, 28, 1, 0, tzinfo=timezone(timedelta(hours=2)))

    assert period_index_at(utc("2026-01-31"), MONTH, instant) == 0


@pytest.mark.parametrize(
    ("anchor", "instant", "field"),
    [
        pytest.param(naive("2026-01-31"), utc("2026-02-01"), "anchor", id="naive anchor"),
        pytest.param(utc("2026-01-31"), naive("2026-02-01"), "instant", id="naive instant"),
    ],
)
def test_period_index_at_refuses_naive_datetimes(
    anchor: datetime, instant: datetime, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        period_index_at(anchor, MONTH, instant)

    assert caught.value.field == field


# --- properties ----------------------------------------------------------------------------------

INSTANTS = st.datetimes(
    min_value=datetime(1990, 1, 1),  # noqa: DTZ001
    max_value=datetime(2090, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
# Month ends are where clamping bites, so they are drawn on purpose as well as at random.
MONTH_ENDS = st.builds(
    lambda y, m, d, h: add_months(datetime(y, 1, d, h, tzinfo=UTC), m - 1),
    st.integers(1990, 2090),
    st.integers(1, 12),
    st.integers(28, 31),
    st.integers(0, 23),
)
ANCHORS = st.one_of(INSTANTS, MONTH_ENDS)
INTERVALS = st.builds(Interval, st.sampled_from(list(IntervalUnit)), st.integers(1, 4))


@given(anchor=ANCHORS, interval=INTERVALS, n=st.integers(-60, 60))
def test_periods_are_contiguous(anchor: datetime, interval: Interval, n: int) -> None:
    this, following = period_n(anchor, interval, n), period_n(anchor, interval, n + 1)

    assert this.end == following.start
    assert this.start < this.end
    assert period_index_at(anchor, interval, this.start) == n
    assert period_index_at(anchor, interval, this.end) == n + 1


@given(anchor=ANCHORS, interval=INTERVALS, instant=st.one_of(INSTANTS, MONTH_ENDS))
def test_period_at_holds_the_instant(
    anchor: datetime, interval: Interval, instant: datetime
) -> None:
    period = period_at(anchor, interval, instant)
    n = period_index_at(anchor, interval, instant)

    assert period.start <= instant < period.end
    assert period == period_n(anchor, interval, n)
    assert instant not in period_n(anchor, interval, n - 1)
    assert instant not in period_n(anchor, interval, n + 1)
