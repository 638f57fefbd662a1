"""Billing periods: computed from a fixed anchor, half-open, with end-of-month clamping.

Period ``n`` of a subscription is ``[anchor + n*interval, anchor + (n+1)*interval)``. Each bound is
computed from the anchor itself, never by adding an interval to the previous bound, so a day lost to
a short month is not lost for good: anchor Jan 31 gives Feb 28 (Feb 29 in a leap year), then Mar 31,
Apr 30, May 31. All instants are timezone-aware UTC.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from seatledger.domain.errors import InvalidInput


class IntervalUnit(StrEnum):
    """The unit of a billing interval; month, quarter and year are calendar months (clamped)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


_MONTHS_PER_UNIT = {IntervalUnit.MONTH: 1, IntervalUnit.QUARTER: 3, IntervalUnit.YEAR: 12}
_DAYS_PER_UNIT = {IntervalUnit.DAY: 1, IntervalUnit.WEEK: 7}


def require_utc(value: datetime, field: str = "instant") -> datetime:
    """``value`` if it is timezone-aware, converted to UTC; naive datetimes are refused."""
    if value.tzinfo is UTC:
        return value  # the common case, and a conversion would only copy it
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            field, f"must be a timezone-aware instant, got naive {value.isoformat()}"
        )
    return value.astimezone(UTC)


def add_months(instant: datetime, months: int) -> datetime:
    """``instant`` moved by ``months`` calendar months, the day clamped to the target month's end.

    ``add_months(Jan 31, 1)`` is Feb 28 (29 in a leap year); the time of day is kept.
    """
    index = instant.year * 12 + (instant.month - 1) + months
    year, month0 = divmod(index, 12)
    day = min(instant.day, calendar.monthrange(year, month0 + 1)[1])
    return instant.replace(year=year, month=month0 + 1, day=day)


@dataclass(frozen=True, slots=True)
class Interval:
    """A billing interval: ``count`` times a unit (``Interval(IntervalUnit.MONTH, 1)``)."""

    unit: IntervalUnit
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1:
            raise InvalidInput("interval", f"count must be at least 1, got {self.count}")

    @classmethod
    def parse(cls, text: str) -> Interval:
        """``"month"``, ``"year"``, or a multiple such as ``"2 week"`` / ``"3 month"``."""
        parts = text.split()
        allowed = ", ".join(u.value for u in IntervalUnit)
        try:
            if len(parts) == 1:
                return cls(IntervalUnit(parts[0]))
            if len(parts) == 2 and parts[0].isdigit():
                return cls(IntervalUnit(parts[1]), int(parts[0]))
        except ValueError:
            pass
        raise InvalidInput("interval", f"must be one of {allowed}, or 'N unit', got {text!r}")

    def __str__(self) -> str:
        return self.unit.value if self.count == 1 else f"{self.count} {self.unit.value}"

    @property
    def months(self) -> int | None:
        """Calendar months per interval, or None for day-based intervals."""
        per = _MONTHS_PER_UNIT.get(self.unit)
        return None if per is None else per * self.count

    def shift(self, anchor: datetime, n: int) -> datetime:
        """``anchor + n`` intervals, computed from the anchor (clamped, never chained)."""
        months = self.months
        if months is None:
            return anchor + timedelta(days=_DAYS_PER_UNIT[self.unit] * self.count * n)
        return add_months(anchor, months * n)


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open span of time ``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        require_utc(self.start, "period_start")
        require_utc(self.end, "period_end")
        if self.end <= self.start:
            raise InvalidInput("period_end", "must be after period_start")

    def __contains__(self, instant: datetime) -> bool:
        return self.start <= instant < self.end

    @property
    def seconds(self) -> int:
        """Whole seconds in the period (bounds are whole seconds in practice)."""
        return _whole_seconds(self.end - self.start)

    @property
    def start_on(self) -> date:
        """The UTC date of ``start``, the first instant covered."""
        return self.start.date()

    @property
    def end_on(self) -> date:
        """The UTC date of ``end``, the first instant no longer covered (half-open)."""
        return self.end.date()


def _whole_seconds(delta: timedelta) -> int:
    # timedelta keeps days, seconds and microseconds as integers: no float on the way.
    return delta.days * 86_400 + delta.seconds


def period_n(anchor: datetime, interval: Interval, n: int) -> Period:
    """Period ``n`` (0-based; negative before the anchor) of a subscription anchored at ``anchor``.

    Half-open ``[anchor + n intervals, anchor + (n+1) intervals)``, both bounds computed from the
    anchor in UTC with the day clamped to the month's end, so the end of period ``n`` is exactly
    the start of period ``n + 1``. A naive ``anchor`` is an ``InvalidInput``.
    ``period_n(2026-01-31, month, 1)`` is ``[2026-02-28, 2026-03-31)``.
    """
    anchor = require_utc(anchor, "anchor")
    return Period(interval.shift(anchor, n), interval.shift(anchor, n + 1))


def period_index_at(anchor: datetime, interval: Interval, instant: datetime) -> int:
    """The index ``n`` of the period that holds ``instant`` (``start <= instant < end``).

    An instant exactly on a bound belongs to the period it starts; one before the anchor gives a
    negative index. Both datetimes must be timezone-aware (``InvalidInput`` otherwise).
    ``period_index_at(2026-01-31, month, 2026-03-30T23:59Z)`` is 1 (``[Feb 28, Mar 31)``).
    """
    anchor = require_utc(anchor, "anchor")
    instant = require_utc(instant, "instant")
    months = interval.months
    if months is None:
        # Fixed-length periods: whole elapsed seconds floor-divided by the period's length is exact
        # (flooring also handles instants before the anchor).
        days = _DAYS_PER_UNIT[interval.unit] * interval.count
        return _whole_seconds(instant - anchor) // (days * 86_400)
    elapsed = (instant.year - anchor.year) * 12 + (instant.month - anchor.month)
    n = elapsed // months
    # Period n starts in the instant's calendar month or earlier, and period n + 1 starts in a later
    # month. Only when n starts in that same month can its (clamped) day or time of day fall after
    # the instant; then period n - 1, which starts in an earlier month, holds it.
    if interval.shift(anchor, n) > instant:
        n -= 1
    return n


def period_at(anchor: datetime, interval: Interval, instant: datetime) -> Period:
    """The period of the subscription anchored at ``anchor`` that holds ``instant``.

    ``period_at(2024-01-31, month, 2024-02-29T12:00Z)`` is ``[2024-02-29, 2024-03-31)``: half-open,
    clamped to the month's end, computed from the anchor.
    """
    return period_n(anchor, interval, period_index_at(anchor, interval, instant))
