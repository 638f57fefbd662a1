"""What every use case is given: a way to open a unit of work, and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from seatledger.clock import Clock
from seatledger.service.ports import UnitOfWork


@dataclass(frozen=True)
class Services:
    """Built once by ``seatledger.bootstrap``; use cases never pick their own adapters."""

    uow: Callable[[], UnitOfWork]
    clock: Clock
