"""``billing_run_sqlite``: ``run_billing`` renewing N due subscriptions against ``executemany``
of the same invoice and line rows in one transaction.

Every run moves the manual clock one month on, so all N subscriptions fall due again; the
baseline then writes copies of exactly the invoices and lines that engine run wrote (new ids,
numbers moved out of the engine's range, no renewal key so the copies do not collide with the
renewals they copy).
"""

from __future__ import annotations

import secrets
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import event

from bench.harness import Result, Sizes, alternate, median, ratio, timed
from bench.world import START_AT, new_subscription, raw_sqlite, sqlite_runtime
from seatledger.clock import ManualClock
from seatledger.service.billing_run import run_billing

NAME = "billing_run_sqlite"
UNIT = "ms/subscription"
TARGET = "ratio >= 0.25"

_NUMBER_OFFSET = 1_000_000


def _copies(
    con: sqlite3.Connection, after_rowid: int, run: int
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The invoices (and their lines) written after ``after_rowid``, as fresh rows to insert."""
    invoices = con.execute(
        "SELECT account_id, id, subscription_id, number, kind, status, reason, period_start, "
        "period_end, currency, total_minor, issued_at, created_at FROM invoices WHERE rowid > ?",
        (after_rowid,),
    ).fetchall()
    new_ids = {(row[0], row[1]): f"inv_{secrets.token_hex(12)}" for row in invoices}
    invoice_rows = [
        (row[0], new_ids[(row[0], row[1])], row[2], row[3] + _NUMBER_OFFSET * (run + 1), *row[4:])
        for row in invoices
    ]
    lines = con.execute(
        "SELECT l.account_id, l.invoice_id, l.position, l.kind, l.description, l.quantity, "
        "l.unit_amount_minor, l.amount_minor, l.period_start, l.period_end "
        "FROM invoice_lines l JOIN invoices i ON i.account_id = l.account_id "
        "AND i.id = l.invoice_id WHERE i.rowid > ?",
        (after_rowid,),
    ).fetchall()
    line_rows = [(row[0], new_ids[(row[0], row[1])], *row[2:]) for row in lines]
    return invoice_rows, line_rows


def _raw_insert(
    con: sqlite3.Connection, invoices: list[tuple[Any, ...]], lines: list[tuple[Any, ...]]
) -> None:
    con.execute("BEGIN IMMEDIATE")
    con.executemany(
        "INSERT INTO invoices (account_id, id, subscription_id, number, kind, status, reason, "
        "period_start, period_end, currency, total_minor, issued_at, created_at, renewal_of) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
        invoices,
    )
    con.executemany(
        "INSERT INTO invoice_lines (account_id, invoice_id, position, kind, description, "
        "quantity, unit_amount_minor, amount_minor, period_start, period_end) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        lines,
    )
    con.execute("COMMIT")


def run(sizes: Sizes) -> Result:
    with tempfile.TemporaryDirectory(prefix="seatledger-bench-") as tmp:
        return _run(Path(tmp) / "bench.db", sizes)


def _run(path: Path, sizes: Sizes) -> Result:
    clock = ManualClock(START_AT)
    rt = sqlite_runtime(path, clock)
    n = sizes.billing_subscriptions
    statements = [0]

    def count(*_: object) -> None:
        statements[0] += 1

    try:
        con = raw_sqlite(path)
        for i in range(n):
            new_subscription(rt, i, seats=3)
        assert rt.engine is not None
        event.listen(rt.engine, "before_cursor_execute", count)
        marks: list[int] = []
        invoice_counts: list[int] = []

        def engine(i: int) -> float:
            clock.move_to(START_AT + relativedelta(months=i + 1, hours=1))
            (last,) = con.execute("SELECT coalesce(max(rowid), 0) FROM invoices").fetchone()
            marks.append(last)
            statements[0] = 0
            summary_box: list[int] = []
            seconds = timed(lambda: summary_box.append(run_billing(rt).invoices_issued))
            invoice_counts.append(summary_box[0])
            return seconds

        def baseline(i: int) -> float:
            invoices, lines = _copies(con, marks[i], i)
            return timed(lambda: _raw_insert(con, invoices, lines))

        engine_times, baseline_times = alternate(engine, baseline, sizes.runs)
        per_sub_statements = statements[0] / n
        con.close()
    finally:
        rt.dispose()
    if any(count != n for count in invoice_counts):
        raise SystemExit(f"{NAME}: expected {n} invoices per run, got {invoice_counts}")
    engine_ms = median(engine_times) * 1000 / n
    baseline_ms = median(baseline_times) * 1000 / n
    return Result(
        NAME,
        engine_ms,
        baseline_ms,
        UNIT,
        ratio(baseline_ms, engine_ms),
        TARGET,
        extra={
            "subscriptions": n,
            "runs": sizes.runs,
            "statements_per_subscription": round(per_sub_statements, 1),
        },
    )
