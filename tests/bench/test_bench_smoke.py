"""The bench harness runs on tiny inputs and writes the report's shape (no timing assertions:
the figures depend on the machine, only their presence and sign are checked here)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NAMES = {
    "seat_change_sqlite",
    "seat_change_postgres",
    "seat_change_http_postgres",
    "billing_run_postgres",
    "billing_run_sqlite",
    "preview_latency",
}


def _bench_module(*args: str, timeout: int) -> subprocess.CompletedProcess[str]:
    """``python -m ARGS`` (or ``-c CODE``) from the project root, which must succeed; its output."""
    done = subprocess.run(
        [sys.executable, *args] if args[0] == "-c" else [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _quick(tmp_path: Path, *names: str) -> tuple[dict[str, dict[str, Any]], str]:
    """``python -m bench --quick --only NAME...``: the report's rows by name, and stdout."""
    output = tmp_path / "latest.json"
    only = [arg for name in names for arg in ("--only", name)]
    done = _bench_module("bench", "--quick", *only, "--output", str(output), timeout=600)
    report = json.loads(output.read_text(encoding="utf-8"))
    assert set(report) == {"machine", "results"}
    assert report["machine"]["mode"] == "quick"
    by_name = {r["name"]: r for r in report["results"]}
    assert set(by_name) == NAMES
    for row in report["results"]:
        assert {"name", "engine", "baseline", "unit", "ratio", "target"} <= set(row)
    return by_name, done.stdout


def _seat_case(row: dict[str, Any], labels: set[str]) -> None:
    assert row["engine"] > 0
    assert row["baseline"] > 0
    assert row["ratio"] == row["baseline"] / row["engine"]
    assert row["oversold"] == 0
    assert set(row["cases"]) == labels
    assert all(case["engine"] > 0 and case["baseline"] > 0 for case in row["cases"].values())
    # The reported figure is the worst worker count's.
    assert row["ratio"] == min(case["ratio"] for case in row["cases"].values())
    assert row["engine_p50"] <= row["engine_p99"]
    assert row["baseline_p50"] <= row["baseline_p99"]


def test_quick_seat_change_writes_every_name_and_positive_figures(tmp_path: Path) -> None:
    by_name, stdout = _quick(tmp_path, "seat_change_sqlite")
    assert "seat_change_sqlite" in stdout

    # --quick runs the 4-worker phases with 2 workers: fewer processes to start.
    _seat_case(
        by_name["seat_change_sqlite"], {"1 worker, many", "2 workers, many", "2 workers, hot"}
    )
    assert by_name["seat_change_sqlite"]["rows_per_op"]["memberships"] == 1

    # A case not run is reported as such, never with a figure.
    skipped = by_name["billing_run_sqlite"]
    assert skipped["engine"] is None
    assert skipped["ratio"] is None
    assert skipped["note"] == "not measured yet"


@pytest.mark.postgres
def test_quick_postgres_and_billing_cases_measure_both_sides(tmp_path: Path) -> None:
    if not os.environ.get("SEATLEDGER_TEST_POSTGRES_URL"):
        pytest.fail("run through scripts/with-postgres (SEATLEDGER_TEST_POSTGRES_URL unset)")
    by_name, _ = _quick(
        tmp_path,
        "seat_change_postgres",
        "seat_change_http_postgres",
        "billing_run_postgres",
        "billing_run_sqlite",
    )
    seat = by_name["seat_change_postgres"]
    _seat_case(seat, {"1 worker, many", "2 workers, many", "2 workers, hot"})
    assert seat["worst_p99_ratio"] > 0
    assert isinstance(seat["meets_p99_target"], bool)

    http = by_name["seat_change_http_postgres"]
    assert http["engine"] > 0 and http["baseline"] > 0
    assert http["oversold"] == 0
    assert set(http["cases"]) == {"1 worker", "2 workers"}
    assert all(case["engine_requests"] > 0 for case in http["cases"].values())

    for name in ("billing_run_postgres", "billing_run_sqlite"):
        billing = by_name[name]
        assert billing["engine"] > 0 and billing["baseline"] > 0
        assert billing["ratio"] == billing["baseline"] / billing["engine"]
        # The invoices and lines alone, as the earlier baseline wrote them, alongside.
        assert billing["invoice_rows"] > 0
        assert billing["invoice_rows_ratio"] == billing["invoice_rows"] / billing["engine"]
        assert "seat_ledger" in billing["baseline_rows"]
        # Peak memory at two sizes, the larger four times the smaller.
        sizes = sorted(int(n) for n in billing["peak_memory_kb"])
        assert len(sizes) == 2
        assert all(kb > 0 for kb in billing["peak_memory_kb"].values())
    postgres = by_name["billing_run_postgres"]
    assert postgres["baseline_kind"] == "copy"
    assert postgres["executemany_ratio"] == postgres["executemany"] / postgres["engine"]
    assert by_name["billing_run_sqlite"]["baseline_kind"] == "executemany"
    for name in ("billing_run_sqlite", "billing_run_postgres"):
        collected = by_name[name]
        assert len(collected["gc_collections"]) == 3
        assert all(isinstance(n, int) and n >= 0 for n in collected["gc_collections"])
        assert 0 <= collected["gc_share"] < 1


@pytest.mark.postgres
def test_the_scale_run_renews_every_subscription_once_and_reports_it() -> None:
    if not os.environ.get("SEATLEDGER_TEST_POSTGRES_URL"):
        pytest.fail("run through scripts/with-postgres (SEATLEDGER_TEST_POSTGRES_URL unset)")
    done = _bench_module("bench.billing_scale", "12", timeout=600)
    seeded, run, checked = (json.loads(line) for line in done.stdout.strip().splitlines()[-3:])

    assert seeded["subscriptions"] == 12
    assert (run["invoices"], run["failures"]) == (12, [])
    assert run["ms_per_subscription"] == run["seconds"] * 1000 / 12
    assert run["statements"] > 0 and run["maxrss_kb"] > 0
    assert checked == {"renewed_once": 12}


def test_the_statement_floor_names_each_way_with_a_positive_figure() -> None:
    done = _bench_module("bench.statement_floor", "50", timeout=120)
    figures = {}
    for line in done.stdout.strip().splitlines():
        way, _, rest = line.partition(":")
        figures[way.strip()] = float(rest.split()[0])
    assert set(figures) == {"core", "exec_driver_sql", "sqlite3"}
    assert all(micros > 0 for micros in figures.values())


def test_the_roster_scale_names_each_way_with_a_positive_figure() -> None:
    done = _bench_module("bench.roster_scale", "12", "2", timeout=180)
    figures = {}
    for line in done.stdout.strip().splitlines():
        way, _, rest = line.partition(":")
        figures[way.strip()] = float(rest.split()[0])
    assert set(figures) == {"one_process", "two_runtimes", "nothing_kept"}
    assert all(ms > 0 for ms in figures.values())


@pytest.mark.postgres
def test_the_cpu_split_gives_each_side_its_wall_client_and_server_time() -> None:
    if not os.environ.get("SEATLEDGER_TEST_POSTGRES_URL"):
        pytest.fail("run through scripts/with-postgres (SEATLEDGER_TEST_POSTGRES_URL unset)")
    done = _bench_module("bench.cpu_split", "2", "10", "1", timeout=300)
    shape = re.compile(
        r"(engine|baseline): ([\d.]+) ms/op wall, client ([\d.]+) ms/op, "
        r"server ([\d.]+) ms/op, p50 ([\d.]+) ms, p99 ([\d.]+) ms"
    )
    found = [shape.fullmatch(line) for line in done.stdout.strip().splitlines()]
    assert all(found), done.stdout
    figures = {m.group(1): [float(g) for g in m.groups()[1:]] for m in found if m}
    assert set(figures) == {"engine", "baseline"}
    for wall, client, server, p50, p99 in figures.values():
        # CPU is counted in clock ticks (10 ms): the workers' twenty operations take several.
        assert wall > 0 and client > 0 and server >= 0
        assert 0 < p50 <= p99


# Two rounds of rows, each followed by ``analyze``: the planner's row count after each is what
# the table holds then (a cached ``analyze`` gathered statistics once, at the first call).
_GATHERS_EACH_TIME = """
from bench.backends import analyze, database

with database("postgresql") as db:
    raw = db.raw()
    raw.q("CREATE TABLE grown (n integer)")
    counts = []
    for rows in (10, 500):
        raw.q(f"INSERT INTO grown SELECT generate_series(1, {rows})")
        analyze(db)
        (estimated,) = raw.one("SELECT reltuples FROM pg_class WHERE relname = 'grown'")
        counts.append(int(estimated))
    raw.close()
    print(counts)
"""


@pytest.mark.postgres
def test_statistics_are_gathered_again_at_every_call() -> None:
    if not os.environ.get("SEATLEDGER_TEST_POSTGRES_URL"):
        pytest.fail("run through scripts/with-postgres (SEATLEDGER_TEST_POSTGRES_URL unset)")
    done = _bench_module("-c", _GATHERS_EACH_TIME, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "[10, 510]"


_SQLITE_SETTINGS = """
from bench.backends import database

with database("sqlite") as db:
    raw = db.raw()
    print([raw.one(f"PRAGMA {name}")[0] for name in ("journal_mode", "synchronous", "foreign_keys")])
    raw.close()
"""


def test_the_raw_sqlite_connection_is_set_up_as_the_engines() -> None:
    # WAL, commits synced at checkpoints (synchronous = NORMAL, 1) and foreign keys, as
    # store/engine.py sets up the engine's connections: the ratio measures the engine alone.
    done = _bench_module("-c", _SQLITE_SETTINGS, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "['wal', 1, 1]"
