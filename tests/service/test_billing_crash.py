"""Crash safety of ``seatledger billing run``, with real processes on SQLite and PostgreSQL.

A run is killed with SIGKILL at several points while it bills a few hundred due subscriptions,
then run again to completion: every due period must be billed exactly once (one renewal invoice
per subscription and period) and every account's invoice numbers must run 1, 2, 3... without a
gap. On PostgreSQL several runs at once must share the work and still bill each period once.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

import pytest
from billing_builders import (
    Seeded,
    all_renewals,
    assert_gapless,
    at,
    count_invoices,
    invoice_numbers,
    renewal_counts,
    seed_due,
)
from sqlalchemy import Engine, select, text

from seatledger.store import make_engine
from seatledger.store.tables import accounts as accounts_table

UNTIL = "2026-02-15T00:00:00Z"
# 1,000 subscriptions anchored Jan 1, five per account: Feb 1 is due for each. Enough that a run
# in small batches is still going when the test kills it (set-based batches are quick).
ACCOUNTS, PER_ACCOUNT = 200, 5
RENEWALS = ACCOUNTS * PER_ACCOUNT


def billing_run(url: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "seatledger.cli.main",
            "billing",
            "run",
            "--until",
            UNTIL,
            "--database",
            url,
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_when(process: subprocess.Popen[str], engine: Engine, invoices: int) -> int:
    """SIGKILL ``process`` as soon as ``invoices`` invoices are committed; returns how many were
    committed when it died. Fails if the run finished first (then nothing was tested)."""
    deadline = time.monotonic() + 60
    while count_invoices(engine) < invoices:
        assert process.poll() is None, f"the run ended before it could be killed: {process.stderr}"
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    return count_invoices(engine)


def finish(url: str, *extra: str) -> str:
    process = billing_run(url, *extra)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return out


def billed(summary: str) -> int:
    found = re.search(r"Subscriptions billed\s*\S\s*(\d+)", summary)
    assert found, summary
    return int(found.group(1))


def assert_billed_exactly_once(engine: Engine, seeded: Seeded) -> None:
    assert renewal_counts(engine) == all_renewals(seeded, at(UNTIL))
    assert_gapless(invoice_numbers(engine), seeded.accounts)


def seed(url: str) -> Seeded:
    return seed_due(url, accounts_count=ACCOUNTS, per_account=PER_ACCOUNT, anchor=at("2026-01-01"))


def test_a_run_killed_again_and_again_then_finished_bills_every_period_once(
    database_url: str,
) -> None:
    seeded = seed(database_url)
    engine = make_engine(database_url)
    try:
        committed = []
        for point in (RENEWALS // 8, RENEWALS * 3 // 8, RENEWALS * 5 // 8):
            committed.append(
                kill_when(billing_run(database_url, "--batch-size", "7"), engine, point)
            )
            # Killed mid-way: what was committed stays, what was open is gone without a trace.
            assert committed[-1] < RENEWALS
            counts = renewal_counts(engine)
            assert set(counts.values()) == {1}
            assert_gapless(invoice_numbers(engine), seeded.accounts)
        assert committed == sorted(committed)
        summary = finish(database_url, "--batch-size", "7")
        assert 0 < billed(summary) < ACCOUNTS * PER_ACCOUNT
        assert_billed_exactly_once(engine, seeded)
        # And once more: nothing is left to bill.
        assert billed(finish(database_url)) == 0
        assert count_invoices(engine) == RENEWALS
    finally:
        engine.dispose()


def run_together(url: str, runs: Sequence[Sequence[str]]) -> list[subprocess.Popen[str]]:
    return [billing_run(url, *extra) for extra in runs]


@pytest.mark.postgres
def test_concurrent_runs_share_the_work_and_bill_each_period_once_even_if_one_is_killed(
    postgres_database_url: str,
) -> None:
    """Three runs claim batches side by side (``FOR UPDATE SKIP LOCKED``); one is killed mid-way,
    its open batch rolls back and its locks go; the others and a last run bill the rest once.

    The test holds every account row locked until all three runs have claimed a batch and wait
    to number its invoices: each has then taken a share, however quick the first one is."""
    url = postgres_database_url
    seeded = seed(url)
    engine = make_engine(url)
    try:
        with engine.connect() as gate:
            gate.execute(select(accounts_table.c.id).with_for_update())
            victim, *others = run_together(url, [["--batch-size", "5"]] * 3)
            wait_for_lock_waiters(engine, 3)
            # Killed holding a claimed batch, before it could number its invoices.
            os.kill(victim.pid, signal.SIGKILL)
            victim.communicate()
            gate.rollback()
        outputs = [process.communicate(timeout=120) for process in others]
        assert victim.returncode == -signal.SIGKILL
        assert [p.returncode for p in others] == [0, 0], [err for _, err in outputs]
        shares = [billed(out) for out, _ in outputs]
        assert all(share > 0 for share in shares), shares
        finish(url)
        assert_billed_exactly_once(engine, seeded)
    finally:
        engine.dispose()


def wait_for_lock_waiters(engine: Engine, count: int) -> None:
    """Wait until ``count`` sessions of the database wait for a row lock."""
    deadline = time.monotonic() + 60
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while True:
        with engine.connect() as conn:
            if conn.execute(query).scalar_one() >= count:
                return
        assert time.monotonic() < deadline, f"fewer than {count} runs came to wait"
        time.sleep(0.02)


@pytest.mark.postgres
def test_workers_option_starts_processes_that_share_the_work(postgres_database_url: str) -> None:
    url = postgres_database_url
    seeded = seed(url)
    engine = make_engine(url)
    try:
        summary = finish(url, "--workers", "2", "--batch-size", "10")
        assert billed(summary) == ACCOUNTS * PER_ACCOUNT
        assert f"Invoices issued │ {RENEWALS}" in re.sub(r" +", " ", summary)
        assert_billed_exactly_once(engine, seeded)
    finally:
        engine.dispose()
