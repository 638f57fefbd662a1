"""The bench harness runs on tiny inputs and writes the report's shape (no timing assertions:
the figures depend on the machine, only their presence and sign are checked here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAMES = {
    "seat_change_sqlite",
    "seat_change_postgres",
    "seat_change_http_postgres",
    "billing_run_postgres",
    "billing_run_sqlite",
    "preview_latency",
}


def test_quick_seat_change_writes_every_name_and_positive_figures(tmp_path: Path) -> None:
    output = tmp_path / "latest.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "seat_change_sqlite",
         "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "seat_change_sqlite" in done.stdout

    report = json.loads(output.read_text(encoding="utf-8"))
    assert set(report) == {"machine", "results"}
    assert report["machine"]["mode"] == "quick"
    by_name = {r["name"]: r for r in report["results"]}
    assert set(by_name) == NAMES
    for row in report["results"]:
        assert {"name", "engine", "baseline", "unit", "ratio", "target"} <= set(row)

    seat = by_name["seat_change_sqlite"]
    assert seat["engine"] > 0
    assert seat["baseline"] > 0
    assert seat["ratio"] == seat["baseline"] / seat["engine"]
    assert seat["oversold"] == 0
    assert set(seat["cases"]) == {"1 worker, many", "4 workers, many", "4 workers, hot"}
    assert all(case["engine"] > 0 and case["baseline"] > 0 for case in seat["cases"].values())
    # The reported figure is the worst worker count's.
    assert seat["ratio"] == min(case["ratio"] for case in seat["cases"].values())
    assert seat["rows_per_op"]["memberships"] == 1

    # A case not run is reported as such, never with a figure.
    skipped = by_name["billing_run_sqlite"]
    assert skipped["engine"] is None
    assert skipped["ratio"] is None
    assert skipped["note"] == "not measured yet"
