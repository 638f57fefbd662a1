"""The subscription columns of ``billing_basis`` peak / true_up, mapped to and from a
``Subscription``: ``seats_peak`` (the most seats used since ``peak_since``) and ``peak_since`` (the
period start, or the last true-up reconciliation). Both are NULL under ``purchased``.
"""

from __future__ import annotations

from typing import Any

from seatledger.service.ports import Subscription

# The columns, in the order ``peak_values`` gives them.
PEAK_COLUMNS = ("seats_peak", "peak_since")


def peak_values(sub: Subscription) -> dict[str, Any]:
    """The column values of ``sub``'s peak fields."""
    return {"seats_peak": sub.seats_peak, "peak_since": sub.peak_since}


def peak_fields(row: Any) -> dict[str, Any]:
    """The ``Subscription`` fields read from a subscriptions row."""
    return {"seats_peak": row.seats_peak, "peak_since": row.peak_since}
