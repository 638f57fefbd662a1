"""``preview_latency``: p50 / p99 of a seat-change preview on a subscription with many members
and months of renewals behind it (no raw baseline: the target is an absolute p99)."""

from __future__ import annotations

from dateutil.relativedelta import relativedelta

from bench.backends import Db, sqlite_db
from bench.harness import Result, Sizes, percentile, timed
from bench.world import START_AT, invite_people, new_subscription
from seatledger.clock import ManualClock
from seatledger.service import subscriptions
from seatledger.service.billing_run import run_billing

NAME = "preview_latency"
UNIT = "ms (p99)"
TARGET = "p99 <= 5 ms"
LIMIT_MS = 5.0
_BATCH = 100


def run(sizes: Sizes) -> Result:
    with sqlite_db() as db:
        return _run(db, sizes)


def _run(db: Db, sizes: Sizes) -> Result:
    clock = ManualClock(START_AT)
    rt = db.runtime(clock)
    try:
        seats = sizes.preview_members + 2
        sub = new_subscription(rt, 0, seats)
        # Pending invites hold seats under the preset, so invited people are seated members.
        emails = [f"m{i}@bench.test" for i in range(sizes.preview_members - 1)]
        invite_people(rt, sub, emails, at_once=_BATCH, role="reviewer")
        for month in range(1, sizes.preview_months + 1):
            clock.move_to(START_AT + relativedelta(months=month, hours=1))
            run_billing(rt)

        def preview() -> None:
            subscriptions.preview_seat_change(
                rt,
                account_id=sub.account_id,
                workspace=sub.workspace,
                actor=sub.owner,
                seats=seats + 1,
            )

        preview()  # warm-up: caches, prepared statements
        samples = [timed(preview) * 1000 for _ in range(sizes.preview_calls)]
    finally:
        rt.dispose()
    p50 = percentile(samples, 50)
    p99 = percentile(samples, 99)
    return Result(
        NAME,
        p99,
        None,
        UNIT,
        None,
        TARGET,
        extra={
            "p50_ms": p50,
            "p99_ms": p99,
            "meets_target": p99 <= LIMIT_MS,
            "members": sizes.preview_members,
            "months": sizes.preview_months,
            "calls": sizes.preview_calls,
        },
    )
