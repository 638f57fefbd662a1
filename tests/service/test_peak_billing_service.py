"""Peak and true-up billing through the use cases and the billing run, month by month to the cent,
on SQLite and PostgreSQL.

Every step opens the store afresh (a new runtime), so the peak a renewal or a reconciliation bills
is the one kept in ``subscriptions.seats_peak``, not one a process remembered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from billing_builders import OWNER, WORKSPACE, at, line_row, runtime_at, stored_invoices

from seatledger.bootstrap import Runtime
from seatledger.domain.simulation import Verdict
from seatledger.policy_files import resolve_policy
from seatledger.scenarios.format import load_scenario
from seatledger.scenarios.runner import run_scenario
from seatledger.service import accounts, members, subscriptions, test_clocks
from seatledger.service.billing_run import count_due, run_billing
from seatledger.service.ports import Subscription
from seatledger.service.simulation import PolicyChange, account_ids, simulate_account

FAIR_SCENARIOS = Path(__file__).parent.parent / "scenarios" / "fair"
PEAK_FILES = sorted([*FAIR_SCENARIOS.glob("peak-*.yaml"), *FAIR_SCENARIOS.glob("true-up-*.yaml")])


def _subscribe(url: str, when: str, preset: str, seats: int, **overrides: Any) -> str:
    with runtime_at(url, at(when)) as (runtime, _):
        account_id = accounts.create_account(runtime, name=f"{preset} peak customer")
        subscriptions.subscribe(
            runtime,
            account_id=account_id,
            policy=resolve_policy(preset, overrides),
            preset=preset,
            workspaces=[WORKSPACE],
            owner_email=OWNER,
            seats=seats,
        )
    return account_id


def _invite(url: str, when: str, account_id: str, *emails: str, role: str) -> None:
    with runtime_at(url, at(when)) as (runtime, _):
        members.invite_members(
            runtime,
            account_id=account_id,
            workspace=WORKSPACE,
            actor=OWNER,
            emails=list(emails),
            role=role,
        )


def _delete(url: str, when: str, account_id: str, email: str) -> None:
    with runtime_at(url, at(when)) as (runtime, _):
        members.delete_member(
            runtime, account_id=account_id, workspace=WORKSPACE, actor=OWNER, email=email
        )


def _set_seats(url: str, when: str, account_id: str, seats: int) -> None:
    with runtime_at(url, at(when)) as (runtime, _):
        subscriptions.change_seat_count(
            runtime, account_id=account_id, workspace=WORKSPACE, actor=OWNER, seats=seats
        )


def _run(url: str, when: str) -> int:
    """Run the billing run at ``when``; the subscriptions billed."""
    with runtime_at(url, at(when)) as (runtime, _):
        summary = run_billing(runtime)
        assert summary.failures == ()
        assert count_due(runtime) == 0
        return summary.subscriptions_billed


def _stored(url: str, account_id: str) -> Subscription:
    with runtime_at(url, at("2026-01-01")) as (runtime, _), runtime.uow() as uow:
        (sub,) = uow.subscriptions.for_account(account_id)
        return sub


def _invoices(runtime: Runtime, account_id: str) -> list[tuple[str, str, list[Any]]]:
    return [
        (i.reason, i.total.format(), [line_row(line) for line in i.lines])
        for i in stored_invoices(runtime, account_id)
    ]


def _all_invoices(url: str, account_id: str) -> list[tuple[str, str, list[Any]]]:
    with runtime_at(url, at("2026-01-01")) as (runtime, _):
        return _invoices(runtime, account_id)


def test_peak_billing_bills_each_month_for_its_peak_in_arrears(database_url: str) -> None:
    """rallly-pro (USD 10 a seat a month) on billing_basis peak, manual seat mode: April peaks at
    4 seats for five days, May at 3, and each is billed whole at the month's end by the run."""
    url = database_url
    account_id = _subscribe(url, "2026-04-01", "rallly-pro", 2, billing_basis="peak")
    assert (_stored(url, account_id).seats_peak, _stored(url, account_id).seats_paid) == (1, 0)
    _invite(url, "2026-04-03", account_id, "ana@x.test", role="member")
    _set_seats(url, "2026-04-10", account_id, 4)
    _invite(url, "2026-04-10", account_id, "bob@x.test", "cy@x.test", role="member")
    _delete(url, "2026-04-15", account_id, "cy@x.test")
    _set_seats(url, "2026-04-15", account_id, 3)
    stored = _stored(url, account_id)
    assert (stored.seats_peak, stored.peak_since) == (4, at("2026-04-01"))
    assert stored.seats_total == 3
    # Nothing billed within the month: no base fee, seat changes are free.
    assert _all_invoices(url, account_id) == []

    assert _run(url, "2026-05-01") == 1
    renewed = _stored(url, account_id)
    assert (renewed.seats_peak, renewed.peak_since, renewed.seats_total) == (
        3,
        at("2026-05-01"),
        3,
    )
    _delete(url, "2026-05-20", account_id, "bob@x.test")
    assert _run(url, "2026-06-01") == 1

    assert _all_invoices(url, account_id) == [
        ("renewal", "40.00", [("seats", 4, "10.00", "40.00", "2026-04-01", "2026-05-01")]),
        ("renewal", "30.00", [("seats", 3, "10.00", "30.00", "2026-05-01", "2026-06-01")]),
    ]
    assert _run(url, "2026-06-01") == 0


def test_a_billing_run_over_peak_and_purchased_subscriptions_bills_each_on_its_basis(
    database_url: str,
) -> None:
    """The run leaves the peak subscription to the one-at-a-time path and renews the purchased
    one set-based; both are billed once, each as its basis says."""
    url = database_url
    peak = _subscribe(url, "2026-04-01", "rallly-pro", 3, billing_basis="peak")
    bought = _subscribe(url, "2026-04-01", "rallly-pro", 3)
    _invite(url, "2026-04-02", peak, "ana@x.test", role="member")

    assert _run(url, "2026-05-01") == 2

    assert _all_invoices(url, peak) == [
        ("renewal", "20.00", [("seats", 2, "10.00", "20.00", "2026-04-01", "2026-05-01")]),
    ]
    assert [(reason, total) for reason, total, _ in _all_invoices(url, bought)] == [
        ("subscribe", "30.00"),
        ("renewal", "30.00"),
    ]
    assert _stored(url, bought).seats_peak is None


def test_true_up_reconciles_each_quarter_through_the_billing_run(database_url: str) -> None:
    """voltasis-pro-annual (USD 120 a seat a year, by month, automatic) on true_up every 3
    months: the run claims each reconciliation instant (the row's in-period due instant) and
    invoices the quarter's peak above the commitment once, for the months left."""
    url = database_url
    account_id = _subscribe(
        url, "2026-01-01", "voltasis-pro-annual", 1, billing_basis="true_up", true_up_months=3
    )
    _invite(url, "2026-02-10", account_id, "a@x.test", "b@x.test", role="employee")
    stored = _stored(url, account_id)
    assert (stored.seats_total, stored.seats_paid, stored.seats_peak) == (3, 1, 3)
    assert stored.month_end_at == at("2026-04-01")

    assert _run(url, "2026-03-31") == 0
    assert _run(url, "2026-04-01") == 1
    reconciled = _stored(url, account_id)
    assert (reconciled.seats_paid, reconciled.seats_peak, reconciled.peak_since) == (
        3,
        3,
        at("2026-04-01"),
    )
    assert reconciled.month_end_at == at("2026-07-01")
    _invite(url, "2026-08-05", account_id, "c@x.test", role="employee")
    _delete(url, "2026-08-06", account_id, "c@x.test")
    # July 1 (nothing above the 3 committed) and October 1 (a peak of 4) are both due.
    assert _run(url, "2026-10-01") == 1
    assert _run(url, "2027-01-01") == 1

    assert _all_invoices(url, account_id) == [
        ("subscribe", "120.00", [("seats", 1, "120.00", "120.00", "2026-01-01", "2027-01-01")]),
        # 2 x 120.00 x 9/12 months left
        (
            "proration",
            "180.00",
            [("proration_charge", 2, "120.00", "180.00", "2026-04-01", "2027-01-01")],
        ),
        # 1 x 120.00 x 3/12 months left
        (
            "proration",
            "30.00",
            [("proration_charge", 1, "120.00", "30.00", "2026-10-01", "2027-01-01")],
        ),
        # c@x.test's day in August made the third quarter's peak: billed once, at October 1.
        # The seat count fell back to 3 before it was paid for, so nothing is credited; the
        # renewal commits the 3 seats in use (the last quarter's peak).
        ("renewal", "360.00", [("seats", 3, "120.00", "360.00", "2027-01-01", "2028-01-01")]),
    ]


def test_a_test_clock_reaches_each_true_up_reconciliation_in_time_order(database_url: str) -> None:
    """Advancing a test clock over a year runs the three quarterly reconciliations and the
    renewal at their own instants, in order, and the billing run leaves the subscription alone."""
    with runtime_at(database_url, at("2026-01-01")) as (runtime, wall):
        account_id = accounts.create_account(runtime, name="clocked true-up")
        clock = test_clocks.create_test_clock(runtime, account_id=account_id, at=at("2026-01-01"))
        subscriptions.subscribe(
            runtime,
            account_id=account_id,
            policy=resolve_policy("voltasis-pro-annual", {"billing_basis": "true_up"}),
            preset="voltasis-pro-annual",
            workspaces=[WORKSPACE],
            owner_email=OWNER,
            seats=1,
            test_clock_id=clock.id,
        )
        test_clocks.advance_test_clock(
            runtime, account_id=account_id, clock_id=clock.id, to=at("2026-05-15")
        )
        members.invite_members(
            runtime,
            account_id=account_id,
            workspace=WORKSPACE,
            actor=OWNER,
            emails=["a@x.test"],
            role="employee",
        )
        wall.move_to(at("2027-06-01"))
        assert run_billing(runtime).subscriptions_billed == 0

        moved = test_clocks.advance_test_clock(
            runtime, account_id=account_id, clock_id=clock.id, to=at("2027-01-01")
        )

    assert [(i.reason.value, i.issued_at, i.total.format()) for i in moved.invoices] == [
        ("proration", at("2026-07-01"), "60.00"),  # 1 x 120.00 x 6/12 months left
        ("renewal", at("2027-01-01"), "240.00"),  # 2 x 120.00, the last quarter's peak
    ]


@pytest.mark.parametrize("path", PEAK_FILES, ids=[p.name for p in PEAK_FILES])
def test_a_peak_or_true_up_history_replayed_under_its_own_policy_is_reproduced(
    path: Path, database_url: str
) -> None:
    """The simulation prices through the same engine: the peak and true-up scenario files,
    replayed from their ledger under the policy they ran under, give every invoice again."""
    scenario = load_scenario(path)
    assert run_scenario(scenario, database_url).ok
    last = max([scenario.start, *(s.at for s in scenario.steps if s.at is not None)])
    with runtime_at(database_url, last) as (runtime, _):
        (account_id,) = account_ids(runtime)
        result = simulate_account(runtime, account_id=account_id, change=PolicyChange())

    assert result.invoices
    for pair in result.invoices:
        assert pair.recorded is not None and pair.simulated is not None
        assert [line.recorded for line in pair.lines] == [line.simulated for line in pair.lines]
    assert result.totals.verdict is Verdict.PAYS_SAME
    assert result.simulated_balance == result.recorded_balance
