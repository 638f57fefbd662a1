"""Proration: the exact share of a billing period that remains after a change.

A share is a ``Fraction`` (never a float), so a price times a share stays exact until the invoice
line is settled. Periods are half-open ``[start, end)``: a change at ``start`` has the whole period
ahead of it (share 1), and ``end`` belongs to the next period, so a change there is refused here.

The policy's ``proration`` table decides how time is counted (``period_share`` reads all of it):

- ``unit``: ``second`` / ``minute`` (whole units left over whole units in the period, a part unit
  dropped), ``day`` (whole calendar days in ``timezone``; the day of the change counts as remaining
  unless ``change_day: used``), ``month`` (whole months; the month of the change counts as
  remaining, each ``1/n`` of an ``n``-month period), ``none`` (share 1: the full period price).
- ``day_count``: ``actual`` or a fixed number of days ``D`` every month counts (``unit: day`` only).
- ``fraction_scale``: the share rounded half up to that many decimals before any price sees it.

Example: period 2026-04-01..2026-05-01, a change at 2026-04-16 has 1/2 of the period ahead under
``second`` and ``day``; EUR 99 x 1/2 settles to EUR 49.50.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from seatledger.domain.errors import InvalidInput
from seatledger.domain.periods import Interval, Period, add_months, require_utc
from seatledger.domain.proration_policy import ChangeDay, ProrationPolicy, ProrationUnit

_PER_UNIT = {ProrationUnit.SECOND: 1, ProrationUnit.MINUTE: 60}


def prorated_fraction(
    period: Period,
    at: datetime,
    unit: ProrationUnit,
    interval: Interval,
    *,
    day_count: int | None = None,
    timezone: str = "UTC",
) -> Fraction:
    """The exact share of ``period`` that remains from ``at`` on, counted in ``unit``.

    ``at`` must lie in the half-open period ``[period.start, period.end)``; anything else is an
    ``InvalidInput`` naming ``at``. At ``period.start`` the share is 1 under every unit.

    - ``second``: ``whole seconds of [at, end) / whole seconds of [start, end)``; a fraction of a
      second left over is dropped (the integer fields of ``timedelta``, never ``total_seconds()``).
    - ``minute``: the same in whole minutes: ``whole seconds // 60`` on both sides, so a part
      minute left over is dropped (29 min 59 s left of an hour is 29/60).
    - ``day`` with ``day_count=None`` (``actual``): ``(end_on - at_on).days / (end_on -
      start_on).days``, dates taken in ``timezone``. The day of the change counts as remaining,
      so a change at 23:59 pays for that whole day.
    - ``day`` with ``day_count=D``: every month counts ``D`` days. The period is cut into its
      ``n`` monthly pieces from ``period.start`` (``add_months``, clamped); the piece holding
      ``at`` keeps ``D - min(elapsed, D - 1)`` days, where ``elapsed`` is the calendar days from
      the piece's first day to the day of the change, and each later piece keeps ``D``; the share
      is that over ``D x n``. So with ``D = 30`` a change on the 31st of a 31-day month counts
      as the 30th (1 day left), February 28 keeps ``30 - 27 = 3`` days (29 in a leap year: 2),
      and a 28-day February piece bills its first day as 30/30.
    - ``month``: the period is cut into ``interval.months`` monthly pieces starting at
      ``period.start`` (``add_months``, so Jan 31 + 1 month clamps to Feb 28/29; the last piece ends
      at ``period.end``). The share is the number of pieces ending after ``at`` (the month of the
      change counts) over the number of pieces: 6/12 for a change in the 7th month of a year, and
      always 1 for a one-month period. Day- and week-based intervals have no months: refused with an
      ``InvalidInput`` naming ``proration.unit`` (``proration.day_count`` for a fixed day count).
    - ``none``: 1.

    Example: ``prorated_fraction([2026-04-01, 2026-05-01), 2026-04-16, day, month)`` is 15/30 = 1/2;
    with ``day_count=30`` a change on 2026-05-31 in May is ``1/30``.
    """
    at = require_utc(at, "at")
    if at not in period:
        raise InvalidInput(
            "at",
            f"must lie in the period [{period.start.isoformat()}, {period.end.isoformat()}), "
            f"got {at.isoformat()}",
        )
    per = _PER_UNIT.get(unit)
    if per is not None:
        return _share(_whole_seconds(period.end - at) // per, period.seconds // per, unit)
    if unit is ProrationUnit.DAY:
        zone = ZoneInfo(timezone)
        if day_count is not None:
            return _fixed_day_share(period, at, interval, day_count, zone)
        end_on = _local_date(period.end, zone)
        days_left = (end_on - _local_date(at, zone)).days
        return _share(days_left, (end_on - _local_date(period.start, zone)).days, unit)
    if unit is ProrationUnit.MONTH:
        return _month_share(period, at, interval)
    return Fraction(1)


def period_share(
    period: Period, at: datetime, proration: ProrationPolicy, interval: Interval
) -> Fraction:
    """The share of ``period`` a change at ``at`` bills or credits, as ``proration`` says.

    ``prorated_fraction`` with the table's ``unit``, ``day_count`` and ``timezone``, then:

    - ``change_day: used`` (``unit: day`` only): the day of the change is billed to the old
      quantity, so the share is the one at the start of the next day in ``timezone`` (0 on the
      period's last day). A change at ``period.start`` itself still has the whole period ahead
      (share 1): nothing of the period was used before it.
    - ``fraction_scale``: the share rounded half up to that many decimals (``None``: exact).

    Example: April 2026 by day, a change at 2026-04-16T10:00Z: 15/30 under ``remaining``, 14/30
    under ``used``; with ``fraction_scale: 2`` 14/30 becomes 0.47.
    """
    at = require_utc(at, "at")
    share = _counted_share(period, at, proration, interval)
    if proration.change_day is ChangeDay.USED and at != period.start:
        zone = ZoneInfo(proration.timezone)
        next_day = datetime.combine(_local_date(at, zone) + timedelta(days=1), time(), zone)
        share = (
            Fraction(0)
            if next_day >= period.end
            else _counted_share(period, next_day, proration, interval)
        )
    return scale_share(share, proration.fraction_scale)


def leading_share(
    start: datetime, anchor: datetime, proration: ProrationPolicy, interval: Interval
) -> Fraction:
    """The share billed for a leading partial period ``[start, anchor)`` under
    ``partial_period_basis: start_period``: its length over the full period that *starts* at
    ``start`` (``[start, start + 1 interval)``, clamped as ``Interval.shift`` clamps).

    Counted in the table's unit: seconds, minutes or calendar days of ``[start, anchor)`` (the
    complement of what remains from ``anchor``, so the day of ``start`` is billed); ``month``
    counts the monthly pieces of that full period that start before ``anchor`` (a month begun is
    billed, as ``prorated_fraction`` bills the month of a change); ``none`` is 1. An ``anchor`` at
    or after the full period's end (same day of month, or clamped) is 1. ``fraction_scale``
    applies; ``change_day`` does not (a new subscriber has no old quantity).

    Example: monthly, start 2026-01-30, anchor 2026-02-15, by day: the full period from the start
    is January 30 to February 28 (clamped), 29 days, 16 of them before the anchor: 16/29, where the
    ``anchor_period`` basis gives 16/31 of January 15 to February 15.
    """
    start = require_utc(start, "start")
    anchor = require_utc(anchor, "anchor")
    full = Period(start, interval.shift(start, 1))
    if anchor >= full.end:
        return Fraction(1)
    if proration.unit is ProrationUnit.NONE:
        return Fraction(1)
    if proration.unit is ProrationUnit.MONTH:
        months = _months(interval, "proration.unit")
        begun = sum(1 for i in range(months) if add_months(start, i) < anchor)
        return scale_share(Fraction(begun, months), proration.fraction_scale)
    remaining = _counted_share(full, anchor, proration, interval)
    return scale_share(1 - remaining, proration.fraction_scale)


def scale_share(share: Fraction, scale: int | None) -> Fraction:
    """``share`` rounded half up to ``scale`` decimals (``None``: unchanged).

    Shares are never negative, so half up is ``floor(share x 10^scale + 1/2) / 10^scale``:
    ``scale_share(1/3, 2)`` is 33/100, ``scale_share(1/8, 2)`` is 13/100 (0.125 up).
    """
    if scale is None:
        return share
    unit = 10**scale
    return Fraction((share * unit + Fraction(1, 2)).__floor__(), unit)


def _counted_share(
    period: Period, at: datetime, proration: ProrationPolicy, interval: Interval
) -> Fraction:
    return prorated_fraction(
        period,
        at,
        proration.unit,
        interval,
        day_count=proration.day_count,
        timezone=proration.timezone,
    )


def _local_date(instant: datetime, zone: ZoneInfo) -> date:
    return instant.astimezone(zone).date()


def _months(interval: Interval, key: str) -> int:
    months = interval.months
    if months is None:
        raise InvalidInput(
            key,
            f"counting by months needs a month, quarter or year interval, got {interval}; "
            "use day or second",
        )
    return months


def _month_share(period: Period, at: datetime, interval: Interval) -> Fraction:
    months = _months(interval, "proration.unit")
    # Pieces are cut from the period's own start (not chained) so clamping never accumulates; the
    # last piece always ends at period.end, which lies after `at`.
    remaining = 1 + sum(1 for i in range(1, months) if add_months(period.start, i) > at)
    return Fraction(remaining, months)


def _fixed_day_share(
    period: Period, at: datetime, interval: Interval, days: int, zone: ZoneInfo
) -> Fraction:
    months = _months(interval, "proration.day_count")
    # The piece holding `at`: the last one starting at or before it (the first always does).
    index = max(i for i in range(months) if add_months(period.start, i) <= at)
    elapsed = (_local_date(at, zone) - _local_date(add_months(period.start, index), zone)).days
    # A day past the D-th of a piece (the 31st, with D = 30) counts as the D-th: never less than
    # one day is left of the piece holding the change.
    in_piece = days - min(elapsed, days - 1)
    return Fraction(days * (months - index - 1) + in_piece, days * months)


def _share(remaining: int, whole: int, unit: str) -> Fraction:
    if whole <= 0:
        # A period shorter than one counting unit (under a second, or inside one UTC day) has no
        # whole units to share out; billing it by this unit would divide by zero.
        raise InvalidInput("period", f"must span at least one whole {unit} to prorate by {unit}")
    return Fraction(remaining, whole)


def _whole_seconds(delta: timedelta) -> int:
    # timedelta's fields are integers: days and seconds are exact, microseconds are dropped.
    return delta.days * 86_400 + delta.seconds
