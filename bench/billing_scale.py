"""One billing run over N subscriptions on PostgreSQL, for scale (issue 4: 1,000,000 on the
2-core machine), without the baselines and repeats of ``billing_run_postgres``.

    scripts/with-postgres .venv/bin/python -m bench.billing_scale 1000000

Seeds N due subscriptions (three through the service, the rest set-based copies, as
``billing_run``), runs ``run_billing`` once in a process of its own, checks that every
subscription was renewed exactly once with an invoice like the service-made one's, and prints
one JSON line per stage: seeding seconds; the run's seconds, ms per subscription, statements and
peak resident memory (KiB).
"""

from __future__ import annotations

import json
import sys
import time

from dateutil.relativedelta import relativedelta

from bench.backends import analyze, database
from bench.billing_run import check_renewals, engine_run, seed
from bench.world import START_AT


def main(n: int) -> None:
    with database("postgresql") as db:
        started = time.perf_counter()
        reference, _ = seed(db, n)
        analyze(db)
        seeded = round(time.perf_counter() - started, 1)
        print(json.dumps({"subscriptions": n, "seed_seconds": seeded}), flush=True)
        report = engine_run(db, START_AT + relativedelta(months=1, hours=1), n)
        report["ms_per_subscription"] = report["seconds"] * 1000 / n
        print(json.dumps(report), flush=True)
        raw = db.raw()
        try:
            check_renewals(raw, reference, n)
        finally:
            raw.close()
        print(json.dumps({"renewed_once": n}), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
