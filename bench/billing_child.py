"""One engine billing run in a process of its own, so its peak memory is the run's alone.

``python -m bench.billing_child URL AT`` runs ``run_billing`` at instant ``AT`` (ISO 8601) on
the database at ``URL`` and prints one JSON line: the run's seconds (the import and connection
set-up left out), invoices issued, failures, statements sent, the process's peak resident
memory in KiB (``VmHWM``, see ``_peak_kb``), and the cyclic collector's collections during the
run (per generation, and their seconds): a run asks for few, and a regression shows here first.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import event

from bench.harness import timed
from seatledger.bootstrap import bootstrap
from seatledger.clock import ManualClock
from seatledger.service.billing_run import BillingRunSummary, run_billing


def main(url: str, at: str) -> None:
    rt = bootstrap(url, clock=ManualClock(datetime.fromisoformat(at)), migrate_first=False)
    assert rt.engine is not None
    statements = [0]

    def count(*_: object) -> None:
        statements[0] += 1

    event.listen(rt.engine, "before_cursor_execute", count)
    collections = _Collections()
    summary: list[BillingRunSummary] = []
    gc.callbacks.append(collections.note)
    try:
        seconds = timed(lambda: summary.append(run_billing(rt)))
    finally:
        gc.callbacks.remove(collections.note)
        rt.dispose()
    report = {
        "seconds": seconds,
        "invoices": summary[0].invoices_issued,
        "failures": [f"{f.subscription_id}: {f.code}" for f in summary[0].failures[:5]],
        "statements": statements[0],
        "maxrss_kb": _peak_kb(),
        "gc_collections": collections.counts,
        "gc_seconds": collections.seconds,
    }
    print(json.dumps(report))


class _Collections:
    """The collections ``gc.callbacks`` reports, per generation, and the time they took."""

    def __init__(self) -> None:
        self.counts = [0, 0, 0]
        self.seconds = 0.0
        self._started = 0.0

    def note(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.counts[info["generation"]] += 1
        self.seconds += time.perf_counter() - self._started


def _peak_kb() -> int:
    """This process's peak resident memory in KiB: Linux's ``VmHWM``, which starts afresh with
    the program. ``ru_maxrss`` does not: Linux carries it across ``exec``, so a child started by
    a large bench process would report the parent's size instead of its own."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
