"""Accounts, workspaces and persons; erasing a person keeps the ledger and drops the e-mail."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from store_builders import World

from seatledger.clock import ManualClock
from seatledger.domain.errors import Conflict, NotFound
from seatledger.domain.seats import Member, MemberStatus, RoleGrant, Roster
from seatledger.service.ports import Account, Person, Workspace
from seatledger.store import SqlUnitOfWork
from seatledger.store.tables import persons


def test_a_missing_account_is_not_found(uow: SqlUnitOfWork) -> None:
    with uow, pytest.raises(NotFound) as missing:
        uow.accounts.get("acc_nobody")
    assert (missing.value.kind, missing.value.key) == ("account", "acc_nobody")


def test_an_account_id_is_used_once(uow: SqlUnitOfWork, world: World, clock: ManualClock) -> None:
    with uow:
        with pytest.raises(Conflict):
            uow.accounts.add(Account(world.account_id, "Again", clock.now()))
        assert uow.accounts.get(world.account_id).name == f"Account {world.account_id}"


def test_workspace_names_are_unique_per_account(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        with pytest.raises(Conflict):
            uow.workspaces.add(Workspace(world.account_id, "ws_other", "main", clock.now()))
        uow.accounts.add(Account("acc_two", "Two", clock.now()))
        uow.workspaces.add(Workspace("acc_two", "ws_main", "main", clock.now()))
        found = uow.workspaces.find_by_name(world.account_id, "main")
        assert found is not None and found.id == "ws_main"
        assert [w.name for w in uow.workspaces.for_account(world.account_id)] == ["main", "side"]
        assert uow.workspaces.find_by_name(world.account_id, "nowhere") is None
        with pytest.raises(NotFound):
            uow.workspaces.get(world.account_id, "ws_nowhere")


def test_ensure_creates_a_person_once(uow: SqlUnitOfWork, world: World, clock: ManualClock) -> None:
    with uow:
        first = uow.persons.ensure(world.account_id, "ana@x.test", at=clock.now())
        again = uow.persons.ensure(world.account_id, "ana@x.test", at=clock.now())
        assert again == first
        assert uow.persons.get(world.account_id, first.id) == first
        with pytest.raises(Conflict):
            uow.persons.add(Person(world.account_id, "per_x", "ana@x.test", None, clock.now()))


def test_erasing_keeps_the_ledger_and_removes_the_e_mail(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    account, sub = world.account_id, world.subscription.id
    ana_member = Member(
        "ana@x.test", "ws_main", MemberStatus.ACTIVE, frozenset({RoleGrant("admin")})
    )
    with uow:
        uow.rosters.save(
            account, world.workspace_ids, Roster((ana_member,)), at=clock.now(), version=1
        )
        ana = uow.persons.find_by_email(account, "ana@x.test")
        assert ana is not None
        uow.ledger.append(
            account,
            sub,
            at=clock.now(),
            kind="member_added",
            seats_total=2,
            seats_used=1,
            seats_at_renewal=2,
            seats_paid=2,
            person_id=ana.id,
        )
        uow.commit()
    erased_at = clock.advance(timedelta(days=3))
    with uow:
        with pytest.raises(Conflict, match="still has memberships in ws_main"):
            uow.persons.erase(account, ana.id, at=erased_at)
        uow.rosters.save(account, world.workspace_ids, Roster(), at=erased_at, version=2)
        erased = uow.persons.erase(account, ana.id, at=erased_at)
        uow.commit()
    assert (erased.email, erased.display_name, erased.erased_at) == (None, None, erased_at)
    assert erased.label == f"erased-{ana.id}"
    with uow:
        assert [e.person_id for e in uow.ledger.entries(account, sub)] == [ana.id]
        assert uow.persons.find_by_email(account, "ana@x.test") is None
        stored = [tuple(row) for row in uow.connection.execute(select(persons))]
        assert "ana@x.test" not in repr(stored)
        # The address is free again: someone signing up with it is a new person.
        newcomer = uow.persons.ensure(account, "ana@x.test", at=erased_at)
        assert newcomer.id != ana.id
        # Erasing twice changes nothing.
        assert uow.persons.erase(account, ana.id, at=clock.advance(timedelta(days=1))) == erased


def test_two_first_invites_of_one_e_mail_make_one_person(
    engine: Engine, world: World, clock: ManualClock
) -> None:
    """Guards against a duplicate person (or a spurious failure) when two requests invite the same
    new address at once: the later insert waits for the earlier one, then finds its row."""
    first_added, release_first = threading.Event(), threading.Event()
    ids: dict[str, str] = {}
    errors: list[BaseException] = []

    def ensure(name: str, hold: bool) -> None:
        try:
            with SqlUnitOfWork(engine) as uow:
                ids[name] = uow.persons.ensure(world.account_id, "eve@x.test", at=clock.now()).id
                if hold:
                    first_added.set()
                    release_first.wait(10)
                uow.commit()
        except BaseException as error:  # reported by the main thread
            errors.append(error)
            first_added.set()

    one = threading.Thread(target=ensure, args=("first", True))
    two = threading.Thread(target=ensure, args=("second", False))
    one.start()
    assert first_added.wait(10)
    two.start()
    two.join(timeout=0.3)
    release_first.set()
    one.join(10)
    two.join(10)
    assert errors == []
    assert ids["second"] == ids["first"]
    with SqlUnitOfWork(engine) as uow:
        found = uow.persons.find_by_email(world.account_id, "eve@x.test")
        assert found is not None and found.id == ids["first"]
