"""Peak and true-up billing (``billing_basis: peak | true_up``): the arithmetic of both.

``peak``: seats are not bought ahead. A period's seats line is billed in arrears at its end, for
the most seats used at any instant of the period (the **peak**), at the full period price (a
leading partial period before an anchor at its share, as an opening line is).

``true_up``: the seats bought are a commitment billed in advance (as ``purchased``). Seats used
above it (automatic seat mode lets usage pass it) are reconciled every ``true_up_months`` months
from the period start: the window's peak above the seats paid for is billed once, prorated from the
reconciliation instant to the period end, and the commitment rises to that peak, so the same
overage is never billed again. At the period end the commitment of the next period rises to the
last window's peak (the renewal bills it in advance).

Everything here is pure: counts are whole seats used (add-on packs aside), instants are aware UTC,
amounts are settled once per line with the policy's rounding (``billing.seat_line``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seatledger.domain.billing import seat_line
from seatledger.domain.errors import InvalidInput
from seatledger.domain.invoices import InvoiceLine, LineKind
from seatledger.domain.periods import Period, add_months, require_utc
from seatledger.domain.policy import Policy
from seatledger.domain.proration import period_share
from seatledger.domain.proration_policy import ProrationUnit


def raise_peak(peak: int | None, used: int) -> int:
    """The peak after an instant with ``used`` seats in use: ``max(peak, used)`` (None: no peak yet).

    Example: a peak of 4 and 2 seats used now keep 4; 6 used now raise it to 6.
    """
    if isinstance(used, bool) or not isinstance(used, int) or used < 0:
        raise InvalidInput("seats_used", f"must be a whole number >= 0, got {used!r}")
    return used if peak is None else max(peak, used)


def peak_seats(policy: Policy, peak: int) -> int:
    """The seats a peak bills: ``max(peak, min_seats)`` (``included_seats`` are left out by the
    line, as on every seats line). Example: ``min_seats`` 2 and a peak of 1 bill 2 seats."""
    return max(peak, policy.min_seats or 0)


def peak_line(
    policy: Policy,
    *,
    period: Period,
    billed_from: datetime,
    peak: int,
    until: datetime | None = None,
) -> tuple[InvoiceLine, ...]:
    """The arrears ``seats`` line of ``billing_basis: peak`` for ``period``, issued at its end (or
    at ``until``, a cancellation inside it).

    Quantity ``billed_seats(peak_seats(peak))`` (seats beyond ``included_seats``); the unit price is
    the full period price, and the amount is that times the share of ``period`` from
    ``billed_from`` (``period.start``, or a subscription's start inside its leading partial
    period) to ``until`` (default ``period.end``): the share left at ``billed_from`` less the
    share left at ``until`` (``proration.unit`` measures both; ``none`` bills the whole period).
    The line covers ``[billed_from, until)``; no line for a quantity of 0.

    Example: USD 10 a seat a month, April 2026 whole, peak 3 seats: ``3 × Seat`` USD 30.00. Started
    2026-04-16 (15 of 30 days, by day): USD 15.00. Whole April but ended 2026-04-11 (10 days):
    USD 10.00.
    """
    billed_from = _inside(period, billed_from, "billed_from")
    share = period_share(period, billed_from, policy.proration, policy.interval)
    end = period.end
    if until is not None:
        end = _inside(period, until, "until")
        if end <= billed_from:
            raise InvalidInput("until", f"must be after {billed_from.isoformat()}")
        if policy.proration.unit is not ProrationUnit.NONE:
            # What is left at ``until`` was not used; under ``none`` the period is owed whole.
            share -= period_share(period, end, policy.proration, policy.interval)
    quantity = policy.billed_seats(peak_seats(policy, peak))
    return seat_line(policy, LineKind.SEATS, Period(billed_from, end), quantity, share)


def _inside(period: Period, at: datetime, field: str) -> datetime:
    at = require_utc(at, field)
    if at not in period:
        raise InvalidInput(
            field,
            f"must lie in the period [{period.start.isoformat()}, {period.end.isoformat()}), "
            f"got {at.isoformat()}",
        )
    return at


def reconciliation_instants(period: Period, months: int) -> tuple[datetime, ...]:
    """The true-up reconciliation instants strictly inside ``period``: ``add_months(period.start,
    k × months)`` for k = 1, 2, ... while before ``period.end`` (clamped to month ends as
    ``add_months`` clamps). The period end reconciles too, with the renewal.

    Example: a year from 2026-01-15 with ``true_up_months`` 3 reconciles at 2026-04-15,
    2026-07-15 and 2026-10-15; a month (or 3 months with ``true_up_months`` 3) has none inside.
    """
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise InvalidInput("true_up_months", f"must be a whole number >= 1, got {months!r}")
    instants: list[datetime] = []
    k = 1
    while (at := add_months(period.start, k * months)) < period.end:
        instants.append(at)
        k += 1
    return tuple(instants)


def next_reconciliation(period: Period, months: int, since: datetime) -> datetime | None:
    """The first reconciliation instant of ``period`` strictly after ``since`` (the window's
    start), or None when the window runs to the period end. Example: a year from 2026-01-15, 3
    months, since 2026-04-15: 2026-07-15; since 2026-10-15: None."""
    return next((at for at in reconciliation_instants(period, months) if at > since), None)


@dataclass(frozen=True, slots=True)
class TrueUp:
    """A reconciliation's outcome: the overage lines (zero or one) and the new commitment."""

    lines: tuple[InvoiceLine, ...]
    committed: int


def true_up(policy: Policy, *, period: Period, at: datetime, committed: int, peak: int) -> TrueUp:
    """Reconcile at ``at`` (inside ``period``): the window's ``peak`` above ``committed`` (the
    seats paid for) is billed as one ``proration_charge`` line for ``billed(peak) -
    billed(committed)`` seats at the seat price times the share of ``period`` left at ``at``,
    covering ``[at, period.end)``; the commitment rises to the peak. A peak at or below the
    commitment bills nothing and leaves it.

    Billed once: the returned commitment is at least the peak, so reconciling the same peak again
    finds no overage. Example: USD 120 a seat a year from 2026-01-01 (by month), 5 committed, a
    first-quarter peak of 7, reconciled at 2026-04-01: ``2 × Seat`` × 120 × 9/12 = USD 180.00,
    and 7 committed from then on.
    """
    at = _inside(period, at, "at")
    if peak <= committed:
        return TrueUp(lines=(), committed=committed)
    share = period_share(period, at, policy.proration, policy.interval)
    over = policy.billed_seats(peak) - policy.billed_seats(committed)
    lines = seat_line(policy, LineKind.PRORATION_CHARGE, Period(at, period.end), over, share)
    return TrueUp(lines=lines, committed=peak)
