"""What every case shares: alternating timed runs, medians, the machine, the table and the JSON.

A case times the engine and its raw baseline alternately (engine, baseline, engine, ...), so a
slow disk or a busy neighbour hurts both sides alike, and reports the median of each side. The
ratio is ``baseline / engine``: 1.0 means the engine is as fast as the raw SQL, and a target
"ratio >= 0.5" means the engine may take at most twice the raw time.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy
from rich.console import Console
from rich.table import Table

NOT_MEASURED = "not measured yet"


@dataclass(frozen=True)
class Sizes:
    """Input sizes of one bench run (``--quick`` for the smoke test, ``--full`` for the large one)."""

    runs: int
    seat_ops: int
    seat_subscriptions: int
    billing_subscriptions: int
    preview_members: int
    preview_months: int
    preview_calls: int
    # PostgreSQL billing run: N subscriptions, runs of each side (each run bills all N).
    billing_subscriptions_postgres: int
    billing_runs: int
    # HTTP: seconds of load per run and side, subscriptions the load spreads over.
    http_seconds: int
    http_subscriptions: int
    # Worker counts above this are run at this count (the smoke test keeps process starts few).
    max_workers: int

    def workers(self, counts: Sequence[int]) -> tuple[int, ...]:
        return tuple(sorted({min(count, self.max_workers) for count in counts}))


QUICK = Sizes(
    runs=3,
    seat_ops=4,
    seat_subscriptions=2,
    billing_subscriptions=16,
    preview_members=10,
    preview_months=3,
    preview_calls=10,
    billing_subscriptions_postgres=40,
    billing_runs=3,
    http_seconds=1,
    http_subscriptions=2,
    max_workers=2,
)
DEFAULT = Sizes(
    runs=5,
    seat_ops=100,
    seat_subscriptions=20,
    # SQLite: the 100,000 takes about 5 minutes there (--full); 20,000 keeps make bench
    # within its 20 minutes and still spreads the run's one-time costs (statements compiled,
    # policies parsed) over enough renewals that they are not what is measured.
    billing_subscriptions=20_000,
    preview_members=1000,
    preview_months=24,
    preview_calls=200,
    billing_subscriptions_postgres=100_000,
    billing_runs=3,
    http_seconds=10,
    http_subscriptions=20,
    max_workers=16,
)
FULL = Sizes(
    runs=5,
    seat_ops=400,
    seat_subscriptions=50,
    billing_subscriptions=100_000,
    preview_members=1000,
    preview_months=24,
    preview_calls=1000,
    billing_subscriptions_postgres=1_000_000,
    billing_runs=3,
    http_seconds=30,
    http_subscriptions=50,
    max_workers=16,
)


@dataclass
class Result:
    """One row of the report. ``engine`` and ``baseline`` are medians in ``unit``; ``None`` when
    the case was not measured (never a made-up figure)."""

    name: str
    engine: float | None
    baseline: float | None
    unit: str
    ratio: float | None
    target: str
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        extra = out.pop("extra")
        if out["note"] is None:
            del out["note"]
        out.update(extra)
        return out


def not_measured(name: str, unit: str, target: str, note: str = NOT_MEASURED) -> Result:
    return Result(name, None, None, unit, None, target, note=note)


def timed(work: Callable[[], None]) -> float:
    """Seconds ``work`` took (a monotonic timer, never the wall clock)."""
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def alternate(
    engine: Callable[[int], float], baseline: Callable[[int], float], runs: int
) -> tuple[list[float], list[float]]:
    """Run ``engine(i)`` then ``baseline(i)`` for ``i`` in ``range(runs)``; each returns the
    seconds its timed part took."""
    times = alternate_sides({"engine": engine, "baseline": baseline}, runs)
    return times["engine"], times["baseline"]


def alternate_sides(
    sides: Mapping[str, Callable[[int], float]], runs: int
) -> dict[str, list[float]]:
    """Each side in turn (in ``sides`` order), ``runs`` rounds: the seconds of each run."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    for i in range(runs):
        for name, side in sides.items():
            times[name].append(side(i))
    return times


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile (``pct`` in 0..100) of ``values``."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def ratio(baseline: float, engine: float) -> float:
    return baseline / engine


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
    }


def write_json(path: Path, results: Sequence[Result], mode: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": {**machine(), "mode": mode},
        "results": [r.as_json() for r in results],
    }
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_table(results: Sequence[Result], console: Console | None = None) -> None:
    table = Table(title="seatledger benchmarks (ratio = baseline / engine)")
    for column in ("name", "engine", "baseline", "unit", "ratio", "target", "note"):
        table.add_column(
            column, justify="right" if column in ("engine", "baseline", "ratio") else "left"
        )
    for r in results:
        table.add_row(
            r.name,
            _figure(r.engine),
            _figure(r.baseline),
            r.unit,
            _figure(r.ratio),
            r.target,
            r.note or "",
        )
    # Wide enough that names and targets stay on one line when stdout is a pipe or a log.
    (console or Console(width=160)).print(table)
