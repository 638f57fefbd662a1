"""How an invite-and-accept costs as one subscription grows: a subscription filled with N
invitations, then timed three ways on it.

- ``one_process``: one runtime does every change (its rosters are kept between transactions);
- ``two_runtimes``: two runtimes on the database take turns, as two API processes or workers
  would, so each change finds the subscription changed by the other (its roster is caught up
  from the rows written since);
- ``nothing_kept``: one runtime whose kept rosters are forgotten before each use case (a process
  that reads the whole roster every time).

    .venv/bin/python -m bench.roster_scale [members] [operations] [sqlite|postgresql]

docs/performance.md uses it to show what a change costs on a large subscription. PostgreSQL needs
a server (``scripts/with-postgres``, as ``make bench`` runs).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from bench.backends import database
from bench.seat_change import engine_invite_and_accept
from bench.world import START_AT, Sub, invite_people, new_subscription, with_workspace_id
from seatledger.bootstrap import Runtime
from seatledger.clock import ManualClock
from seatledger.store.version_cache import caches_of

_INVITED_AT_ONCE = 200


def _ms_per_op(operations: int, run: Callable[[int], None]) -> float:
    started = time.perf_counter()
    for i in range(operations):
        run(i)
    return (time.perf_counter() - started) / operations * 1000


def _forgetting(runtime: Runtime) -> Callable[[], None]:
    caches = caches_of(runtime.engine)

    def forget() -> None:
        caches.rosters.clear()
        caches.parts.clear()

    return forget


def measure(size: int, operations: int, kind: str = "sqlite") -> dict[str, float]:
    """Milliseconds per invite-and-accept of each way, on a subscription of ``size`` members."""
    with database(kind) as db:
        first = db.runtime(ManualClock(START_AT))
        second = db.runtime(ManualClock(START_AT))
        raw = db.raw()
        try:
            sub: Sub = with_workspace_id(raw, new_subscription(first, 0, size + 6 * operations + 8))
            emails = [f"m{i}@bench.test" for i in range(size)]
            invite_people(first, sub, emails, at_once=_INVITED_AT_ONCE, role="reviewer")
            forget = _forgetting(first)

            def alone(i: int) -> None:
                engine_invite_and_accept(first, sub, f"one{i}@bench.test")

            def in_turn(i: int) -> None:
                runtime = first if i % 2 == 0 else second
                engine_invite_and_accept(runtime, sub, f"turn{i}@bench.test")

            def forgetful(i: int) -> None:
                engine_invite_and_accept(first, sub, f"forgot{i}@bench.test", before_each=forget)

            return {
                "one_process": _ms_per_op(operations, alone),
                "two_runtimes": _ms_per_op(2 * operations, in_turn),
                "nothing_kept": _ms_per_op(operations, forgetful),
            }
        finally:
            raw.close()
            first.dispose()
            second.dispose()


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    operations = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    kind = sys.argv[3] if len(sys.argv) > 3 else "sqlite"
    for way, ms in measure(size, operations, kind).items():
        print(f"{way:>14}: {ms:7.2f} ms per invite-and-accept ({size} members, {kind})")


if __name__ == "__main__":
    main()
