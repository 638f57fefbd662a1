"""`seatledger member activity` through the real Typer app, on SQLite and PostgreSQL.

The subscription lives on a test clock, so the command acts at the clock's instant and nothing
depends on today's date: Voltasis Pro with ``inactive_after: P14D``, the owner and ana holding
seats since 2026-04-01, the clock at 2026-04-20 (both inactive since Apr 15).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seatledger.cli.main import app
from seatledger.policy_files import resolve_policy
from seatledger.service import accounts, billing, members, subscriptions, test_clocks

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from billing_builders import OWNER, WORKSPACE, at, runtime_at

runner = CliRunner()
WIDE = {"COLUMNS": "160"}
ANA = "ana@main.test"
FAIR = {
    "inactive_after": "P14D",
    "proration": {"on_increase": "charge_now", "on_decrease": "credit_now"},
}


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=WIDE)
    return result.exit_code, result.stdout, result.stderr


def clocked_account(database_url: str, overrides: dict[str, object] | None = None) -> str:
    with runtime_at(database_url, at("2026-04-01")) as (runtime, _):
        account_id = accounts.create_account(runtime, name="fair")
        clock_id = test_clocks.create_test_clock(
            runtime, account_id=account_id, at=at("2026-04-01")
        ).id
        subscriptions.subscribe(
            runtime,
            account_id=account_id,
            policy=resolve_policy("voltasis-pro", FAIR if overrides is None else overrides),
            preset="voltasis-pro",
            workspaces=[WORKSPACE],
            owner_email=OWNER,
            seats=1,
            test_clock_id=clock_id,
        )
        members.invite_members(
            runtime,
            account_id=account_id,
            workspace=WORKSPACE,
            actor=OWNER,
            emails=[ANA],
            role="employee",
        )
        test_clocks.advance_test_clock(
            runtime, account_id=account_id, clock_id=clock_id, to=at("2026-04-20")
        )
    return account_id


def test_a_report_bills_an_inactive_member_again_from_that_moment(database_url: str) -> None:
    account_id = clocked_account(database_url)
    common = ("--account", account_id, "--workspace", WORKSPACE, "--database", database_url)
    code, out, err = run("member", "activity", *common, "--email", "ANA@main.test")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == (
        "ana@main.test in main: last active 2026-04-20 00:00 UTC, "
        "billed again from 2026-04-20 00:00 UTC"
    )
    assert "│ 000005 │ 2026-04-20 00:00 UTC │ proration │ USD 0.00 │" in out
    with runtime_at(database_url, at("2026-04-20")) as (runtime, _):
        shown = billing.find_invoice(runtime, number=5, account_id=account_id).invoice
    # 1 seat x USD 10.00 x 11/30 days (Apr 20 - May 1) = 3.667 -> 3.67, paid from the credit
    # of both going inactive on Apr 15 (2 x 1 seat x 10.00 x 16/30 = 2 x 5.33).
    assert [(ln.kind.value, ln.amount.format()) for ln in shown.lines] == [
        ("proration_charge", "3.67"),
        ("credit_applied", "-3.67"),
    ]
    # An old report only moves the record: she is billed already.
    code, out, err = run(
        "member", "activity", *common, "--email", ANA, "--at", "2026-04-19T08:00:00Z"
    )
    assert (code, err) == (0, "")
    assert out == "ana@main.test in main: last active 2026-04-20 00:00 UTC, billed\n"


def test_the_owner_still_inactive_when_an_old_activity_is_reported(database_url: str) -> None:
    account_id = clocked_account(database_url)
    code, out, _ = run(
        "member", "activity", "--account", account_id, "--workspace", WORKSPACE,
        "--email", OWNER, "--at", "2026-04-02", "--database", database_url,
    )  # fmt: skip
    assert code == 0
    assert (
        out
        == "owner@main.test in main: last active 2026-04-02 00:00 UTC, still inactive (not billed)\n"
    )


def test_without_inactive_after_the_report_is_not_tracked(database_url: str) -> None:
    account_id = clocked_account(database_url, overrides={})
    code, out, _ = run(
        "member", "activity", "--account", account_id, "--workspace", WORKSPACE,
        "--email", ANA, "--database", database_url,
    )  # fmt: skip
    assert code == 0
    assert out.startswith("ana@main.test in main: not tracked")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--email", "ghost@main.test"), "seatledger: not_found: "),
        (("--email", OWNER, "--as", ANA), "seatledger: not_permitted: "),
        (
            ("--email", ANA, "--at", "2026-04-21"),
            "seatledger: invalid_input: at: must not be later",
        ),
        (("--email", ANA, "--at", "soon"), "seatledger: --at: must be an ISO 8601 instant"),
    ],
    ids=["not-a-member", "someone-else", "future", "bad-instant"],
)
def test_refusals_are_one_line_and_exit_2(
    database_url: str, extra: tuple[str, ...], message: str
) -> None:
    account_id = clocked_account(database_url)
    code, out, err = run(
        "member", "activity", "--account", account_id, "--workspace", WORKSPACE,
        "--database", database_url, *extra,
    )  # fmt: skip
    assert code == 2
    assert out == ""
    assert err.startswith(message), err
    assert err.count("\n") == 1
