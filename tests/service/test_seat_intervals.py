"""The seat ledger's intervals, written with every change, and the explanation of a bill, on
SQLite and PostgreSQL through the real use cases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from service_world import OWNER, Subscribed, subscribe

from seatledger.bootstrap import Runtime
from seatledger.clock import ManualClock
from seatledger.domain.errors import InvalidInput, NotFound
from seatledger.domain.seat_intervals import EntryKind, SeatInterval
from seatledger.service import billing, members, subscriptions
from seatledger.service.explain import InvoiceExplanation, explain_invoice


def intervals(world: Subscribed) -> list[SeatInterval]:
    with world.runtime.uow() as uow:
        return list(uow.seat_intervals.for_subscription(world.account_id, world.subscription_id))


def people(world: Subscribed) -> dict[str, str]:
    """Person id -> label (the e-mail, or erased-<id>)."""
    ids = {i.person for i in intervals(world)}
    with world.runtime.uow() as uow:
        return {pid: uow.persons.get(world.account_id, pid).label for pid in ids}


def as_text(world: Subscribed) -> list[str]:
    """``"ana@x.test member seat 04-03..04-09 invite/deletion"`` per interval, oldest first."""
    names = people(world)
    out = []
    for i in intervals(world):
        scope = f":{i.scope}" if i.scope else ""
        end = f"{i.ended_at:%m-%d}" if i.ended_at else ""
        why = f"{i.start_reason}/{i.end_reason}" if i.end_reason else str(i.start_reason)
        out.append(f"{names[i.person]} {i.role}{scope} {i.kind} {i.started_at:%m-%d}..{end} {why}")
    return sorted(out)


def test_every_change_of_who_holds_a_seat_opens_or_closes_an_interval_with_its_reason(
    runtime: Runtime, clock: ManualClock
) -> None:
    world = subscribe(runtime, "rallly-pro", seats=4)
    common = {**world.common(), "actor": OWNER}
    clock.advance(timedelta(days=2))  # 04-03
    members.invite_members(runtime, **common, emails=["ana@x.test", "bob@x.test"], role="member")
    clock.advance(timedelta(days=1))  # 04-04
    members.accept_invite(runtime, **world.common(), email="ana@x.test")
    members.assign_role(runtime, **common, email="ana@x.test", role="admin")
    clock.advance(timedelta(days=1))  # 04-05
    members.remove_role(runtime, **common, email="ana@x.test", role="member")
    clock.advance(timedelta(days=1))  # 04-06
    members.deactivate_member(runtime, **common, email="ana@x.test")
    clock.advance(timedelta(days=1))  # 04-07
    members.reactivate_member(runtime, **common, email="ana@x.test")
    clock.advance(timedelta(days=1))  # 04-08
    bob = world.person_id("bob@x.test")
    members.delete_member(runtime, **common, email="bob@x.test")

    assert as_text(world) == [
        "ana@x.test admin seat 04-04..04-06 role_change/deactivation",
        "ana@x.test admin seat 04-07.. reactivation",
        "ana@x.test member seat 04-03..04-05 invite/role_change",
        f"erased-{bob} member seat 04-03..04-08 invite/deletion",
        "owner@main.test owner seat 04-01.. subscribe",
    ]


def test_an_expiring_role_ends_its_interval_at_its_own_instant(
    runtime: Runtime, clock: ManualClock
) -> None:
    """An expiry that fell due before the next change is dated at the expiry, not at the change
    that noticed it, and is told apart from that change's own reason."""
    world = subscribe(
        runtime, "upcoach", seats=6, overrides={"expiring_roles": {"program_admin": "P3D"}}
    )
    common = {**world.common(), "actor": OWNER}
    members.invite_members(runtime, **common, emails=["ana@x.test"], role="program_admin")
    clock.advance(timedelta(days=10))
    members.invite_members(runtime, **common, emails=["bob@x.test"], role="admin")
    assert as_text(world) == [
        "ana@x.test program_admin seat 04-01..04-04 invite/expiry",
        "bob@x.test admin seat 04-11.. invite",
        "owner@main.test owner seat 04-01.. subscribe",
    ]


def test_canceling_now_ends_every_holding(runtime: Runtime, clock: ManualClock) -> None:
    world = subscribe(runtime, "rallly-pro", seats=2)
    common = {**world.common(), "actor": OWNER}
    members.invite_members(runtime, **common, emails=["ana@x.test"], role="member")
    clock.advance(timedelta(days=5))
    subscriptions.cancel_subscription(runtime, **common, at_period_end=False)
    assert as_text(world) == [
        "ana@x.test member seat 04-01..04-06 invite/cancellation",
        "owner@main.test owner seat 04-01..04-06 subscribe/cancellation",
    ]


def test_a_free_allowance_place_is_an_interval_of_its_own_kind(runtime: Runtime) -> None:
    world = subscribe(runtime, "plaky", seats=2)
    common = {**world.common(), "actor": OWNER}
    members.invite_members(runtime, **common, emails=["ana@x.test"], role="viewer")
    assert as_text(world) == [
        "ana@x.test viewer free 04-01.. invite",
        "owner@main.test admin seat 04-01.. subscribe",
    ]


# ---------------------------------------------------------------------------------------------
# explain


def explained(explanation: InvoiceExplanation) -> list[list[str]]:
    """Per line: ``"<who> <quantity> <amount>"`` per entry."""
    return [
        [f"{explanation.who(e)} {e.quantity} {e.amount.format()}" for e in line.entries]
        for line in explanation.lines
    ]


def assert_adds_up(explanation: InvoiceExplanation) -> None:
    for line in explanation.lines:
        assert line.quantity == line.line.quantity
        assert line.amount == line.line.amount


def test_a_manual_mode_renewal_names_the_holders_and_the_unassigned_seats(
    runtime: Runtime, clock: ManualClock
) -> None:
    world = subscribe(runtime, "rallly-pro", seats=3)
    clock.advance(timedelta(days=1))  # longest-seated first: the owner, then ana
    members.invite_members(
        runtime, **world.common(), actor=OWNER, emails=["ana@x.test"], role="member"
    )
    clock.advance(timedelta(days=29))  # 05-01: the renewal
    issued = billing.bring_up_to_date(runtime, account_id=world.account_id)
    renewal = explain_invoice(runtime, world.account_id, issued[-1].number)
    assert explained(renewal) == [
        [
            "owner@main.test 1 10.00",
            "ana@x.test 1 10.00",
            "unassigned purchased seat 1 10.00",
        ]
    ]
    assert_adds_up(renewal)
    # The person's intervals behind the line, with the workspace by name.
    owner_entry = renewal.lines[0].entries[0]
    assert [renewal.holding(i) for i in owner_entry.intervals] == ["owner in main"]


def test_an_automatic_mode_charge_and_credit_name_who_came_and_who_left(
    runtime: Runtime, clock: ManualClock
) -> None:
    world = subscribe(runtime, "voltasis-pro", seats=1)
    common = {**world.common(), "actor": OWNER}
    clock.advance(timedelta(days=10))
    members.invite_members(runtime, **common, emails=["ana@x.test", "bob@x.test"], role="employee")
    clock.advance(timedelta(days=5))
    ana = world.person_id("ana@x.test")
    members.delete_member(runtime, **common, email="ana@x.test")
    clock.advance(timedelta(days=15))  # 05-01: the renewal carries the pending lines
    issued = billing.bring_up_to_date(runtime, account_id=world.account_id)
    renewal = explain_invoice(runtime, world.account_id, issued[-1].id)
    kinds = [line.line.kind.value for line in renewal.lines]
    charge = renewal.lines[kinds.index("proration_charge")]
    assert {e.kind for e in charge.entries} == {EntryKind.PERSON}
    assert {renewal.who(e) for e in charge.entries} == {f"erased-{ana}", "bob@x.test"}
    credit = renewal.lines[kinds.index("proration_credit")]
    assert [renewal.who(e) for e in credit.entries] == [f"erased-{ana}"]
    seats = renewal.lines[kinds.index("seats")]
    assert sorted(renewal.who(e) for e in seats.entries) == ["bob@x.test", "owner@main.test"]
    assert_adds_up(renewal)


def test_an_invoice_is_found_by_number_or_id_and_refused_plainly(runtime: Runtime) -> None:
    world = subscribe(runtime, "reviewer-pro", seats=3)
    first = explain_invoice(runtime, world.account_id, "1")
    assert first.invoice.number == "000001"
    by_id = explain_invoice(runtime, world.account_id, first.invoice.id)
    assert explained(by_id) == explained(first)
    # reviewer Pro: base fee, and 1 billed seat beyond the 2 included; the admin is included.
    assert explained(first) == [
        ["this line itself 1 99.00"],
        ["owner@main.test 0 0.00", "unassigned purchased seat 1 99.00"],
    ]
    assert first.note(first.lines[1].entries[0]) == "included in the plan"
    with pytest.raises(NotFound):
        explain_invoice(runtime, world.account_id, "000099")
    with pytest.raises(InvalidInput):
        explain_invoice(runtime, world.account_id, "twelve")
    with pytest.raises(InvalidInput):
        explain_invoice(runtime, None, first.invoice.id)
    with pytest.raises(NotFound):
        explain_invoice(runtime, "acc_nobody", first.invoice.id)
