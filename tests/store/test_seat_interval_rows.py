"""The seat ledger's intervals in the store: appended open, closed once, read back in order, and
keyed by person id so an erased person leaves no address in them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select
from store_builders import World

from seatledger.clock import ManualClock
from seatledger.domain.seat_intervals import HoldingKind, IntervalReason, SeatInterval
from seatledger.store import SqlUnitOfWork
from seatledger.store.tables import seat_intervals


def test_intervals_open_close_once_and_read_back_oldest_first(
    uow: SqlUnitOfWork, world: World, clock: ManualClock, engine: Engine
) -> None:
    start = clock.now()
    later = start + timedelta(days=3)
    with uow:
        ana = uow.persons.ensure(world.account_id, "ana@x.test", at=start).id
        bob = uow.persons.ensure(world.account_id, "bob@x.test", at=start).id
        uow.seat_intervals.add(
            world.account_id,
            world.subscription.id,
            [
                SeatInterval(
                    bob, "ws_side", "admin", None, HoldingKind.SEAT, later, IntervalReason.INVITE
                ),
                SeatInterval(
                    ana,
                    "ws_main",
                    "facilitator",
                    "p1",
                    HoldingKind.SEAT,
                    start,
                    IntervalReason.SUBSCRIBE,
                ),
            ],
        )
        uow.seat_intervals.add(world.account_id, world.subscription.id, [])

        def close(at_day: int, reason: IntervalReason) -> int:
            return uow.seat_intervals.close(
                world.account_id,
                world.subscription.id,
                person_id=ana,
                workspace_id="ws_main",
                role="facilitator",
                scope="p1",
                kind=HoldingKind.SEAT,
                at=start + timedelta(days=at_day),
                reason=reason,
            )

        closed = close(3, IntervalReason.DELETION)
        again = close(4, IntervalReason.EXPIRY)  # closed already: nothing to close
        uow.persons.erase(world.account_id, ana, at=later)
        uow.commit()
    assert (closed, again) == (1, 0)
    with uow:
        stored = uow.seat_intervals.for_subscription(world.account_id, world.subscription.id)
    assert stored == (
        SeatInterval(
            ana,
            "ws_main",
            "facilitator",
            "p1",
            HoldingKind.SEAT,
            start,
            IntervalReason.SUBSCRIBE,
            later,
            IntervalReason.DELETION,
        ),
        SeatInterval(bob, "ws_side", "admin", None, HoldingKind.SEAT, later, IntervalReason.INVITE),
    )
    with engine.connect() as conn:
        rows = conn.execute(select(seat_intervals)).all()
    assert "ana@x.test" not in repr(rows)
    # A whole-workspace holding is stored with scope '' (it takes part in the lookups).
    assert sorted(r.scope for r in rows) == ["", "p1"]
