"""`seatledger invoice explain` through the real Typer app, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seatledger.cli.billing import out as console
from seatledger.cli.main import app
from seatledger.service import members

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from billing_builders import at, runtime_at, subscribe

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=WIDE)
    return result.exit_code, result.stdout, result.stderr


def test_invoice_explain_names_the_people_behind_each_line(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The console is made when the CLI is imported, with whatever width the terminal had then.
    monkeypatch.setattr(console, "width", 200)
    with runtime_at(database_url, at("2025-04-01")) as (runtime, clock):
        account_id, _ = subscribe(runtime, "rallly-pro", 3)
        clock.move_to(at("2025-04-03"))
        members.invite_members(
            runtime,
            account_id=account_id,
            workspace="main",
            actor="owner@main.test",
            emails=["ana@x.test"],
            role="member",
        )
    code, out, err = run(
        "invoice", "explain", "1", "--account", account_id, "--database", database_url
    )
    assert code == 0, err
    assert "Explanation of Invoice 000001" in out
    # The opening line: 3 seats bought on 1 Apr, the owner holds one, two were unassigned then
    # (ana came on 3 Apr, after the line's start).
    assert re.search(r"│\s+1 │ 3 × Seat, 1 Apr – 1 May 2025\s+│\s+│\s+3 │\s+USD 30\.00 │", out)
    assert re.search(
        r"│\s+│\s+owner@main\.test\s+│ owner in main, since 1 Apr 2025 \(subscribe\)\s+│\s+1 │"
        r"\s+USD 10\.00 │",
        out,
    )
    assert len(re.findall(r"unassigned purchased seat\s+│\s+│\s+1 │\s+USD 10\.00 │", out)) == 2
    assert err == ""


def test_invoice_explain_refuses_bad_input_in_one_line(database_url: str) -> None:
    with runtime_at(database_url, at("2025-04-01")) as (runtime, _):
        account_id, _ = subscribe(runtime, "rallly-pro", 1)
    code, _, err = run(
        "invoice", "explain", "9", "--account", account_id, "--database", database_url
    )
    assert (code, err.strip()) == (
        2,
        f"seatledger: not_found: No invoice '000009 of account {account_id}'.",
    )
    code, _, err = run("invoice", "explain", "nine", "--database", database_url)
    assert code == 2 and err.startswith("seatledger: invalid_input: number:")
    assert len(err.strip().splitlines()) == 1
