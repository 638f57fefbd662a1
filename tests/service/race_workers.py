"""The OS processes of the race tests. A module of its own, so the processes started with the
'spawn' method import it by name: they share nothing with the test process but the database.

A ``RacePool`` starts its processes once (importing seatledger in a fresh interpreter is most of a
race's cost) and runs one race after another on them. For each request a process builds its own
engine through ``bootstrap`` on the race's database URL, waits at the shared barrier until every
process is ready, makes its one request, and reports the outcome: ``"ok"``, the stable code of a
refusal, or ``"crash: ..."`` for anything else (a database error, a timeout).
"""

from __future__ import annotations

import multiprocessing
import os
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from seatledger.bootstrap import bootstrap
from seatledger.clock import ManualClock
from seatledger.domain.errors import SeatLedgerError
from seatledger.service import members, subscriptions

# Every process acts at the same instant, a day into the subscription's first period.
RACE_AT = datetime(2026, 4, 2, tzinfo=UTC)
BARRIER_TIMEOUT_SECONDS = 120
RESULT_TIMEOUT_SECONDS = 180

Task = tuple[str, dict[str, Any]] | None  # (database URL, request), or None: stop


class RacePool:
    """``size`` processes started with 'spawn', each serving one request per race."""

    def __init__(self, size: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.size = size
        self.barrier = context.Barrier(size)
        self.results: Queue[tuple[str, str]] = context.Queue()
        # One queue per process: a fast process must never take two requests of one race.
        self.tasks: list[Queue[Task]] = [context.Queue() for _ in range(size)]
        self.processes = [
            context.Process(target=serve, args=(tasks, self.barrier, self.results), daemon=True)
            for tasks in self.tasks
        ]
        for process in self.processes:
            process.start()

    def race(self, url: str, requests: list[dict[str, Any]]) -> dict[str, str]:
        """Each request in its own process, all released at once: request name -> outcome."""
        assert len(requests) == self.size, "one request per process"
        self.barrier.reset()  # a barrier broken by an earlier failure is whole again
        for tasks, request in zip(self.tasks, requests, strict=True):
            tasks.put((url, request))
        return dict(self.results.get(timeout=RESULT_TIMEOUT_SECONDS) for _ in requests)

    def close(self) -> None:
        for tasks in self.tasks:
            tasks.put(None)
        for process in self.processes:
            process.join(RESULT_TIMEOUT_SECONDS)
            if process.is_alive():  # pragma: no cover - only when a process hangs
                process.kill()


def serve(tasks: Queue[Task], barrier: Barrier, results: Queue[tuple[str, str]]) -> None:
    while (task := tasks.get()) is not None:
        url, request = task
        results.put((request["name"], run_request(url, request, barrier)))
    # Every outcome is flushed; skip tearing down the interpreter's modules, which takes 32 idle
    # processes seconds of CPU and tells the test nothing.
    results.close()
    results.join_thread()
    os._exit(0)


def run_request(url: str, request: dict[str, Any], barrier: Barrier) -> str:
    try:
        runtime = bootstrap(url, clock=ManualClock(RACE_AT))
    except Exception as crash:
        # Release the others at once rather than leave them waiting out the barrier's timeout.
        barrier.abort()
        return f"crash before the start: {type(crash).__name__}: {crash}"
    try:
        barrier.wait(BARRIER_TIMEOUT_SECONDS)
        _dispatch(runtime, request)
    except SeatLedgerError as refusal:
        return refusal.code
    except Exception as crash:
        return f"crash: {type(crash).__name__}: {crash}"
    finally:
        runtime.dispose()
    return "ok"


def _dispatch(runtime: Any, request: dict[str, Any]) -> None:
    common = {"account_id": request["account_id"], "workspace": request["workspace"]}
    if request["kind"] == "invite":
        members.invite_members(
            runtime,
            **common,
            actor=request["actor"],
            emails=[request["email"]],
            role=request["role"],
        )
    elif request["kind"] == "set_seats":
        subscriptions.change_seat_count(
            runtime, **common, actor=request["actor"], seats=request["seats"]
        )
    else:  # pragma: no cover - a typo in a test
        raise AssertionError(request["kind"])
