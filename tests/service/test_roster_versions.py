"""Two processes on one database: each keeps the rosters it has seen by subscription version
(``store/version_cache.py``), and a change made by the other is never judged on a stale roster."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from service_world import subscribe

from seatledger.bootstrap import Runtime, bootstrap
from seatledger.clock import ManualClock
from seatledger.domain.errors import SeatLimitReached
from seatledger.service import members, subscriptions
from seatledger.service.gateway import load_state
from seatledger.store import driver_statements
from seatledger.store.version_cache import caches_of


@pytest.fixture
def second(database_url: str, clock: ManualClock) -> Iterator[Runtime]:
    """Another runtime on the same database: its own engine, so its own cache."""
    built = bootstrap(database_url, clock=clock)
    yield built
    built.dispose()


def invite(
    runtime: Runtime, account_id: str, owner: str, email: str, *, role: str = "reviewer"
) -> None:
    members.invite_members(
        runtime,
        account_id=account_id,
        workspace="main",
        actor=owner,
        emails=[email],
        role=role,
    )


def test_a_seat_taken_through_another_engine_counts_in_the_next_check(
    runtime: Runtime, second: Runtime
) -> None:
    world = subscribe(runtime, "reviewer-pro", seats=3)
    invite(runtime, world.account_id, world.owner, "ana@x.test")  # remembered here at its version
    invite(second, world.account_id, world.owner, "bob@x.test")  # the last seat, from elsewhere

    with pytest.raises(SeatLimitReached):
        invite(runtime, world.account_id, world.owner, "cy@x.test")

    preview = subscriptions.preview_seat_change(
        runtime, account_id=world.account_id, workspace="main", actor=world.owner, seats=4
    )
    assert preview.result.seats.used == 3
    with runtime.uow() as uow:
        emails = {m.email for m in load_state(uow, world.account_id, "main").roster.members}
    assert emails == {world.owner, "ana@x.test", "bob@x.test"}


def test_members_removed_and_changed_through_another_engine_are_caught_up(
    runtime: Runtime, second: Runtime
) -> None:
    world = subscribe(runtime, "reviewer-pro", seats=3)
    invite(runtime, world.account_id, world.owner, "ana@x.test")
    invite(runtime, world.account_id, world.owner, "bob@x.test")  # all 3 seats held
    # Elsewhere: Bob is deleted (a seat freed), Ana accepts, and Cy takes the freed seat.
    members.delete_member(
        second, account_id=world.account_id, workspace="main", actor=world.owner, email="bob@x.test"
    )
    members.accept_invite(second, account_id=world.account_id, workspace="main", email="ana@x.test")
    invite(second, world.account_id, world.owner, "cy@x.test")

    with pytest.raises(SeatLimitReached):
        invite(runtime, world.account_id, world.owner, "dee@x.test")
    with runtime.uow() as uow:
        roster = load_state(uow, world.account_id, "main").roster
    assert {(m.email, m.status.value) for m in roster.members} == {
        (world.owner, "active"),
        ("ana@x.test", "active"),
        ("cy@x.test", "pending"),
    }

    # Then only a change elsewhere (Cy accepts): caught up from the rows it wrote.
    members.accept_invite(second, account_id=world.account_id, workspace="main", email="cy@x.test")
    with runtime.uow() as uow:
        roster = load_state(uow, world.account_id, "main").roster
    assert {(m.email, m.status.value) for m in roster.members} == {
        (world.owner, "active"),
        ("ana@x.test", "active"),
        ("cy@x.test", "active"),
    }


def test_a_refused_change_leaves_the_remembered_roster_as_committed(runtime: Runtime) -> None:
    world = subscribe(runtime, "reviewer-pro", seats=2)
    invite(runtime, world.account_id, world.owner, "ana@x.test")
    with pytest.raises(SeatLimitReached):
        invite(runtime, world.account_id, world.owner, "bob@x.test")
    members.accept_invite(
        runtime, account_id=world.account_id, workspace="main", email="ana@x.test"
    )

    with runtime.uow() as uow:
        state = load_state(uow, world.account_id, "main")
        fresh = uow.rosters.get(world.account_id, list(state.workspace_ids.values()))
    assert {m.email for m in state.roster.members} == {world.owner, "ana@x.test"}
    assert {(m.email, m.status) for m in fresh.members} == {
        (m.email, m.status) for m in state.roster.members
    }


def next_invoice_total(runtime: Runtime, account_id: str, owner: str, seats: int) -> str:
    preview = subscriptions.preview_seat_change(
        runtime, account_id=account_id, workspace="main", actor=owner, seats=seats
    )
    return preview.next_invoice_total.format()


def test_pending_lines_and_add_ons_changed_elsewhere_are_read_again(
    runtime: Runtime, second: Runtime, database_url: str, clock: ManualClock
) -> None:
    # A seat increase parked as a pending line for the next invoice; upcoach sells add-on packs.
    next_invoice = {"proration": {"unit": "day", "on_increase": "next_invoice"}}
    world = subscribe(runtime, "upcoach", seats=6, overrides=next_invoice)  # 5 included
    common = {"account_id": world.account_id, "workspace": "main", "actor": world.owner}
    clock.advance(timedelta(days=10))
    subscriptions.change_seat_count(runtime, **common, seats=7)
    before = next_invoice_total(runtime, world.account_id, world.owner, 9)  # remembered here
    subscriptions.change_seat_count(second, **common, seats=8)  # another pending line, elsewhere
    subscriptions.set_addon(second, **common, name="additional_admin_seat", count=2)

    seen_here = next_invoice_total(runtime, world.account_id, world.owner, 9)

    fresh = bootstrap(database_url, clock=clock)
    try:
        assert seen_here == next_invoice_total(fresh, world.account_id, world.owner, 9)
        with fresh.uow() as uow:
            stored = load_state(uow, world.account_id, "main")
    finally:
        fresh.dispose()
    assert seen_here != before
    with runtime.uow() as uow:
        state = load_state(uow, world.account_id, "main")
    assert state.addons == stored.addons == {"additional_admin_seat": 2}
    assert state.pending == stored.pending
    assert len(state.pending) == 3  # two seat increases and the add-on packs


def sends_during(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A list that grows by one entry each time statements go to the database together (one
    round trip on PostgreSQL), naming the first of them."""
    sent: list[str] = []
    send = driver_statements._send

    def counted(conn: Any, queued: Any, **kwargs: Any) -> list[Any]:
        reads = kwargs.get("reads", ())
        sent.append(reads[0][0].sql if reads else "writes")
        return send(conn, queued, **kwargs)

    monkeypatch.setattr(driver_statements, "_send", counted)
    return sent


def test_a_subscription_changed_elsewhere_is_caught_up_in_the_locked_reads_round_trip(
    runtime: Runtime, second: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = subscribe(runtime, "reviewer-pro", seats=10)
    invite(runtime, world.account_id, world.owner, "a0@x.test")
    invite(second, world.account_id, world.owner, "b0@x.test")
    invite(runtime, world.account_id, world.owner, "a1@x.test")  # found changed elsewhere
    invite(second, world.account_id, world.owner, "b1@x.test")
    sent = sends_during(monkeypatch)

    with runtime.uow() as uow:
        state = load_state(uow, world.account_id, "main")

    # The lock, the credit balances, the roster's catch-up and the add-ons and pending lines.
    assert len(sent) == 1
    assert {m.email for m in state.roster.members} == {
        world.owner,
        "a0@x.test",
        "b0@x.test",
        "a1@x.test",
        "b1@x.test",
    }
    assert len(caches_of(runtime.engine).contended) == 1

    # Alone again: its kept roster is current, nothing is sent ahead and the name is forgotten.
    invite(runtime, world.account_id, world.owner, "a2@x.test")
    assert len(caches_of(runtime.engine).contended) == 0
    sent.clear()
    with runtime.uow() as uow:
        load_state(uow, world.account_id, "main")
    assert len(sent) == 1
    assert "memberships" not in sent[0]


def state_seen(runtime: Runtime, account_id: str, workspace: str) -> tuple[Any, ...]:
    with runtime.uow() as uow:
        state = load_state(uow, account_id, workspace)
    members = sorted(state.roster.members, key=lambda m: (m.email, m.workspace))
    return members, state.addons, state.pending


def test_read_ahead_states_equal_fresh_reads_through_every_kind_of_change_elsewhere(
    runtime: Runtime, second: Runtime, database_url: str, clock: ManualClock
) -> None:
    # Two workspaces under one subscription; seat increases parked as pending lines.
    next_invoice = {"proration": {"unit": "day", "on_increase": "next_invoice"}}
    world = subscribe(
        runtime, "upcoach", seats=8, overrides=next_invoice, workspaces=("main", "side")
    )
    account = world.account_id
    clock.advance(timedelta(days=3))
    changes = [
        lambda rt: invite(rt, account, world.owner, "ana@x.test", role="program_admin"),
        lambda rt: members.accept_invite(
            rt, account_id=account, workspace="main", email="ana@x.test"
        ),
        lambda rt: subscriptions.change_seat_count(
            rt, account_id=account, workspace="main", actor=world.owner, seats=9
        ),
        lambda rt: subscriptions.set_addon(
            rt,
            account_id=account,
            workspace="side",
            actor=world.owner,
            name="additional_admin_seat",
            count=1,
        ),
        lambda rt: invite(rt, account, world.owner, "bob@x.test", role="participant"),
        lambda rt: members.delete_member(
            rt, account_id=account, workspace="main", actor=world.owner, email="ana@x.test"
        ),
        lambda rt: invite(rt, account, world.owner, "cy@x.test", role="program_admin"),
        lambda rt: subscriptions.change_seat_count(
            rt, account_id=account, workspace="side", actor=world.owner, seats=10
        ),
    ]
    fresh = bootstrap(database_url, clock=clock)
    try:
        for turn, change in enumerate(changes):
            # Each change made by one runtime, then seen by the other, then by a fresh one.
            made, other = (runtime, second) if turn % 2 == 0 else (second, runtime)
            change(made)
            for workspace in ("main", "side"):
                caches_of(fresh.engine).rosters.clear()
                caches_of(fresh.engine).parts.clear()
                expected = state_seen(fresh, account, workspace)
                assert state_seen(other, account, workspace) == expected, (turn, workspace)
                assert state_seen(made, account, workspace) == expected, (turn, workspace)
    finally:
        fresh.dispose()
    assert len(caches_of(runtime.engine).contended) > 0  # the read-ahead was in use
