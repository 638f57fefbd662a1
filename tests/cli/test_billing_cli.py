"""`seatledger billing run`, `invoice show` and `clock ...` through the real Typer app, on SQLite
and PostgreSQL. Every instant is given explicitly (and lies in the past), so nothing depends on
today's date."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

from seatledger.cli.main import app
from seatledger.service import subscriptions
from seatledger.store.tables import addons

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from billing_builders import at, runtime_at, seed_due, subscribe

runner = CliRunner()
WIDE = {"COLUMNS": "160"}


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=WIDE)
    return result.exit_code, result.stdout, result.stderr


def cells(output: str) -> dict[str, str]:
    """The summary table as {label: value}."""
    found = {}
    for line in output.splitlines():
        parts = [p.strip() for p in re.split(r"[│|]", line) if p.strip()]
        if len(parts) == 2:
            found[parts[0]] = parts[1]
    return found


def test_billing_run_bills_what_is_due_and_prints_a_summary(database_url: str) -> None:
    seed_due(database_url, accounts_count=2, per_account=2, anchor=at("2025-01-01"))
    with runtime_at(database_url, at("2025-01-01")) as (runtime, _):
        subscribe(runtime, "reviewer-pro", 3)
    code, out, err = run("billing", "run", "--until", "2025-03-15", "--database", database_url)
    assert code == 0, err
    assert "Billing run up to 2025-03-15 00:00 UTC" in out
    # 4 Rallly subscriptions x 2 renewals x USD 20; the reviewer one x 2 x EUR 198.
    assert cells(out) == {
        "Subscriptions billed": "5",
        "Invoices issued": "10",
        "Total EUR": "EUR 396.00",
        "Total USD": "USD 160.00",
    }
    assert err == ""
    code, out, _ = run(
        "billing", "run", "--until", "2025-03-15T00:00:00Z", "--database", database_url
    )
    assert code == 0
    assert cells(out) == {"Subscriptions billed": "0", "Invoices issued": "0"}


@pytest.mark.parametrize(
    ("until", "message"),
    [
        ("yesterday", "seatledger: --until: must be an ISO 8601 instant"),
        ("2025-02-30", "seatledger: --until: must be an ISO 8601 instant"),
        ("2999-01-01", "seatledger: invalid_input: until: must not be in the future"),
    ],
    ids=["words", "no-such-day", "future"],
)
def test_a_bad_until_is_one_line_and_exit_2(database_url: str, until: str, message: str) -> None:
    code, out, err = run("billing", "run", "--until", until, "--database", database_url)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(message)


def test_an_unmigrated_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    code, _, err = run("billing", "run", "--until", "2025-01-01", "--database", url)
    assert code == 2
    assert err.strip() == (
        f"seatledger: The database at {url} is not migrated: run `seatledger migrate "
        f"--database {url}`"
    )


def test_subscriptions_that_cannot_be_billed_are_listed_and_exit_1(database_url: str) -> None:
    seeded = seed_due(database_url, accounts_count=1, per_account=2, anchor=at("2025-01-01"))
    account_id, broken = seeded.subscriptions[0]
    with runtime_at(database_url, at("2025-01-01")) as (runtime, _):
        assert runtime.engine is not None
        with runtime.engine.begin() as conn:
            conn.execute(
                insert(addons).values(
                    account_id=account_id,
                    subscription_id=broken,
                    name="retired_pack",
                    count=1,
                    updated_at=at("2025-01-01"),
                )
            )
    code, out, err = run("billing", "run", "--until", "2025-02-15", "--database", database_url)
    assert code == 1
    assert cells(out)["Subscriptions billed"] == "1"
    assert cells(out)["Not billed"] == "1"
    assert err.startswith(f"seatledger: not billed: {account_id}/{broken}: invalid_input: ")


def test_workers_share_the_run(database_url: str) -> None:
    seed_due(database_url, accounts_count=4, per_account=3, anchor=at("2025-01-01"))
    code, out, err = run(
        "billing",
        "run",
        "--until",
        "2025-02-15",
        "--workers",
        "2",
        "--batch-size",
        "2",
        "--database",
        database_url,
    )
    assert code == 0, err
    assert cells(out) == {
        "Subscriptions billed": "12",
        "Invoices issued": "12",
        "Total USD": "USD 240.00",
    }


def test_invoice_show_prints_the_lines_and_can_write_html(
    database_url: str, tmp_path: Path
) -> None:
    with runtime_at(database_url, at("2025-04-01")) as (runtime, clock):
        account_id, _ = subscribe(runtime, "reviewer-pro", 3)
        clock.move_to(at("2025-04-16"))
        subscriptions.change_seat_count(
            runtime, account_id=account_id, workspace="main", actor="owner@main.test", seats=4
        )
        other, _ = subscribe(runtime, "plaky", 2)
    page = tmp_path / "invoice.html"
    code, out, err = run(
        "invoice",
        "show",
        "000002",
        "--account",
        account_id,
        "--database",
        database_url,
        "--html",
        str(page),
    )
    assert code == 0, err
    assert "Invoice 000002" in out
    # The description may wrap in a narrow terminal; the other cells of its row may not.
    assert "1 × Seat, 16 Apr" in out
    assert re.search(r"│ 16 Apr – 1 May 2025 │\s+1 │\s+EUR 99\.00 │\s+EUR 49\.50 │", out)
    assert re.search(r"Total\s+EUR 49\.50", out)
    assert "EUR 49.50" in page.read_text(encoding="utf-8")
    code, out, _ = run("invoice", "show", "2", "--database", database_url)
    assert code == 0 and "Invoice 000002" in out
    code, _, err = run("invoice", "show", "1", "--database", database_url)
    assert code == 2
    assert err.startswith("seatledger: invalid_input: account: must be given")
    assert account_id in err and other in err
    code, _, err = run("invoice", "show", "7", "--account", other, "--database", database_url)
    assert (code, err.strip()) == (
        2,
        f"seatledger: not_found: No invoice '000007 of account {other}'.",
    )
    code, _, err = run("invoice", "show", "seven", "--database", database_url)
    assert code == 2 and err.startswith("seatledger: invalid_input: number:")


def test_clock_create_attach_and_advance(database_url: str) -> None:
    with runtime_at(database_url, at("2025-01-10")) as (runtime, _):
        account_id, _ = subscribe(runtime, "rallly-pro", 2)
    code, out, err = run(
        "clock",
        "create",
        "--account",
        account_id,
        "--at",
        "2025-01-10T00:00:00Z",
        "--name",
        "trial",
        "--database",
        database_url,
    )
    assert code == 0, err
    clock_id = out.split()[0]
    assert clock_id.startswith("clk_") and "trial  at 2025-01-10 00:00 UTC" in out
    code, out, err = run(
        "clock", "attach", clock_id, "--account", account_id, "--database", database_url
    )
    assert (code, out.strip()) == (0, f"Attached to {clock_id}"), err
    code, out, err = run(
        "clock",
        "advance",
        clock_id,
        "--account",
        account_id,
        "--to",
        "2025-03-15",
        "--database",
        database_url,
    )
    assert code == 0, err
    assert f"{clock_id} now at 2025-03-15 00:00 UTC" in out
    assert "2 invoices issued" in out
    assert re.search(r"000002\s*│\s*2025-02-10 00:00 UTC\s*│\s*renewal\s*│\s*USD 20\.00", out)
    assert re.search(r"000003\s*│\s*2025-03-10 00:00 UTC\s*│\s*renewal\s*│\s*USD 20\.00", out)
    code, _, err = run(
        "clock",
        "advance",
        clock_id,
        "--account",
        account_id,
        "--to",
        "2025-03-01",
        "--database",
        database_url,
    )
    assert code == 2
    assert err.startswith("seatledger: invalid_input: to: a test clock never moves backwards")
    code, _, err = run(
        "clock",
        "advance",
        "clk_nope",
        "--account",
        account_id,
        "--to",
        "2025-04-01",
        "--database",
        database_url,
    )
    assert (code, err.strip()) == (2, "seatledger: not_found: No test clock 'clk_nope'.")
