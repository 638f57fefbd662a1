"""``billing_run_sqlite`` and ``billing_run_postgres``: ``run_billing`` renewing N due
subscriptions against plain-driver writes of the same invoice and line rows in one transaction:
``executemany`` on SQLite; on PostgreSQL both ``COPY`` (the ratio of the report) and
``executemany`` (``executemany_ratio``).

One subscription of each kind is made through the service (three, to compare), and the other
N - 3 are set-based copies of it (``world.clone_accounts``), so N can be large. Every run moves
the clock one month on, so all N fall due again; the engine runs in a process of its own
(``billing_child``: its peak memory is the run's) and must issue exactly N renewal invoices, each
like the one the service-made subscription got. The baselines then write copies of exactly the
invoices and lines that engine run wrote (new ids, numbers moved out of the engine's range, no
renewal key so the copies do not collide with the renewals they copy).

Peak memory is also taken at N / 4 on a database of its own: flat means the run streams its
batches instead of loading every subscription.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from datetime import datetime
from typing import Any

from dateutil.relativedelta import relativedelta

from bench.backends import Db, NoServer, Raw, database
from bench.harness import Result, Sizes, alternate_sides, median, not_measured, ratio, timed
from bench.world import START_AT, clone_accounts, compare_accounts, new_subscription
from seatledger.clock import ManualClock

UNIT = "ms/subscription"
SQLITE = "billing_run_sqlite"
POSTGRES = "billing_run_postgres"
TARGETS = {SQLITE: "ratio >= 0.25", POSTGRES: "ratio >= 0.25 (>= 0.80 of executemany)"}
SEATS = 3
MADE = 3  # subscriptions made through the service, to compare the copies with

_NUMBER_OFFSET = 1_000_000
_INVOICE_COLUMNS = (
    "account_id, id, subscription_id, number, kind, status, reason, period_start, period_end, "
    "currency, total_minor, issued_at, created_at, renewal_of"
)
_LINE_COLUMNS = (
    "account_id, invoice_id, position, kind, description, quantity, unit_amount_minor, "
    "amount_minor, period_start, period_end"
)


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


def _copies(
    raw: Raw, start: Any, offset: int
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The invoices renewing the period from ``start`` (and their lines) as fresh rows."""
    invoices = raw.q(
        f"SELECT {_INVOICE_COLUMNS} FROM invoices WHERE renewal_of = :start",
        {"start": start},
    ).fetchall()
    new_ids = {(row[0], row[1]): f"inv_{secrets.token_hex(12)}" for row in invoices}
    invoice_rows = [
        (row[0], new_ids[(row[0], row[1])], row[2], row[3] + offset, *row[4:13], None)
        for row in invoices
    ]
    lines = raw.q(
        "SELECT l.account_id, l.invoice_id, l.position, l.kind, l.description, l.quantity, "
        "l.unit_amount_minor, l.amount_minor, l.period_start, l.period_end "
        "FROM invoice_lines l JOIN invoices i ON i.account_id = l.account_id "
        "AND i.id = l.invoice_id WHERE i.renewal_of = :start",
        {"start": start},
    ).fetchall()
    line_rows = [(row[0], new_ids[(row[0], row[1])], *row[2:]) for row in lines]
    return invoice_rows, line_rows


def _placeholders(columns: str, raw: Raw) -> str:
    marks = ", ".join(("%s" if raw.postgres else "?") for _ in columns.split(","))
    return f"({marks})"


def _executemany(raw: Raw, invoices: list[tuple[Any, ...]], lines: list[tuple[Any, ...]]) -> None:
    raw.begin()
    if raw.postgres:
        with raw.con.cursor() as cur:
            cur.executemany(
                f"INSERT INTO invoices ({_INVOICE_COLUMNS}) VALUES "
                f"{_placeholders(_INVOICE_COLUMNS, raw)}",
                invoices,
            )
            cur.executemany(
                f"INSERT INTO invoice_lines ({_LINE_COLUMNS}) VALUES "
                f"{_placeholders(_LINE_COLUMNS, raw)}",
                lines,
            )
    else:
        raw.con.executemany(
            f"INSERT INTO invoices ({_INVOICE_COLUMNS}) VALUES "
            f"{_placeholders(_INVOICE_COLUMNS, raw)}",
            invoices,
        )
        raw.con.executemany(
            f"INSERT INTO invoice_lines ({_LINE_COLUMNS}) VALUES {_placeholders(_LINE_COLUMNS, raw)}",
            lines,
        )
    raw.commit()


def _copy(raw: Raw, invoices: list[tuple[Any, ...]], lines: list[tuple[Any, ...]]) -> None:
    raw.begin()
    with raw.con.cursor() as cur:
        with cur.copy(f"COPY invoices ({_INVOICE_COLUMNS}) FROM STDIN") as copy:
            for row in invoices:
                copy.write_row(row)
        with cur.copy(f"COPY invoice_lines ({_LINE_COLUMNS}) FROM STDIN") as copy:
            for row in lines:
                copy.write_row(row)
    raw.commit()


def _measure(name: str, db: Db, n: int, sizes: Sizes) -> Result:
    reference, _ = seed(db, n)
    raw = db.raw()
    reports: list[dict[str, Any]] = []
    starts: list[Any] = []
    rounds = [0]

    def engine(i: int) -> float:
        report = engine_run(db, START_AT + relativedelta(months=i + 1, hours=1), n)
        starts.append(check_renewals(raw, reference, n))
        reports.append(report)
        return float(report["seconds"])

    def baseline(write: Any) -> Any:
        def side(i: int) -> float:
            rounds[0] += 1
            invoices, lines = _copies(raw, starts[i], _NUMBER_OFFSET * rounds[0])
            return timed(lambda: write(raw, invoices, lines))

        return side

    sides = {"engine": engine, "executemany": baseline(_executemany)}
    if raw.postgres:
        sides["copy"] = baseline(_copy)
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
        "statements_per_subscription": round(median([r["statements"] for r in reports]) / n, 2),
        "peak_kb": max(r["maxrss_kb"] for r in reports),
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
