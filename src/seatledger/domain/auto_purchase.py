"""Automatic seat purchase (``auto_purchase``): how many seats an action that lacks them buys.

In manual seat mode an invite, an accept or a role change that takes more seats than are bought
is refused (``check_seat_limit``). With ``auto_purchase`` on, the missing seats are bought first,
as a seat increase priced by ``price_seat_change`` (so billed exactly like a purchase), up to a cap:
``auto_purchase.up_to_seats``, else ``max_seats``, else no cap. Beyond it the action is refused
with ``AutoPurchaseCapReached``, a ``seat_limit_reached`` whose message names the cap.

The cap bounds the bought seats rather than a sum of money: it needs no memory of earlier
purchases, still holds after seats are removed and bought again, and is a budget all the same
(``up_to_seats x seat_price`` per period at most).
"""

from __future__ import annotations

from datetime import datetime

from seatledger.domain.errors import AutoPurchaseCapReached, SeatLimitReached
from seatledger.domain.periods import require_utc
from seatledger.domain.policy import Policy, SeatMode
from seatledger.domain.seats import Roster, seat_holders


def purchase_cap(policy: Policy) -> int | None:
    """The most bought seats automatic purchases may reach: the lower of ``up_to_seats`` and
    ``max_seats`` where set, None for no cap. Example: ``up_to_seats: 12`` and ``max_seats: 20``
    give 12; neither gives None."""
    caps = [c for c in (policy.auto_purchase.up_to_seats, policy.max_seats) if c is not None]
    return min(caps) if caps else None


def auto_purchase_applies(policy: Policy) -> bool:
    """Whether actions buy missing seats: ``auto_purchase.enabled`` in manual seat mode (in
    automatic mode seats already follow usage)."""
    return policy.auto_purchase.enabled and policy.seat_mode is SeatMode.MANUAL


def seats_to_buy(
    before: Roster,
    after: Roster,
    policy: Policy,
    *,
    seats_total: int,
    capacity: int,
    at: datetime,
    partial: bool = False,
) -> int:
    """The seats (a whole number >= 0) to buy so the change from ``before`` to ``after`` fits.

    Seat holders are counted on both rosters at ``at``, as ``check_seat_limit`` counts them. None
    are bought when ``auto_purchase_applies`` is false, when the change moves nobody into the
    billable set (``used_after <= used_before``) or when it fits (``used_after <= capacity``);
    otherwise ``used_after - capacity`` are missing. ``seats_total`` is the bought seats and
    ``capacity`` those plus add-on packs; the cap (``purchase_cap``) bounds ``seats_total + bought``
    inclusively. Past the cap: with ``partial`` (a batch admitted as far as it fits) as many as the
    cap leaves room for, possibly 0; otherwise ``AutoPurchaseCapReached`` naming the cap.

    Example: 3 seats bought, 3 used, a cap of 4: inviting one more reviewer buys 1 (4 <= 4);
    inviting two is refused ("... this needs 2 more, but automatic seat purchases stop at 4
    seats ..."), or buys 1 with ``partial``.
    """
    at = require_utc(at, "at")
    if not auto_purchase_applies(policy):
        return 0
    used_before = len(seat_holders(before, policy, at))
    used_after = len(seat_holders(after, policy, at))
    if used_after <= used_before or used_after <= capacity:
        return 0
    missing = used_after - capacity
    cap = purchase_cap(policy)
    if cap is None or seats_total + missing <= cap:
        return missing
    if partial:
        return max(0, cap - seats_total)
    raise AutoPurchaseCapReached(
        used=used_before, total=capacity, requested=used_after - used_before, cap=cap
    )


def cap_refusal(refusal: SeatLimitReached, policy: Policy) -> SeatLimitReached:
    """``refusal`` restated as ``AutoPurchaseCapReached`` where automatic purchase applies and has
    a cap (the seats were refused because the cap left no room); ``refusal`` itself otherwise.
    Example: ``SeatLimitReached(used=4, total=4, requested=1)`` under a cap of 4 becomes
    ``AutoPurchaseCapReached(used=4, total=4, requested=1, cap=4)``."""
    cap = purchase_cap(policy)
    if not auto_purchase_applies(policy) or cap is None:
        return refusal
    return AutoPurchaseCapReached(
        used=refusal.used, total=refusal.total, requested=refusal.requested, cap=cap
    )
