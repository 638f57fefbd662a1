"""The ``inactive_after`` key of a policy: fair billing of members who stopped using the product.

Split from ``policy`` (which reads the key through ``inactive_after_from_mapping``) because the
rules themselves (``fair_billing``) count seats and so import ``policy``. What the key does, with a
worked example, is in DESIGN.md, "The seat policy", and ``fair_billing``'s docstring.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from seatledger.domain.errors import InvalidInput

KEY = "inactive_after"


def inactive_after_from_mapping(data: Mapping[str, Any]) -> timedelta | None:
    """``inactive_after`` of a policy mapping, validated: an ISO 8601 duration (``P14D``,
    ``PT12H``, ``P2W``) longer than zero, or null / absent (fair billing off).

    Fair billing re-prices the seats that follow usage, so the key needs ``seat_mode: automatic``
    (in manual mode the bill is the seats bought, which an idle member does not change), and it
    credits the idle time, so ``proration.on_decrease`` must credit (``credit_now`` or
    ``credit_next_invoice``, the default being ``credit_now``). Both refusals name the key.

    Example: ``{seat_mode: automatic, inactive_after: P14D}`` gives ``timedelta(days=14)``;
    ``{inactive_after: P14D}`` alone (manual mode) and ``{inactive_after: P1M}`` (a month has no
    fixed length) are refused naming ``inactive_after``.
    """
    value = data.get(KEY)
    if value is None:
        return None
    # Imported here: ``policy`` imports this module while it loads, and owns the duration syntax.
    from seatledger.domain.policy import parse_duration

    duration = parse_duration(value, KEY)
    if duration <= timedelta(0):
        raise InvalidInput(KEY, f"must be longer than zero, got {value!r}")
    if data.get("seat_mode", "manual") != "automatic":
        raise InvalidInput(
            KEY,
            "needs seat_mode: automatic (fair billing re-prices the seats that follow usage; "
            "in manual mode the seats bought are billed whoever uses them)",
        )
    proration = data.get("proration")
    on_decrease = (
        proration.get("on_decrease", "credit_now")
        if isinstance(proration, Mapping)
        else "credit_now"
    )
    if on_decrease == "none":
        raise InvalidInput(
            KEY,
            "needs proration.on_decrease: credit_now or credit_next_invoice "
            "(fair billing credits the inactive time)",
        )
    return duration


def inactive_after_to_mapping(value: timedelta | None) -> dict[str, Any]:
    """The plain mapping form of the key, which ``inactive_after_from_mapping`` reads back equal:
    ``{"inactive_after": "P14D"}``, or ``{"inactive_after": None}`` when fair billing is off."""
    if value is None:
        return {KEY: None}
    from seatledger.domain.policy import format_duration

    return {KEY: format_duration(value)}
