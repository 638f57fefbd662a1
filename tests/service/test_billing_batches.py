"""The billing run's set-based path writes exactly what the one-at-a-time path writes.

Pairs of accounts live through the same history (credits from a decrease, pending lines of an
automatic-mode policy, an add-on, a cancellation at period end, a renewal paid by credit); the run
then bills one of each pair set-based and the other through the gateway, and every row the
renewals wrote (invoices and lines, the subscription, the ledger, the audit log, the outbox, the
credit entries, the billed pending lines) must be the same, ids aside. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from billing_builders import OWNER, WORKSPACE, at, invoice_row, runtime_at, subscribe
from sqlalchemy import select

from seatledger.bootstrap import Runtime
from seatledger.policy_files import resolve_policy
from seatledger.service import accounts, activity, members, renewals, subscriptions, test_clocks
from seatledger.service.billing_run import run_billing
from seatledger.store.tables import pending_lines

Step = Callable[[Runtime, str], None]


def decrease_to_one(runtime: Runtime, account_id: str) -> None:
    subscriptions.change_seat_count(
        runtime, account_id=account_id, workspace=WORKSPACE, actor=OWNER, seats=1
    )


def join(email: str) -> Step:
    def step(runtime: Runtime, account_id: str) -> None:
        members.invite_members(
            runtime,
            account_id=account_id,
            workspace=WORKSPACE,
            actor=OWNER,
            emails=[email],
            role="employee",
        )
        members.accept_invite(runtime, account_id=account_id, workspace=WORKSPACE, email=email)

    return step


def two_addons(runtime: Runtime, account_id: str) -> None:
    subscriptions.set_addon(
        runtime,
        account_id=account_id,
        workspace=WORKSPACE,
        actor=OWNER,
        name="additional_admin_seat",
        count=2,
    )


def cancel_at_period_end(runtime: Runtime, account_id: str) -> None:
    subscriptions.cancel_subscription(
        runtime, account_id=account_id, workspace=WORKSPACE, actor=OWNER, at_period_end=True
    )


# preset, seats, and the steps of the history (day, step).
HISTORIES: dict[str, tuple[str, int, list[tuple[str, Step]]]] = {
    # rallly-pro credits a decrease at once; the renewals are paid from that credit first.
    "credit": ("rallly-pro", 3, [("2026-01-10", decrease_to_one)]),
    # voltasis-pro bills each new member on the next invoice: pending lines wait for renewal.
    "pending": (
        "voltasis-pro",
        1,
        [("2026-01-08", join("ana@main.test")), ("2026-01-20", join("ben@main.test"))],
    ),
    "addon": ("upcoach", 2, [("2026-01-12", two_addons)]),
    "cancel": ("reviewer-pro", 2, [("2026-01-15", cancel_at_period_end)]),
}


@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_the_set_based_path_writes_what_the_gateway_writes(
    database_url: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    preset, seats, history = HISTORIES[name]
    with runtime_at(database_url, at("2026-01-01")) as (runtime, clock):
        pair = [subscribe(runtime, preset, seats)[0] for _ in range(2)]
        for day, step in history:
            clock.move_to(at(day))
            for account_id in pair:
                step(runtime, account_id)
        set_based, one_by_one = pair
        taken: list[str] = []
        plain = renewals._plain

        def only_the_first(state: Any, roster: Any, effects: Any) -> bool:
            if state.account_id == one_by_one:
                return False
            if plain(state, roster, effects):
                taken.append(state.account_id)
                return True
            return False

        monkeypatch.setattr(renewals, "_plain", only_the_first)
        clock.move_to(at("2026-03-15"))
        summary = run_billing(runtime)
        assert summary.failures == ()
        assert set(taken) == {set_based}
        assert written(runtime, set_based) == written(runtime, one_by_one)
        assert written(runtime, set_based)["invoices"], "nothing was billed"


def written(runtime: Runtime, account_id: str) -> dict[str, Any]:
    """Every row of the account, with its ids replaced by what they stand for. Log rows are
    compared in ``seq`` order but not by ``seq``: PostgreSQL numbers them from shared sequences."""
    assert runtime.engine is not None
    with runtime.engine.connect() as conn:
        billed = conn.execute(
            select(pending_lines.c.description, pending_lines.c.invoice_id)
            .where(pending_lines.c.account_id == account_id)
            .order_by(pending_lines.c.created_at, pending_lines.c.description)
        ).all()
    with runtime.uow() as uow:
        (sub,) = uow.subscriptions.for_account(account_id)
        invoices = uow.invoices.for_account(account_id)
        number_of = {i.id: i.number for i in invoices}
        names = {sub.id: "SUB", account_id: "ACC"}

        def plain(value: Any) -> Any:
            if isinstance(value, str):
                text = re.sub(r"per_[0-9a-f]+", "PERSON", value)
                for key, stands_for in names.items():
                    text = text.replace(key, stands_for)
                return number_of.get(value, text)
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [plain(v) for v in value]
            return value

        return {
            # Every field, so a field added to subscriptions is compared as well.
            "subscription": replace(sub, account_id="", id="", created_at=at("2026-01-01")),
            "invoices": [(invoice_row(i), i.status, i.renewal_of) for i in invoices],
            "ledger": [
                plain([e.seq, e.at, e.kind, e.seats_total, e.seats_used, e.seats_at_renewal])
                + plain([e.seats_paid, e.person_id, e.detail])
                for e in uow.ledger.entries(account_id, sub.id)
            ],
            "audit": [
                plain([a.at, a.actor, a.action, a.target, a.before, a.after])
                for a in uow.audit.entries(account_id)
            ],
            "outbox": [
                plain([e.event_type, e.payload]) for e in uow.outbox.for_account(account_id)
            ],
            "credits": [
                plain([c.at, c.amount, c.reason, c.invoice_id])
                for c in uow.credits.entries(account_id)
            ],
            # By what they say, not when they were written: the run writes a line parked by a
            # member going inactive when it bills, a test clock at the instant it was parked.
            "pending": sorted((d, number_of.get(i)) for d, i in billed),
        }


def test_an_account_with_a_renewal_the_batch_cannot_write_is_left_whole_to_the_gateway(
    database_url: str,
) -> None:
    """A role expiry changes the roster: that subscription, and the other one of its account
    (same credit balance, same invoice counter), are left; another account's is renewed."""
    expiring = resolve_policy("voltasis-pro", {"expiring_roles": {"contractor": "P10D"}})
    with runtime_at(database_url, at("2026-03-01")) as (runtime, clock):
        mixed = accounts.create_account(runtime, name="mixed")
        for workspace, policy in (("alpha", expiring), ("beta", resolve_policy("voltasis-pro"))):
            subscriptions.subscribe(
                runtime,
                account_id=mixed,
                policy=policy,
                preset=None,
                workspaces=[workspace],
                owner_email=OWNER,
                seats=1,
            )
        members.invite_members(
            runtime,
            account_id=mixed,
            workspace="alpha",
            actor=OWNER,
            emails=["c@alpha.test"],
            role="contractor",
        )
        plain_account, _ = subscribe(runtime, "voltasis-pro", 1)
        clock.move_to(at("2026-04-01"))
        with runtime.uow() as uow:
            batch = uow.subscriptions.claim_due(clock.now(), limit=10)
            renewed = renewals.renew_batch(uow, batch, until=clock.now(), at=clock.now())
            assert renewed.writes is not None
            uow.renewal_batches.write(renewed.writes)
            uow.commit()
    assert sorted(s.account_id for s in batch) == sorted([mixed, mixed, plain_account])
    assert [s.account_id for s in renewed.left] == [mixed, mixed]
    assert renewed.billed == 1
    assert [v.number for v in renewed.issued] == ["000002"]
    assert renewed.failed == {}


def test_the_billing_run_marks_idle_holders_inactive_as_a_test_clock_advance_does(
    database_url: str,
) -> None:
    """Fair billing (``inactive_after``) keeps records a set-based renewal does not write, so the
    run bills such a subscription through the gateway: the member idle since the period began is
    credited from the instant 14 days on, exactly as moving a test clock over the same time does.
    Two accounts live the same January, one on the wall clock, one on a test clock."""
    fair = resolve_policy("voltasis-pro", {"inactive_after": "P14D"})
    with runtime_at(database_url, at("2026-01-01")) as (runtime, wall):
        walled = accounts.create_account(runtime, name="wall")
        clocked = accounts.create_account(runtime, name="clocked")
        clock_id = test_clocks.create_test_clock(
            runtime, account_id=clocked, at=at("2026-01-01")
        ).id
        for account_id, on_clock in ((walled, None), (clocked, clock_id)):
            subscriptions.subscribe(
                runtime,
                account_id=account_id,
                policy=fair,
                preset="voltasis-pro",
                workspaces=[WORKSPACE],
                owner_email=OWNER,
                seats=1,
                test_clock_id=on_clock,
            )
            join("ana@main.test")(runtime, account_id)
        # The owner works on Jan 25; ana never does.
        wall.move_to(at("2026-01-25"))
        test_clocks.advance_test_clock(
            runtime, account_id=clocked, clock_id=clock_id, to=at("2026-01-25")
        )
        for account_id in (walled, clocked):
            activity.record_activity(
                runtime, account_id=account_id, workspace=WORKSPACE, actor=OWNER, email=OWNER
            )
        wall.move_to(at("2026-02-10"))
        summary = run_billing(runtime)
        test_clocks.advance_test_clock(
            runtime, account_id=clocked, clock_id=clock_id, to=at("2026-02-10")
        )
        assert (summary.subscriptions_billed, summary.failures) == (1, ())
        by_wall, by_clock = written(runtime, walled), written(runtime, clocked)
        # The clock writes the subscription at each instant something fell due (a higher
        # version); the run once, when it bills.
        by_clock["subscription"] = replace(
            by_clock["subscription"], test_clock_id=None, version=by_wall["subscription"].version
        )
        assert by_wall == by_clock
        assert (
            activity_rows(runtime, walled)
            == activity_rows(runtime, clocked)
            == {
                OWNER: (at("2026-01-25"), at("2026-02-08")),
                "ana@main.test": (at("2026-01-01"), at("2026-01-15")),
            }
        )
        renewal = next(i for i in by_wall["invoices"] if i[0].reason == "renewal")[0]
        # Jan 1 ana joined (1 x 10.00, pending). Jan 15 both went inactive (each 1 x 10.00 x
        # 17/31 days = 5.4838 -> -5.48); the owner's activity of Jan 25 billed them again
        # (1 x 10.00 x 7/31 = 2.258 -> 2.26). Feb 1 bills the owner alone.
        assert [(ln[0], ln[1], ln[3]) for ln in renewal.lines] == [
            ("proration_charge", 1, "10.00"),
            ("proration_credit", 1, "-5.48"),
            ("proration_credit", 1, "-5.48"),
            ("proration_charge", 1, "2.26"),
            ("seats", 1, "10.00"),
        ]
        assert renewal.total == "11.30"  # 10.00 - 5.48 - 5.48 + 2.26 + 10.00


def activity_rows(runtime: Runtime, account_id: str) -> dict[str, tuple[Any, Any]]:
    """Fair billing's records of the account: e-mail -> (last_active_at, inactive_at)."""
    with runtime.uow() as uow:
        (sub,) = uow.subscriptions.for_account(account_id)
        stored = uow.member_activity.load(account_id, sub.id)
    return {email: (a.last_active_at, a.inactive_at) for email, a in stored.items()}
