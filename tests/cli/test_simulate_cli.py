"""`seatledger simulate` through the real Typer app, on SQLite and PostgreSQL.

The history lies in the past and every window is given explicitly or ends where the record has
billed, so nothing depends on today's date. Rallly Pro (USD 10 a seat a month, day proration):
3 seats on 1 April, 5 from 16 April, renewed on 1 May; at USD 12 a seat the same history bills
36.00 + 12.00 + 60.00 instead of 30.00 + 10.00 + 50.00.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seatledger.bootstrap import bootstrap
from seatledger.cli import simulate as simulate_cli
from seatledger.cli.main import app
from seatledger.clock import ManualClock
from seatledger.policy_files import resolve_policy
from seatledger.service import accounts, billing, subscriptions

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    # The consoles are made when the CLI is imported, with whatever width the terminal had then
    # (another test may have imported it first): COLUMNS at invoke time is too late.
    monkeypatch.setattr(simulate_cli.out, "width", 200)
    monkeypatch.setattr(simulate_cli.err, "width", 200)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=WIDE)
    return result.exit_code, result.stdout, result.stderr


def rows(output: str) -> list[list[str]]:
    """The table rows of ``output`` as lists of their non-empty cells."""
    found = []
    for line in output.splitlines():
        if "│" in line:
            found.append([p.strip() for p in re.split(r"[│┃]", line) if p.strip()])
    return found


def rallly_account(url: str, name: str = "Rallly team") -> str:
    clock = ManualClock(utc("2026-04-01T00:00:00"))
    runtime = bootstrap(url, clock=clock)
    try:
        account_id = accounts.create_account(runtime, name=name)
        subscriptions.subscribe(
            runtime,
            account_id=account_id,
            policy=resolve_policy("rallly-pro"),
            preset="rallly-pro",
            workspaces=["team"],
            owner_email="owner@team.test",
            seats=3,
        )
        clock.move_to(utc("2026-04-16T00:00:00"))
        subscriptions.change_seat_count(
            runtime, account_id=account_id, workspace="team", actor="owner@team.test", seats=5
        )
        clock.move_to(utc("2026-05-02T00:00:00"))
        billing.bring_up_to_date(runtime, account_id=account_id)
    finally:
        runtime.dispose()
    return account_id


def empty_account(url: str) -> str:
    runtime = bootstrap(url, clock=ManualClock(utc("2026-04-01T00:00:00")))
    try:
        return accounts.create_account(runtime, name="nothing yet")
    finally:
        runtime.dispose()


@pytest.fixture
def price_file(tmp_path: Path) -> Path:
    path = tmp_path / "twelve.yaml"
    path.write_text('seat_price: "12.00"\n', encoding="utf-8")
    return path


def test_one_account_side_by_side_with_the_differences(database_url: str, price_file: Path) -> None:
    account_id = rallly_account(database_url)
    code, out, err = run(
        "simulate", "--account", account_id, "--policy", str(price_file), "--database", database_url
    )
    assert code == 0, err
    assert f"Account {account_id} (Rallly team): recorded vs twelve.yaml" in out
    table = rows(out)
    assert (table[0][:4]) == [
        "2026-04-01 00:00 UTC",
        "Invoice 000001 (subscribe)",
        "USD 30.00",
        "USD 36.00",
    ]
    assert table[0][4] == "+USD 6.00"
    assert table[1] == ["3 × Seat, 1 Apr – 1 May 2026", "USD 30.00", "USD 36.00", "+USD 6.00"]
    assert table[4][1:] == ["Invoice 000003 (renewal)", "USD 50.00", "USD 60.00", "+USD 10.00"]
    assert table[6] == ["Billed", "USD 90.00", "USD 108.00", "+USD 18.00"]
    assert "The account would pay more: +USD 18.00." in out


def test_json_has_every_invoice_line_and_amounts_as_strings(
    database_url: str, price_file: Path
) -> None:
    account_id = rallly_account(database_url)
    code, out, err = run(
        "simulate",
        "--account",
        account_id,
        "--policy",
        str(price_file),
        "--from",
        "2026-04-16",
        "--to",
        "2026-05-01T00:00:00Z",
        "--json",
        "--database",
        database_url,
    )
    assert code == 0, err
    body = json.loads(out)
    assert (body["from"], body["to"]) == ("2026-04-16T00:00:00Z", "2026-05-01T00:00:00Z")
    (proration,) = body["invoices"]
    assert (proration["reason"], proration["number"], proration["difference"]) == (
        "proration",
        "000002",
        "2.00",
    )
    (seat,) = proration["lines"]
    assert (seat["recorded"]["amount"], seat["simulated"]["amount"]) == ("10.00", "12.00")
    assert body["totals"] == {
        "recorded": "10.00",
        "simulated": "12.00",
        "difference": "2.00",
        "verdict": "pays_more",
    }


def test_a_preset_or_a_file_naming_a_preset_replaces_the_recorded_policy(
    database_url: str, tmp_path: Path
) -> None:
    account_id = rallly_account(database_url)
    code, out, _ = run(
        "simulate",
        "--account",
        account_id,
        "--policy",
        "upcoach",
        "--json",
        "--database",
        database_url,
    )
    assert code == 0
    by_preset = json.loads(out)["totals"]
    # upcoach: USD 100 base with 5 seats included: the subscription and the renewal bill the base.
    assert by_preset["simulated"] == "200.00"
    cheaper = tmp_path / "cheaper-upcoach.toml"
    cheaper.write_text('preset = "upcoach"\nbase_price = "80.00"\n', encoding="utf-8")
    code, out, _ = run(
        "simulate",
        "--account",
        account_id,
        "--policy",
        str(cheaper),
        "--json",
        "--database",
        database_url,
    )
    assert code == 0
    assert json.loads(out)["totals"]["simulated"] == "160.00"


def test_every_account_with_a_summary_and_the_refused_listed(
    database_url: str, price_file: Path
) -> None:
    first = rallly_account(database_url, "first")
    rallly_account(database_url, "second")
    empty = empty_account(database_url)
    code, out, err = run(
        "simulate", "--all", "--policy", str(price_file), "--database", database_url
    )
    assert code == 1
    table = rows(out)
    assert ["Accounts", "3"] in table
    assert ["Pay more", "2"] in table
    assert ["Pay less", "0"] in table
    assert ["Not simulated", "1"] in table
    assert ["USD", "USD 180.00", "USD 216.00", "+USD 36.00"] in table
    assert [first, "first", "USD 90.00", "USD 108.00", "+USD 18.00"] in table
    assert err.strip() == (
        f"seatledger: not simulated: {empty}: invalid_input: account: {empty} has no "
        "subscription to simulate"
    )
    code, out, _ = run(
        "simulate", "--all", "--policy", str(price_file), "--json", "--database", database_url
    )
    summary = json.loads(out)["summary"]
    assert summary["revenue"] == {
        "USD": {"recorded": "180.00", "simulated": "216.00", "change": "36.00"}
    }
    assert (summary["accounts"], summary["pays_more"], summary["refused"]) == (3, 2, 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policy", "nope"], "seatledger: --policy: must be a preset (plaky, "),
        (["--policy", "{missing}"], "seatledger: --policy: {missing}: cannot be read"),
        (["--policy", "{bad_key}"], "seatledger: --policy: seat_prize: is not a policy key"),
        (["--policy", "{bad_preset}"], "seatledger: --policy: No preset 'nope'."),
        (["--policy", "reviewer-pro"], "seatledger: --policy reviewer-pro: policy: bills in EUR"),
        (["--policy", "rallly-pro", "--from", "May"], "seatledger: --from: must be an ISO 8601"),
        (
            ["--policy", "rallly-pro", "--from", "2026-05-01", "--to", "2026-04-01"],
            "seatledger: --to: must be after --from (2026-05-01)",
        ),
        (["--policy", "rallly-pro", "--all"], "seatledger: --account / --all: give exactly one"),
        (["--policy", "rallly-pro", "--no-account"], "seatledger: --account / --all: give"),
        (["--policy", "rallly-pro", "--account=acc_nobody"], "seatledger: --account: no account"),
    ],
    ids=[
        "unknown-preset",
        "missing-file",
        "unknown-key",
        "unknown-preset-in-file",
        "another-currency",
        "bad-from",
        "to-before-from",
        "account-and-all",
        "neither",
        "unknown-account",
    ],
)
def test_bad_input_is_one_line_naming_the_option_and_exit_2(
    database_url: str, tmp_path: Path, args: list[str], message: str
) -> None:
    account_id = rallly_account(database_url)
    files = {"missing": tmp_path / "missing.yaml", "bad_key": tmp_path / "bad.yaml"}
    files["bad_key"].write_text('seat_prize: "1.00"\n', encoding="utf-8")
    files["bad_preset"] = tmp_path / "preset.yaml"
    files["bad_preset"].write_text("preset: nope\n", encoding="utf-8")
    filled = [a.format(**{k: str(v) for k, v in files.items()}) for a in args]
    if "--no-account" in filled:
        filled.remove("--no-account")
    elif not any(a.startswith("--account") for a in filled):
        filled += ["--account", account_id]
    code, out, err = run("simulate", *filled, "--database", database_url)
    assert code == 2, out + err
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(message.format(**{k: str(v) for k, v in files.items()}))
