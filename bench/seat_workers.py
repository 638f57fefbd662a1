"""Seat changes from worker processes at once: every worker runs its own engine and raw
connection on the same database. A batch is ``workers`` processes doing their share of the ops;
its wall time over the ops is the figure (ms per operation of throughput), and every
operation's own duration goes into the side's p50 / p99."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

from bench.backends import Db, Raw, analyze
from bench.harness import median, percentile, ratio, timed
from bench.seat_change import engine_invite_and_accept, raw_invite_and_accept
from bench.world import START_AT, Sub
from seatledger.bootstrap import Runtime
from seatledger.clock import ManualClock

_open_in_process: tuple[Runtime, Raw] | None = None


def _open(db: Db) -> tuple[Runtime, Raw]:
    global _open_in_process
    if _open_in_process is None:
        _open_in_process = (db.runtime(ManualClock(START_AT)), db.raw())
    return _open_in_process


def warm(db: Db) -> None:
    _open(db)


def work(db: Db, side: str, subs: list[Sub], prefix: str, ops: int, offset: int) -> list[float]:
    """``ops`` invite-and-accepts round-robin over ``subs``: the seconds of each. A seat check
    that refuses (there is always room: the bench buys enough seats) is an error."""
    rt, raw = _open(db)
    seconds: list[float] = []
    for n in range(ops):
        sub = subs[(n + offset) % len(subs)]
        email = f"{prefix}-{n}@bench.test"
        started = time.perf_counter()
        if side == "engine":
            try:
                engine_invite_and_accept(rt, sub, email)
            except Exception as exc:
                # Some domain errors do not survive pickling back to the parent: send the text.
                raise RuntimeError(f"{type(exc).__name__}: {exc}") from None
        elif not raw_invite_and_accept(raw, sub, email, START_AT):
            raise RuntimeError(f"the baseline found no free seat on {sub.subscription_id}")
        seconds.append(time.perf_counter() - started)
    return seconds


def _batch(
    pool: ProcessPoolExecutor, db: Db, side: str, subs: list[Sub], tag: str, workers: int, ops: int
) -> tuple[float, list[float]]:
    """Wall seconds of ``workers`` processes doing ``ops`` operations each, and every op's."""
    each: list[float] = []
    analyze(db)

    def go() -> None:
        futures = [
            pool.submit(work, db, side, subs, f"{tag}-w{w}", ops, w * ops) for w in range(workers)
        ]
        for future in futures:
            each.extend(future.result())

    return timed(go), each


def phase_ops(ops: int, workers: int) -> int:
    """How many operations one batch of ``workers`` processes does (at least one each)."""
    return max(1, ops // workers) * workers


def measure(
    db: Db, subs: list[Sub], workers: int, ops: int, runs: int, label: str
) -> dict[str, float]:
    """``workers`` processes spread over ``subs`` (one subscription: all on it), sides
    alternating, ``runs`` times: ms per operation (median over runs), the ratio, and p50 / p99
    of single operations in ms."""
    per_worker = max(1, ops // workers)
    total = phase_ops(ops, workers)
    wall: dict[str, list[float]] = {"engine": [], "raw": []}
    single: dict[str, list[float]] = {"engine": [], "raw": []}
    tag = "".join(ch for ch in label if ch.isalnum())
    # Spawned, not forked: a child must not inherit the parent's open connections.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(warm, [db] * workers * 2))
        # One untimed run per side first, as preview_latency warms up: what a long-running
        # process keeps (the rosters it read, the driver's prepared statements) is there when
        # timing starts, and p99 is not the first read of each subscription in each process.
        for side in ("engine", "raw"):
            _batch(pool, db, side, subs, f"{side[0]}{tag}warm", workers, per_worker)
        for i in range(runs):
            for side in ("engine", "raw"):
                seconds, each = _batch(
                    pool, db, side, subs, f"{side[0]}{tag}{i}", workers, per_worker
                )
                wall[side].append(seconds / total)
                single[side].extend(each)
    engine = median(wall["engine"]) * 1000
    baseline = median(wall["raw"]) * 1000
    return {
        "engine": engine,
        "baseline": baseline,
        "ratio": ratio(baseline, engine),
        "engine_p50": percentile(single["engine"], 50) * 1000,
        "engine_p99": percentile(single["engine"], 99) * 1000,
        "baseline_p50": percentile(single["raw"], 50) * 1000,
        "baseline_p99": percentile(single["raw"], 99) * 1000,
    }
