"""``billing_run_sqlite`` and ``billing_run_postgres``: ``run_billing`` renewing N due
subscriptions against plain-driver writes of the same rows in one transaction
(``billing_baseline``): ``executemany`` on SQLite; on PostgreSQL both ``COPY`` (the ratio of the
report) and ``executemany`` (``executemany_ratio``). ``invoice_rows`` in the report is the
invoices and lines alone, the baseline of the earlier runs.

One subscription of each kind is made through the service (three, to compare), and the other
N - 3 are set-based copies of it (``world.clone_accounts``), so N can be large. Every run moves
the clock one month on, so all N fall due again; the engine runs in a process of its own
(``billing_child``: its peak memory is the run's) and must issue exactly N renewal invoices, each
like the one the service-made subscription got. The baselines then write copies of exactly the
rows that engine run wrote (new ids, numbers moved out of the engine's range, no renewal key so
the copies do not collide with the renewals they copy) and make the same updates.

Peak memory is also taken at N / 4 on a database of its own: flat means the run streams its
batches instead of loading every subscription.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from typing import Any

from dateutil.relativedelta import relativedelta

from bench import billing_baseline
from bench.backends import Db, NoServer, Raw, analyze, database
from bench.billing_baseline import COPY_STEP
from bench.harness import Result, Sizes, alternate_sides, median, not_measured, ratio, timed
from bench.world import START_AT, clone_accounts, compare_accounts, new_subscription
from seatledger.clock import ManualClock

UNIT = "ms/subscription"
SQLITE = "billing_run_sqlite"
POSTGRES = "billing_run_postgres"
TARGETS = {SQLITE: "ratio >= 0.25", POSTGRES: "ratio >= 0.25 (>= 0.80 of executemany)"}
SEATS = 3
MADE = 3  # subscriptions made through the service, to compare the copies with


def run_sqlite(sizes: Sizes) -> Result:
    return _run(SQLITE, "sqlite", sizes.billing_subscriptions, sizes)


def run_postgres(sizes: Sizes) -> Result:
    return _run(POSTGRES, "postgresql", sizes.billing_subscriptions_postgres, sizes)


def _run(name: str, kind: str, n: int, sizes: Sizes) -> Result:
    try:
        with database(kind) as db:
            result = _measure(name, db, n, sizes)
        with database(kind) as db:
            small = max(MADE + 1, n // 4)
            seed(db, small)
            memory = engine_run(db, START_AT + relativedelta(months=1, hours=1), small)
    except NoServer as exc:
        return not_measured(name, UNIT, TARGETS[name], note=str(exc))
    peak = result.extra.pop("peak_kb")
    result.extra["peak_memory_kb"] = {str(small): memory["maxrss_kb"], str(n): peak}
    result.extra["peak_memory_growth"] = round(peak / memory["maxrss_kb"], 3)
    return result


def seed(db: Db, n: int) -> tuple[str, list[str]]:
    """``n`` due-next-month subscriptions: ``MADE`` through the service, the rest copies of the
    first; ``SystemExit`` unless the copies hold the same rows. The first one's account id and
    the copies' ids."""
    rt = db.runtime(ManualClock(START_AT))
    raw = db.raw()
    try:
        made = [new_subscription(rt, 0, SEATS).account_id for _ in range(MADE)]
        copies = clone_accounts(raw, made[0], first=0, count=n - MADE)
        compare_accounts(raw, made, copies[:3])
    finally:
        raw.close()
        rt.dispose()
    return made[0], copies


def engine_run(db: Db, at: datetime, n: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.billing_child", db.url, at.isoformat()],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"billing run failed: {done.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if report["invoices"] != n or report["failures"]:
        raise SystemExit(f"billing run: expected {n} invoices, got {report}")
    return report


def median_report(reports: list[dict[str, Any]], key: str) -> Any:
    """``key`` of the report whose run took the median time."""
    ordered = sorted(reports, key=lambda r: float(r["seconds"]))
    return ordered[len(ordered) // 2][key]


def check_renewals(raw: Raw, reference: str, n: int) -> Any:
    """``SystemExit`` unless the last run renewed every subscription once, each invoice like the
    service-made subscription's (same total, same lines); the start of the period those invoices
    renew, as the database returns it."""
    (start,) = raw.one(
        "SELECT period_start FROM subscriptions WHERE account_id = :account", {"account": reference}
    )
    found = raw.one(
        "SELECT count(*), count(DISTINCT account_id), min(total_minor), max(total_minor) "
        "FROM invoices WHERE renewal_of = :start",
        {"start": start},
    )
    ref_total, ref_lines = raw.one(
        "SELECT i.total_minor, (SELECT count(*) FROM invoice_lines l WHERE l.account_id = "
        "i.account_id AND l.invoice_id = i.id) FROM invoices i "
        "WHERE i.account_id = :account AND i.renewal_of = :start",
        {"account": reference, "start": start},
    )
    (lines,) = raw.one(
        "SELECT count(*) FROM invoice_lines l JOIN invoices i ON i.account_id = l.account_id "
        "AND i.id = l.invoice_id WHERE i.renewal_of = :start",
        {"start": start},
    )
    expected = (n, n, ref_total, ref_total)
    if tuple(found) != expected or lines != n * ref_lines:
        raise SystemExit(
            f"billing run: renewals {tuple(found)} (expected {expected}), lines {lines} "
            f"(expected {n * ref_lines})"
        )
    return start


def _measure(name: str, db: Db, n: int, sizes: Sizes) -> Result:
    reference, _ = seed(db, n)
    analyze(db)
    raw = db.raw()
    reports: list[dict[str, Any]] = []
    runs: list[billing_baseline.Written] = []
    rounds = [0]

    def engine(i: int) -> float:
        ran_at = START_AT + relativedelta(months=i + 1, hours=1)
        report = engine_run(db, ran_at, n)
        start = check_renewals(raw, reference, n)
        runs.append(billing_baseline.written(raw, start, raw.instant(ran_at), n))
        reports.append(report)
        return float(report["seconds"])

    def baseline(*, use_copy: bool, only_invoices: bool = False) -> Any:
        def side(i: int) -> float:
            rounds[0] += 1
            rows = billing_baseline.copies(raw, runs[i], COPY_STEP * rounds[0])
            return timed(
                lambda: billing_baseline.write(
                    raw, rows, use_copy=use_copy, only_invoices=only_invoices
                )
            )

        return side

    sides = {
        "engine": engine,
        "executemany": baseline(use_copy=False),
        "invoice_rows": baseline(use_copy=raw.postgres, only_invoices=True),
    }
    if raw.postgres:
        sides["copy"] = baseline(use_copy=True)
    try:
        times = alternate_sides(sides, sizes.billing_runs)
    finally:
        raw.close()
    per_sub = {side: median(seconds) * 1000 / n for side, seconds in times.items()}
    main_baseline = "copy" if raw.postgres else "executemany"
    extra: dict[str, Any] = {
        "subscriptions": n,
        "runs": sizes.billing_runs,
        "baseline_kind": main_baseline,
        "baseline_rows": "subscriptions, accounts, invoices, invoice_lines, seat_ledger, "
        "audit_log, webhook_outbox",
        "statements_per_subscription": round(median([r["statements"] for r in reports]) / n, 2),
        "peak_kb": max(r["maxrss_kb"] for r in reports),
        # The cyclic collector during the engine's runs (the median run's): young, middle and
        # full collections, and their share of the run's time.
        "gc_collections": median_report(reports, "gc_collections"),
        "gc_share": round(median([r["gc_seconds"] / r["seconds"] for r in reports]), 4),
        # The invoices and lines alone, as the earlier runs measured the baseline.
        "invoice_rows": per_sub["invoice_rows"],
        "invoice_rows_ratio": ratio(per_sub["invoice_rows"], per_sub["engine"]),
    }
    if raw.postgres:
        extra["executemany"] = per_sub["executemany"]
        extra["executemany_ratio"] = ratio(per_sub["executemany"], per_sub["engine"])
    return Result(
        name,
        per_sub["engine"],
        per_sub[main_baseline],
        UNIT,
        ratio(per_sub[main_baseline], per_sub["engine"]),
        TARGETS[name],
        extra=extra,
    )
