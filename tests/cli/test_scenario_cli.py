"""``seatledger scenario run`` as SCENARIOS.md specifies it: the readable report, the ``--json``
shape, exit statuses 0 / 1 / 2, several files and folders, ``--database``; through the Typer app
and through the installed command in a subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from seatledger.cli.main import app

runner = CliRunner()
SEATLEDGER = Path(sys.executable).parent / "seatledger"

# SCENARIOS.md's example, verbatim (comments included): a file written against the contract.
CONTRACT_EXAMPLE = """\
name: add a seat mid-cycle            # optional
preset: reviewer-pro                  # a preset name, or omit and give `policy` in full
policy:                               # optional overrides, merged over the preset
  proration: {unit: second}
start: 2026-04-01T00:00:00Z           # the test clock's first instant (UTC; a bare date means 00:00Z)
workspaces: [main]                    # optional; several names for bundle scenarios
steps:
  - at: 2026-04-01                    # optional: move the clock forward to this instant first;
    subscribe: {seats: 2}             #   renewals that fall due on the way are issued in order
    expect: {charged: "99.00"}
  - at: 2026-04-16T00:00:00Z
    add_seats: 1
    expect:
      charged: "49.50"
      seats: {total: 3, used: 1, available: 2}
  - invite: {emails: [a@x.test, b@x.test, c@x.test], role: reviewer}   # 3 people, 2 seats free
    expect: {error: seat_limit_reached, seats: {used: 1}}
  - at: 2026-05-01                    # a step with no action only moves the clock
    expect:
      invoice: {total: "198.00"}
"""
FAILING = """\
name: expects the wrong amount [on purpose]
preset: rallly-pro
start: 2026-04-01
steps:
  - subscribe: {seats: 2}
    expect: {charged: "19.99", invoice: {lines: [{kind: base, amount: "20.00"}]}}
  - add_seats: 1
    expect: {charged: "10.00"}
"""
INVALID = """\
preset: rallly-pro
start: 2026-04-01
steps:
  - subscribe: {seats: 2}
  - add_seats: 0
"""
STEP_KEYS = {
    "index",
    "at",
    "action",
    "ok",
    "error",
    "message",
    "seats",
    "charged",
    "credited",
    "balance",
    "invoices",
    "failures",
}
INVOICE_KEYS = {"number", "kind", "period_start", "period_end", "currency", "total", "lines"}
LINE_KEYS = {
    "kind",
    "description",
    "quantity",
    "unit_amount",
    "amount",
    "period_start",
    "period_end",
}
AMOUNT = re.compile(r"-?[0-9]+\.[0-9]{2}")
INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def write(folder: Path, name: str, content: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


def scenario_run(*args: str) -> Any:
    return runner.invoke(app, ["scenario", "run", *args])


# --- the contract's own example ------------------------------------------------------------------


def test_the_contract_example_passes_with_a_line_per_step_and_a_summary(tmp_path: Path) -> None:
    path = write(tmp_path, "example.yaml", CONTRACT_EXAMPLE)

    result = scenario_run(str(path))

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"✓ add a seat mid-cycle ({path})",
        "  ✓  1. 2026-04-01 00:00  subscribe  charged 99.00",
        "  ✓  2. 2026-04-16 00:00  add_seats  charged 49.50",
        "  ✓  3. 2026-04-16 00:00  invite → seat_limit_reached  charged 0.00",
        "  ✓  4. 2026-05-01 00:00  time passes  charged 198.00",
        "1 of 1 scenarios passed (4 steps)",
    ]


def test_the_contract_example_as_json_has_the_contract_shape(tmp_path: Path) -> None:
    path = write(tmp_path, "example.yaml", CONTRACT_EXAMPLE)

    result = scenario_run(str(path), "--json")

    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert set(document) == {"scenarios"}
    (scenario,) = document["scenarios"]
    assert scenario.keys() == {"file", "name", "ok", "steps"}
    assert (scenario["file"], scenario["name"], scenario["ok"]) == (
        str(path),
        "add a seat mid-cycle",
        True,
    )
    for step in scenario["steps"]:
        assert step.keys() == STEP_KEYS
        assert isinstance(step["index"], int) and isinstance(step["ok"], bool)
        assert INSTANT.fullmatch(step["at"])
        assert step["action"] is None or isinstance(step["action"], str)
        assert step["error"] is None or isinstance(step["error"], str)
        assert step["message"] is None or isinstance(step["message"], str)
        assert set(step["seats"]) == {"total", "used", "available"}
        assert all(isinstance(n, int) for n in step["seats"].values())
        for key in ("charged", "credited", "balance"):
            assert isinstance(step[key], str) and AMOUNT.fullmatch(step[key]), key
        assert step["failures"] == []
        for invoice in step["invoices"]:
            assert invoice.keys() == INVOICE_KEYS
            assert INSTANT.fullmatch(invoice["period_start"])
            assert INSTANT.fullmatch(invoice["period_end"])
            assert AMOUNT.fullmatch(invoice["total"]) and invoice["currency"] == "EUR"
            for line in invoice["lines"]:
                assert line.keys() == LINE_KEYS
                assert isinstance(line["quantity"], int)
                assert AMOUNT.fullmatch(line["unit_amount"]) and AMOUNT.fullmatch(line["amount"])
    # SCENARIOS.md's own JSON example is this file's step 2.
    add = scenario["steps"][1]
    assert {k: add[k] for k in STEP_KEYS - {"invoices", "message"}} == {
        "index": 2,
        "at": "2026-04-16T00:00:00Z",
        "action": "add_seats",
        "ok": True,
        "error": None,
        "seats": {"total": 3, "used": 1, "available": 2},
        "charged": "49.50",
        "credited": "0.00",
        "balance": "0.00",
        "failures": [],
    }
    (invoice,) = add["invoices"]
    assert (invoice["currency"], invoice["total"], invoice["kind"]) == ("EUR", "49.50", "invoice")
    (line,) = invoice["lines"]
    assert {k: line[k] for k in ("kind", "quantity", "unit_amount", "amount")} == {
        "kind": "proration_charge",
        "quantity": 1,
        "unit_amount": "99.00",
        "amount": "49.50",
    }
    assert (line["period_start"], line["period_end"]) == (
        "2026-04-16T00:00:00Z",
        "2026-05-01T00:00:00Z",
    )
    refused = scenario["steps"][2]
    assert (refused["error"], refused["invoices"]) == ("seat_limit_reached", [])
    assert refused["message"].startswith("No seats available.")


def test_free_allowance_seats_appear_in_json(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "plaky.yaml",
        "preset: plaky\nstart: 2026-04-01\nsteps:\n  - subscribe: {seats: 2}\n",
    )

    result = scenario_run(str(path), "--json")

    seats = json.loads(result.output)["scenarios"][0]["steps"][0]["seats"]
    assert seats == {"total": 2, "used": 1, "available": 1, "free_used": 0, "free_available": 10}


# --- exit 1: an expectation fails ------------------------------------------------------------------


def test_a_failed_expectation_exits_1_and_says_what_differed(tmp_path: Path) -> None:
    path = write(tmp_path, "failing.yaml", FAILING)

    result = scenario_run(str(path))

    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [
        f"✗ expects the wrong amount [on purpose] ({path})",
        "  ✗  1. 2026-04-01 00:00  subscribe  charged 20.00",
        "       charged: expected 19.99, got 20.00",
        "       invoice.lines: expected [base xNone 20.00], got [seats x2 20.00]",
        "  ✓  2. 2026-04-01 00:00  add_seats  charged 10.00",
        "0 of 1 scenarios passed, 1 of 2 steps failed",
    ]


def test_a_failed_expectation_in_json(tmp_path: Path) -> None:
    path = write(tmp_path, "failing.yaml", FAILING)

    result = scenario_run("--json", str(path))

    assert result.exit_code == 1
    (scenario,) = json.loads(result.output)["scenarios"]
    assert scenario["ok"] is False
    assert [s["ok"] for s in scenario["steps"]] == [False, True]
    assert scenario["steps"][0]["failures"] == [
        "charged: expected 19.99, got 20.00",
        "invoice.lines: expected [base xNone 20.00], got [seats x2 20.00]",
    ]


def test_a_refusal_the_file_did_not_expect_fails_the_step(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "refused.yaml",
        "preset: rallly-pro\nstart: 2026-04-01\nsteps:\n  - subscribe: {seats: 1}\n"
        "  - invite: {emails: [a@x.test], role: member}\n",
    )

    result = scenario_run(str(path))

    assert result.exit_code == 1
    assert (
        "       error: expected success, got seat_limit_reached (No seats available. You're "
        "using all 1 of your 1 seats. Upgrade your plan or remove a team member to free a seat.)"
        in result.output.splitlines()
    )


# --- exit 2: a file is invalid ---------------------------------------------------------------------


def test_an_invalid_file_exits_2_naming_the_file_the_step_and_the_field(tmp_path: Path) -> None:
    good = write(tmp_path, "a-good.yaml", CONTRACT_EXAMPLE)
    bad = write(tmp_path, "b-bad.yaml", INVALID)

    result = scenario_run(str(good), str(bad))

    assert result.exit_code == 2
    assert result.stdout == "", "no scenario runs when one file is invalid"
    assert result.stderr.splitlines() == [
        f"seatledger: {bad}: step 2: add_seats: must be a whole number >= 1, got 0"
    ]


@pytest.mark.parametrize(
    ("content", "where"),
    [
        pytest.param(
            "preset: nope\nstart: 2026-04-01\nsteps: [{at: 2026-05-01}]\n", "preset: ", id="preset"
        ),
        pytest.param(
            "preset: plaky\npolicy: {rounding: upward}\nstart: 2026-04-01\nsteps: [{at: 2026-05-01}]\n",
            "policy.rounding: ",
            id="policy",
        ),
        pytest.param("steps: [\n", "file: is not valid YAML or JSON at line 2", id="syntax"),
    ],
)
def test_a_file_level_problem_names_the_file_and_the_field(
    tmp_path: Path, content: str, where: str
) -> None:
    path = write(tmp_path, "s.yaml", content)

    result = scenario_run(str(path))

    assert result.exit_code == 2
    assert result.stderr.startswith(f"seatledger: {path}: {where}")


def test_a_missing_file_or_an_empty_folder_exits_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()

    missing = scenario_run(str(tmp_path / "missing.yaml"))
    empty = scenario_run(str(tmp_path / "empty"))

    assert missing.exit_code == 2
    assert missing.stderr.startswith(
        f"seatledger: {tmp_path / 'missing.yaml'}: file: cannot be read"
    )
    assert empty.exit_code == 2
    assert empty.stderr.strip() == f"seatledger: no scenario files found in {tmp_path / 'empty'}"


def test_an_unreachable_database_exits_2_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "example.yaml", CONTRACT_EXAMPLE)

    result = scenario_run(str(path), "--database", "postgresql+psycopg://u:secret@127.0.0.1:1/x")

    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("seatledger: cannot reach the database postgresql+psycopg://u:***@")
    assert "secret" not in result.stderr


# --- several files, folders, databases -------------------------------------------------------------


def test_several_files_and_a_folder_in_one_run(tmp_path: Path) -> None:
    single = write(tmp_path, "single.yaml", CONTRACT_EXAMPLE)
    write(tmp_path, "folder/one.yaml", CONTRACT_EXAMPLE.replace("add a seat mid-cycle", "one"))
    write(
        tmp_path,
        "folder/nested/two.json",
        json.dumps(
            {
                "name": "two",
                "preset": "plaky",
                "start": "2026-04-01",
                "steps": [{"subscribe": {"seats": 1}, "expect": {"charged": "10.00"}}],
            }
        ),
    )
    write(tmp_path, "folder/README.md", "not a scenario")

    result = scenario_run(str(single), str(tmp_path / "folder"))
    as_json = scenario_run("--json", str(single), str(tmp_path / "folder"))

    assert result.exit_code == 0, result.output
    headings = [line for line in result.output.splitlines() if not line.startswith(" ")]
    assert headings == [
        f"✓ add a seat mid-cycle ({single})",
        f"✓ two ({tmp_path / 'folder' / 'nested' / 'two.json'})",
        f"✓ one ({tmp_path / 'folder' / 'one.yaml'})",
        "3 of 3 scenarios passed (9 steps)",
    ]
    assert as_json.exit_code == 0
    assert [s["name"] for s in json.loads(as_json.output)["scenarios"]] == [
        "add a seat mid-cycle",
        "two",
        "one",
    ]


def test_one_failing_file_among_several_exits_1(tmp_path: Path) -> None:
    good = write(tmp_path, "good.yaml", CONTRACT_EXAMPLE)
    failing = write(tmp_path, "failing.yaml", FAILING)

    result = scenario_run(str(good), str(failing))

    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == "1 of 2 scenarios passed, 1 of 6 steps failed"


def test_database_runs_on_the_given_database(tmp_path: Path, database_url: str) -> None:
    path = write(tmp_path, "example.yaml", CONTRACT_EXAMPLE)

    first = scenario_run(str(path), "--database", database_url)
    second = scenario_run(str(path), "--json", "--database", database_url)

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            accounts = connection.execute(text("SELECT count(*) FROM accounts")).scalar_one()
    finally:
        engine.dispose()
    assert accounts == 2, "each run made its own account in the given database"


# --- the installed command -------------------------------------------------------------------------


def test_the_installed_command_exits_0_1_2(tmp_path: Path) -> None:
    """The ``seatledger`` entry point itself, one process per status, started together."""
    files = {
        0: write(tmp_path, "passing.yaml", CONTRACT_EXAMPLE),
        1: write(tmp_path, "failing.yaml", FAILING),
        2: write(tmp_path, "invalid.yaml", INVALID),
    }
    processes = {
        status: subprocess.Popen(
            [str(SEATLEDGER), "scenario", "run", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for status, path in files.items()
    }

    done = {status: (p, *p.communicate(timeout=120)) for status, p in processes.items()}

    for status, (process, stdout, stderr) in done.items():
        assert process.returncode == status, stdout + stderr
    assert done[0][1].splitlines()[-1] == "1 of 1 scenarios passed (4 steps)"
    assert done[1][1].splitlines()[-1] == "0 of 1 scenarios passed, 1 of 2 steps failed"
    assert done[2][1] == ""
    assert done[2][2].strip() == (
        f"seatledger: {files[2]}: step 2: add_seats: must be a whole number >= 1, got 0"
    )
