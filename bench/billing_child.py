"""One engine billing run in a process of its own, so its peak memory is the run's alone.

``python -m bench.billing_child URL AT`` runs ``run_billing`` at instant ``AT`` (ISO 8601) on
the database at ``URL`` and prints one JSON line: the run's seconds (the import and connection
set-up left out), invoices issued, failures, statements sent, and the process's peak resident
memory in KiB (``ru_maxrss``).
"""

from __future__ import annotations

import json
import resource
import sys
from datetime import datetime

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
    summary: list[BillingRunSummary] = []
    try:
        seconds = timed(lambda: summary.append(run_billing(rt)))
    finally:
        rt.dispose()
    report = {
        "seconds": seconds,
        "invoices": summary[0].invoices_issued,
        "failures": [f"{f.subscription_id}: {f.code}" for f in summary[0].failures[:5]],
        "statements": statements[0],
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
