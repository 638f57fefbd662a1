"""The port of the seat ledger's intervals (``domain/seat_intervals.py``).

Intervals name people by person id and workspaces by workspace id (``SeatInterval.person`` and
``.workspace`` hold the store's ids here), so erasing a person keeps the history and drops the
address. A change appends the holdings it opened and closes the ones it ended, in its own
transaction and under the subscription's lock; a row is closed once and never removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from seatledger.domain.seat_intervals import HoldingKind, IntervalReason, SeatInterval


class SeatIntervalRepository(Protocol):
    def add(self, account_id: str, subscription_id: str, intervals: Sequence[SeatInterval]) -> None:
        """Append ``intervals`` (open ones have ``ended_at`` None)."""

    def close(
        self,
        account_id: str,
        subscription_id: str,
        *,
        person_id: str,
        workspace_id: str,
        role: str,
        scope: str | None,
        kind: HoldingKind,
        at: datetime,
        reason: IntervalReason,
    ) -> int:
        """End the open interval of this holding at ``at``; the number closed (0 when none is
        open, as for a holding from before intervals were kept)."""

    def for_subscription(self, account_id: str, subscription_id: str) -> tuple[SeatInterval, ...]:
        """Every interval of the subscription, oldest first."""
