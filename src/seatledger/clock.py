"""Clocks: the one place that reads the wall clock, and a manual clock for tests and scenarios.

Everything that needs "now" takes a ``Clock`` and calls ``clock.now()``; nothing else in the
package reads the time (a test greps ``src/`` for ``datetime.now``, ``utcnow``, ``today`` and
``time.time`` outside this module). ``now()`` is always a timezone-aware UTC ``datetime``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from seatledger.domain.errors import InvalidInput
from seatledger.domain.periods import require_utc


class Clock(Protocol):
    """Tells the current instant, as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock: what ``serve`` and the CLI use outside scenarios."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to, and only forward.

    Billing is a function of time: a clock that went backwards could renew a period twice or
    undo a proration, so ``advance`` and ``move_to`` refuse to go back (``InvalidInput``).
    Staying on the same instant is allowed.
    """

    def __init__(self, start: datetime) -> None:
        self._now = require_utc(start, "start")

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` (>= 0) and return the new instant."""
        if delta < timedelta(0):
            raise InvalidInput("delta", f"a clock never moves backwards, got {delta}")
        self._now = self._now + delta
        return self._now

    def move_to(self, at: datetime) -> datetime:
        """Move to ``at`` (aware, not before ``now()``) and return it, in UTC."""
        target = require_utc(at, "at")
        if target < self._now:
            raise InvalidInput(
                "at",
                f"a clock never moves backwards: {target.isoformat()} is before "
                f"{self._now.isoformat()}",
            )
        self._now = target
        return self._now
