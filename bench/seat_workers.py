"""Seat changes from several worker processes at once (``seat_change_sqlite`` with 4 workers):
every worker runs its own engine or raw connection on the same SQLite file; the time is the wall
time of the whole batch, so the figure is ms per operation of throughput."""

from __future__ import annotations

import multiprocessing
import sqlite3
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.harness import timed
from bench.seat_change import engine_invite_and_accept, raw_invite_and_accept
from bench.world import START_AT, Sub, raw_sqlite, sqlite_runtime
from seatledger.bootstrap import Runtime
from seatledger.clock import ManualClock

_runtime: Runtime | None = None
_raw: sqlite3.Connection | None = None


def _open(path: str) -> tuple[Runtime, sqlite3.Connection]:
    global _runtime, _raw
    if _runtime is None or _raw is None:
        _runtime = sqlite_runtime(Path(path), ManualClock(START_AT))
        _raw = raw_sqlite(Path(path))
    return _runtime, _raw


def warm(path: str) -> None:
    _open(path)


def work(path: str, side: str, subs: list[Sub], prefix: str, ops: int, offset: int) -> int:
    """``ops`` invite-and-accepts round-robin over ``subs``; returns how many the seat check
    refused (the raw side only: the engine raises instead)."""
    rt, con = _open(path)
    refused = 0
    for n in range(ops):
        sub = subs[(n + offset) % len(subs)]
        email = f"{prefix}-{n}@bench.test"
        if side == "engine":
            try:
                engine_invite_and_accept(rt, sub, email)
            except Exception as exc:
                # Some domain errors do not survive pickling back to the parent: send the text.
                raise RuntimeError(f"{type(exc).__name__}: {exc}") from None
        elif not raw_invite_and_accept(con, sub, email, START_AT):
            refused += 1
    return refused


def batch(
    pool: ProcessPoolExecutor,
    workers: int,
    path: Path,
    side: str,
    subs: list[Sub],
    tag: str,
    ops: int,
) -> float:
    """Seconds of wall time for ``workers`` processes doing ``ops`` operations each."""
    refused: list[int] = []

    def go() -> None:
        futures = [
            pool.submit(work, str(path), side, subs, f"{tag}-w{w}", ops, w * ops)
            for w in range(workers)
        ]
        refused.extend(f.result() for f in futures)

    seconds = timed(go)
    if any(refused):
        raise SystemExit(f"seat_change_sqlite: the baseline ran out of seats ({sum(refused)})")
    return seconds


def measure(
    path: Path, subs: list[Sub], hot: Sub, workers: int, ops: int, runs: int
) -> dict[str, tuple[float, float]]:
    """Median seconds per operation (engine, baseline) for ``workers`` processes spread over
    ``subs`` and all on the one ``hot`` subscription, sides alternating as everywhere else."""
    per_worker = max(1, ops // workers)
    total = per_worker * workers
    out: dict[str, tuple[float, float]] = {}
    # Spawned, not forked: a child must not inherit the parent's open SQLite handles.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(warm, [str(path)] * workers * 2))
        for label, targets in (
            (f"{workers} workers, many", subs),
            (f"{workers} workers, hot", [hot]),
        ):
            tag = "hot" if len(targets) == 1 else "many"
            engine_times = []
            baseline_times = []
            for i in range(runs):
                engine_times.append(
                    batch(pool, workers, path, "engine", targets, f"e{tag}{i}", per_worker)
                )
                baseline_times.append(
                    batch(pool, workers, path, "raw", targets, f"b{tag}{i}", per_worker)
                )
            out[label] = (
                statistics.median(engine_times) / total,
                statistics.median(baseline_times) / total,
            )
    return out
