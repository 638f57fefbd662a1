"""Seat limits under real concurrency: many OS processes, each with its own engine, on one database.

The processes are started once with the 'spawn' method (nothing inherited but the database URL);
each race lines them up at a barrier so their requests hit the database together, and collects
every outcome.
A request may succeed or be refused by a seat rule; it may never fail with a conflict, a database
error or a timeout, and the stored counts must never show more seats used than bought.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest
from race_workers import RacePool
from service_world import Subscribed, subscribe

from seatledger.bootstrap import Runtime

PROCESSES = 32


@pytest.fixture(scope="session")
def pool() -> Iterator[RacePool]:
    """One pool per test process, kept for the session: starting 32 interpreters is most of a
    race's cost, and pytest-xdist may hand this module's tests to a worker between others."""
    started = RacePool(PROCESSES)
    yield started
    started.close()


def invite(world: Subscribed, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "invite",
        "account_id": world.account_id,
        "workspace": "main",
        "actor": world.owner,
        "email": f"{name}@team.test",
        "role": "member",
    }


def set_seats(world: Subscribed, name: str, seats: int) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "set_seats",
        "account_id": world.account_id,
        "workspace": "main",
        "actor": world.owner,
        "seats": seats,
    }


def assert_ledger_never_oversold(world: Subscribed) -> None:
    ledger = world.ledger()
    assert [row.seq for row in ledger] == list(range(1, len(ledger) + 1))
    oversold = [row for row in ledger if row.seats_used > row.seats_total]
    assert oversold == []


def test_32_processes_inviting_into_10_free_seats_admit_exactly_10(
    runtime: Runtime, database_url: str, pool: RacePool
) -> None:
    """The race: 32 invites read "10 seats free" at the same moment. Checked before the write and
    outside the subscription's lock, every one of them would pass and 32 people would sit in 10
    seats; under the lock exactly 10 get in, the other 22 are told no seat is left, and none sees a
    spurious conflict, a "database is locked" or a deadlock."""
    world = subscribe(runtime, "rallly-pro", seats=11)  # the owner holds one: 10 are free
    names = [f"p{i:02d}" for i in range(PROCESSES)]
    version_before = world.subscription().version

    outcomes = pool.race(database_url, [invite(world, name) for name in names])

    assert Counter(outcomes.values()) == {"ok": 10, "seat_limit_reached": 22}
    assert world.used() == 11
    subscription = world.subscription()
    # Ten saves, each from the version its own transaction locked and read: no lost update.
    assert (subscription.seats_total, subscription.version) == (11, version_before + 10)
    admitted = {name for name, outcome in outcomes.items() if outcome == "ok"}
    ledger = world.ledger()
    assert [row.seats_used for row in ledger] == list(range(1, 12))
    invited = [row for row in world.audit() if row.action == "invite_members"]
    assert len(invited) == 10
    for name in admitted:
        world.person_id(f"{name}@team.test")  # each admitted invitee is a person of the account
    assert_ledger_never_oversold(world)


def test_seat_decreases_racing_invites_never_leave_more_used_than_bought(
    runtime: Runtime, database_url: str, pool: RacePool
) -> None:
    """The race: an owner lowers the seat count while invites arrive. A decrease that checks
    "seats used" before an invite commits, or an invite that checks "seats free" before a decrease
    commits, would leave more people than seats. Under the lock each request sees the other's
    result: every ledger row, in commit order, has used <= total, and each refusal is the seat
    rule's (below_used_seats, seat_limit_reached), never a conflict."""
    world = subscribe(runtime, "rallly-pro", seats=20)  # the owner holds one of 20
    inviters = [invite(world, f"p{i:02d}") for i in range(PROCESSES // 2)]
    decreasers = [set_seats(world, f"d{i:02d}", 2 + i) for i in range(PROCESSES // 2)]

    outcomes = pool.race(database_url, [*inviters, *decreasers])

    invite_outcomes = Counter(outcomes[r["name"]] for r in inviters)
    decrease_outcomes = Counter(outcomes[r["name"]] for r in decreasers)
    assert set(invite_outcomes) <= {"ok", "seat_limit_reached"}, invite_outcomes
    assert set(decrease_outcomes) <= {"ok", "below_used_seats"}, decrease_outcomes
    subscription = world.subscription()
    used = world.used()
    assert used == 1 + invite_outcomes["ok"]
    assert used <= subscription.seats_total
    assert_ledger_never_oversold(world)
    ledger = world.ledger()
    assert (ledger[-1].seats_total, ledger[-1].seats_used) == (subscription.seats_total, used)
    moves = [
        (before.seats_total, row.seats_total)
        for before, row in pairwise(ledger)
        if row.kind == "seats_changed"
    ]
    assert len(moves) == decrease_outcomes["ok"]
    # rallly-pro bills each move at once: a credit note per decrease, an invoice per increase
    # (a later decrease to a higher target than the current count is an increase), numbered
    # without gaps although they were issued by racing processes.
    with runtime.uow() as uow:
        issued = uow.invoices.for_account(world.account_id)
    kinds = Counter((i.kind.value, i.reason) for i in issued)
    assert kinds[("credit_note", "proration")] == sum(new < old for old, new in moves)
    assert kinds[("invoice", "proration")] == sum(new > old for old, new in moves)
    assert [i.number for i in issued] == list(range(1, len(issued) + 1))
