"""Proration: the exact share of a billing period that remains after a change.

A share is a ``Fraction`` (never a float), so a price times a share stays exact until the invoice
line is settled. Periods are half-open ``[start, end)``: a change at ``start`` has the whole period
ahead of it (share 1), and ``end`` belongs to the next period, so a change there is refused here.

The policy's ``proration.unit`` decides how time is counted:

- ``second``: whole seconds remaining over whole seconds in the period.
- ``day``: whole UTC calendar days; the day of the change counts as remaining.
- ``month``: whole calendar months; the month of the change counts as remaining, and each month is
  ``1/n`` of an ``n``-month period (1/12 of a yearly price).
- ``none``: no proration; a mid-period change costs or credits the full period price.

Example: period 2026-04-01..2026-05-01, a change at 2026-04-16 has 1/2 of the period ahead under
``second`` and ``day``; EUR 99 x 1/2 settles to EUR 49.50.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction

from seatledger.domain.errors import InvalidInput
from seatledger.domain.periods import Interval, Period, add_months, require_utc
from seatledger.domain.policy import ProrationUnit


def prorated_fraction(
    period: Period, at: datetime, unit: ProrationUnit, interval: Interval
) -> Fraction:
    """The exact share of ``period`` that remains from ``at`` on, counted in ``unit``.

    ``at`` must lie in the half-open period ``[period.start, period.end)``; anything else is an
    ``InvalidInput`` naming ``at``. At ``period.start`` the share is 1 under every unit.

    - ``second``: ``whole seconds of [at, end) / whole seconds of [start, end)``; a fraction of a
      second left over is dropped (the integer fields of ``timedelta``, never ``total_seconds()``).
    - ``day``: ``(end.date() - at.date()).days / (end.date() - start.date()).days`` in UTC. The day
      of the change counts as remaining, so a change at 23:59 pays for that whole day.
    - ``month``: the period is cut into ``interval.months`` monthly pieces starting at
      ``period.start`` (``add_months``, so Jan 31 + 1 month clamps to Feb 28/29; the last piece ends
      at ``period.end``). The share is the number of pieces ending after ``at`` (the month of the
      change counts) over the number of pieces: 6/12 for a change in the 7th month of a year, and
      always 1 for a one-month period. Day- and week-based intervals have no months: refused with an
      ``InvalidInput`` naming ``proration.unit``.
    - ``none``: 1.

    Example: ``prorated_fraction([2026-04-01, 2026-05-01), 2026-04-16, day, month)`` is 15/30 = 1/2.
    """
    at = require_utc(at, "at")
    if at not in period:
        raise InvalidInput(
            "at",
            f"must lie in the period [{period.start.isoformat()}, {period.end.isoformat()}), "
            f"got {at.isoformat()}",
        )
    if unit is ProrationUnit.SECOND:
        return _share(_whole_seconds(period.end - at), period.seconds, "second")
    if unit is ProrationUnit.DAY:
        days_left = (period.end_on - at.date()).days
        return _share(days_left, (period.end_on - period.start_on).days, "day")
    if unit is ProrationUnit.MONTH:
        return _month_share(period, at, interval)
    return Fraction(1)


def _month_share(period: Period, at: datetime, interval: Interval) -> Fraction:
    months = interval.months
    if months is None:
        raise InvalidInput(
            "proration.unit",
            f"month needs a month, quarter or year interval, got {interval}; use day or second",
        )
    # Pieces are cut from the period's own start (not chained) so clamping never accumulates; the
    # last piece always ends at period.end, which lies after `at`.
    remaining = 1 + sum(1 for i in range(1, months) if add_months(period.start, i) > at)
    return Fraction(remaining, months)


def _share(remaining: int, whole: int, unit: str) -> Fraction:
    if whole <= 0:
        # A period shorter than one counting unit (under a second, or inside one UTC day) has no
        # whole units to share out; billing it by this unit would divide by zero.
        raise InvalidInput("period", f"must span at least one whole {unit} to prorate by {unit}")
    return Fraction(remaining, whole)


def _whole_seconds(delta: timedelta) -> int:
    # timedelta's fields are integers: days and seconds are exact, microseconds are dropped.
    return delta.days * 86_400 + delta.seconds
