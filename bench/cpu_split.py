"""Where the CPU of a PostgreSQL worker phase goes: the worker processes' own (client) and the
PostgreSQL server's, per invite-and-accept, for the engine and the raw baseline alternately, as
``seat_change_postgres`` runs them (``bench/seat_workers.py``: the same workers, the same
subscriptions, an untimed ``ANALYZE`` before each batch).

    scripts/with-postgres .venv/bin/python -m bench.cpu_split [workers] [ops each] [rounds]

Each line gives a side's wall time over its operations (the bench's figure), the CPU its worker
processes used and the CPU every ``postgres`` process of the machine used meanwhile (from
``/proc``, so Linux only, and a server shared with other work counts that work too), each per
operation, and the side's p50 / p99. docs/performance.md uses it to say what decides the
16-worker case on a 2-core machine: CPU per operation, not waiting.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench import seat_workers
from bench.backends import analyze, database
from bench.harness import percentile
from bench.world import START_AT, new_subscription, with_workspace_id
from seatledger.clock import ManualClock

_TICKS = os.sysconf("SC_CLK_TCK")
# Fields 14 and 15 of /proc/PID/stat (user and system time), counted after the command's ")".
_USER, _SYSTEM = 11, 12


def _cpu_seconds(pid: str) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0  # gone meanwhile
    return (int(fields[_USER]) + int(fields[_SYSTEM])) / _TICKS


def _server_seconds() -> dict[str, float]:
    """The CPU seconds of every ``postgres`` process now, by pid."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if command.startswith("postgres"):
            found[entry.name] = _cpu_seconds(entry.name)
    return found


def _server_used(before: dict[str, float]) -> float:
    """The CPU the ``postgres`` processes used since ``before``, process by process: one that
    ended meanwhile (a backend whose connection closed) is left out rather than subtracted, one
    that began meanwhile counts whole."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in _server_seconds().items())


def main(workers: int, ops: int, rounds: int) -> None:
    with (
        database("postgresql") as db,
        ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool,
    ):
        rt = db.runtime(ManualClock(START_AT))
        raw = db.raw()
        subs = [with_workspace_id(raw, new_subscription(rt, i, 10 * workers * ops * rounds + 100))
                for i in range(20)]  # fmt: skip
        list(pool.map(seat_workers.warm, [db] * workers))
        pids = [str(pid) for pid in pool._processes]
        for run in range(rounds):
            for side in ("engine", "baseline"):
                analyze(db)
                client = sum(_cpu_seconds(pid) for pid in pids)
                server_before = _server_seconds()
                started = time.perf_counter()
                futures = [
                    pool.submit(seat_workers.work, db, side, subs, f"{side}{run}w{w}", ops, w * ops)
                    for w in range(workers)
                ]
                each = [seconds for future in futures for seconds in future.result()]
                wall = time.perf_counter() - started
                done = workers * ops
                client = sum(_cpu_seconds(pid) for pid in pids) - client
                server = _server_used(server_before)
                print(
                    f"{side}: {wall / done * 1e3:.2f} ms/op wall, client {client / done * 1e3:.2f}"
                    f" ms/op, server {server / done * 1e3:.2f} ms/op, p50"
                    f" {percentile(each, 50) * 1e3:.1f} ms, p99 {percentile(each, 99) * 1e3:.1f} ms",
                    flush=True,
                )
        rt.dispose()
        raw.close()


if __name__ == "__main__":
    arguments = [int(a) for a in sys.argv[1:]]
    main(*(arguments + [16, 40, 3][len(arguments) :]))
