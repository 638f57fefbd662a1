"""Test clocks: an account's subscriptions live at the clock's time, and moving the clock runs the
renewals and role expiries due on the way, in time order (on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from billing_builders import OWNER, at, runtime_at, stored_invoices, subscribe

from seatledger.domain.errors import InvalidInput, NotFound
from seatledger.policy_files import resolve_policy
from seatledger.service import accounts, members, subscriptions, test_clocks
from seatledger.service.billing_run import run_billing

WALL = at("2026-11-01")


def test_a_clock_moves_forward_only_and_keeps_its_time(database_url: str) -> None:
    with runtime_at(database_url, WALL) as (runtime, _):
        account_id = accounts.create_account(runtime, name="clocked")
        clock = test_clocks.create_test_clock(
            runtime, account_id=account_id, at=at("2026-01-01"), name=" trial "
        )
        assert (clock.name, clock.now_at, clock.created_at) == ("trial", at("2026-01-01"), WALL)
        moved = test_clocks.advance_test_clock(
            runtime, account_id=account_id, clock_id=clock.id, to=at("2026-02-01")
        )
        assert moved.clock.now_at == at("2026-02-01")
        assert moved.invoices == ()
        same = test_clocks.advance_test_clock(
            runtime, account_id=account_id, clock_id=clock.id, to=at("2026-02-01")
        )
        assert same.clock.now_at == at("2026-02-01")
        with pytest.raises(InvalidInput) as back:
            test_clocks.advance_test_clock(
                runtime, account_id=account_id, clock_id=clock.id, to=at("2026-01-31")
            )
        assert back.value.field == "to"
        stored = test_clocks.get_test_clock(runtime, account_id=account_id, clock_id=clock.id)
        assert stored.now_at == at("2026-02-01")
        other = accounts.create_account(runtime, name="other")
        with pytest.raises(NotFound):
            test_clocks.get_test_clock(runtime, account_id=other, clock_id=clock.id)
        with pytest.raises(NotFound):
            test_clocks.create_test_clock(runtime, account_id="acc_missing", at=WALL)


def test_use_cases_on_a_clocked_subscription_act_at_the_clock_time(database_url: str) -> None:
    with runtime_at(database_url, WALL) as (runtime, _):
        account_id = accounts.create_account(runtime, name="clocked")
        clock_id = test_clocks.create_test_clock(
            runtime, account_id=account_id, at=at("2026-04-01")
        ).id
        _, opened = subscribe(
            runtime, "reviewer-pro", 2, account_id=account_id, test_clock_id=clock_id
        )
        assert opened.invoices[0].issued_at == at("2026-04-01")
        test_clocks.advance_test_clock(
            runtime, account_id=account_id, clock_id=clock_id, to=at("2026-04-16")
        )
        # 1 extra seat x EUR 99 x 15/30 at the clock's Apr 16, not at the wall's November.
        added = subscriptions.change_seat_count(
            runtime, account_id=account_id, workspace="main", actor=OWNER, seats=3
        )
        assert [(i.issued_at, i.total.format()) for i in added.invoices] == [
            (at("2026-04-16"), "49.50")
        ]
        usage = subscriptions.seat_usage_of(runtime, account_id=account_id, workspace="main")
        assert (usage.total, usage.used) == (3, 1)


def test_advancing_runs_expiries_and_renewals_in_time_order(database_url: str) -> None:
    policy = resolve_policy("voltasis-pro", {"expiring_roles": {"contractor": "P45D"}})
    with runtime_at(database_url, WALL) as (runtime, _):
        account_id = accounts.create_account(runtime, name="clocked")
        clock_id = test_clocks.create_test_clock(
            runtime, account_id=account_id, at=at("2026-03-01")
        ).id
        subscriptions.subscribe(
            runtime,
            account_id=account_id,
            policy=policy,
            preset=None,
            workspaces=["main"],
            owner_email=OWNER,
            seats=1,
            test_clock_id=clock_id,
        )
        members.invite_members(
            runtime,
            account_id=account_id,
            workspace="main",
            actor=OWNER,
            emails=["c@main.test"],
            role="contractor",
        )
        moved = test_clocks.advance_test_clock(
            runtime, account_id=account_id, clock_id=clock_id, to=at("2026-06-01")
        )
        with runtime.uow() as uow:
            sub_id = uow.subscriptions.for_account(account_id)[0].id
            ledger = [(e.kind, e.at) for e in uow.ledger.entries(account_id, sub_id)]
    # The contractor's role ends Apr 15 (Mar 1 + 45 days), between the Apr 1 and May 1 renewals.
    assert [kind_at for kind_at in ledger if kind_at[0] in ("renewed", "roles_expired")] == [
        ("renewed", at("2026-04-01")),
        ("roles_expired", at("2026-04-15")),
        ("renewed", at("2026-05-01")),
        ("renewed", at("2026-06-01")),
    ]
    renewals = [(i.period.start, i.total.format()) for i in moved.invoices]
    assert renewals == [
        (at("2026-04-01"), "30.00"),  # the contractor's March (10.00) + 2 seats for April
        (at("2026-05-01"), "4.67"),  # 1 seat (10.00) - unused Apr 15 - May 1: 10 x 16/30 = 5.33
        (at("2026-06-01"), "10.00"),
    ]


def test_a_clock_bills_an_account_s_subscriptions_in_time_order_across_them(
    database_url: str,
) -> None:
    """Regression guard: renewals of two subscriptions sharing one credit balance must spend it
    in the order they fall due, and get their numbers in that order."""
    with runtime_at(database_url, WALL) as (runtime, _):
        account_id = accounts.create_account(runtime, name="two plans")
        clock_id = test_clocks.create_test_clock(
            runtime, account_id=account_id, at=at("2026-01-10")
        ).id
        subscribe(runtime, "rallly-pro", 3, account_id=account_id, test_clock_id=clock_id)
        test_clocks.advance_test_clock(
            runtime, account_id=account_id, clock_id=clock_id, to=at("2026-01-20")
        )
        subscribe(
            runtime,
            "rallly-pro",
            1,
            account_id=account_id,
            test_clock_id=clock_id,
            workspace="side",
        )
        # Back to 1 seat on the first plan: 2 x 10 x 21/31 = 13.548 -> 13.55 of credit.
        subscriptions.change_seat_count(
            runtime, account_id=account_id, workspace="main", actor=OWNER, seats=1
        )
        moved = test_clocks.advance_test_clock(
            runtime, account_id=account_id, clock_id=clock_id, to=at("2026-03-25")
        )
        balance = accounts.credit_balance(runtime, account_id=account_id, currency="USD")
    issued = [(i.number, i.issued_at, i.total.format()) for i in moved.invoices]
    assert issued == [
        ("000004", at("2026-02-10"), "0.00"),  # 10.00 paid from the 13.55 of credit
        ("000005", at("2026-02-20"), "6.45"),  # 10.00 - the 3.55 left
        ("000006", at("2026-03-10"), "10.00"),
        ("000007", at("2026-03-20"), "10.00"),
    ]
    assert balance.format() == "0.00"


def test_attaching_later_brings_the_subscription_to_the_clock_time(database_url: str) -> None:
    with runtime_at(database_url, at("2026-01-05")) as (runtime, clock):
        account_id, _ = subscribe(runtime, "rallly-pro", 1)
        clock.move_to(at("2026-01-20"))
        behind = test_clocks.create_test_clock(runtime, account_id=account_id, at=at("2026-01-04"))
        with pytest.raises(InvalidInput) as refused:
            test_clocks.attach_test_clock(runtime, account_id=account_id, clock_id=behind.id)
        assert refused.value.field == "test_clock"
        ahead = test_clocks.create_test_clock(runtime, account_id=account_id, at=at("2026-03-06"))
        issued = test_clocks.attach_test_clock(runtime, account_id=account_id, clock_id=ahead.id)
        assert [i.period.start for i in issued] == [at("2026-02-05"), at("2026-03-05")]
        # Attaching again changes nothing; moving to another clock is refused.
        assert (
            test_clocks.attach_test_clock(runtime, account_id=account_id, clock_id=ahead.id) == ()
        )
        other = test_clocks.create_test_clock(runtime, account_id=account_id, at=at("2026-04-01"))
        with pytest.raises(InvalidInput):
            test_clocks.attach_test_clock(runtime, account_id=account_id, clock_id=other.id)
        # The wall clock's billing run leaves it to its clock from now on.
        clock.move_to(at("2026-11-01"))
        assert run_billing(runtime).subscriptions_billed == 0
        assert len(stored_invoices(runtime, account_id)) == 3
