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
    # Units of work for lookups, each statement standing alone (see ``lookup``); None: ``uow``.
    lookups: Callable[[], UnitOfWork] | None = None
    # Whether two units of work can write at once (PostgreSQL; SQLite's writers take turns): the
    # billing run then writes and commits one batch while it prices the next.
    concurrent_writes: bool = False

    def lookup(self) -> UnitOfWork:
        """A unit of work for reads whose every statement stands alone (a key, a name by id):
        outside any transaction where the database allows it, so a lookup of one statement costs
        one round trip to PostgreSQL rather than three. Two reads in it may see different
        commits; use ``uow`` when they must agree, and for every write."""
        return (self.lookups or self.uow)()
