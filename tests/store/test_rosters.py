"""Rosters round-trip through memberships and role assignments, and saving writes only the diff."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from store_builders import World

from seatledger.clock import ManualClock
from seatledger.domain.errors import InvalidInput
from seatledger.domain.seats import Member, MemberStatus, RoleGrant, Roster
from seatledger.store import SqlUnitOfWork
from seatledger.store.tables import memberships

ACTIVE, PENDING, DEACTIVATED = MemberStatus.ACTIVE, MemberStatus.PENDING, MemberStatus.DEACTIVATED


def member(email: str, workspace: str, status: MemberStatus, *grants: RoleGrant) -> Member:
    return Member(email=email, workspace=workspace, status=status, grants=frozenset(grants))


def bundle_roster(at: datetime) -> Roster:
    """Ana runs both workspaces; Bo is invited with a program scope; Cy is a time-limited helper."""
    return Roster(
        (
            member("ana@x.test", "ws_main", ACTIVE, RoleGrant("admin")),
            member(
                "ana@x.test",
                "ws_side",
                ACTIVE,
                RoleGrant("reviewer", scope="program-1"),
                RoleGrant("member", scope="program-2"),
            ),
            member("bo@x.test", "ws_main", PENDING, RoleGrant("reviewer", scope="program-1")),
            member(
                "cy@x.test",
                "ws_side",
                DEACTIVATED,
                RoleGrant("member", expires_at=at + timedelta(days=30)),
                RoleGrant("member", scope="program-1", expires_at=at + timedelta(hours=12)),
            ),
        )
    )


def save(uow: SqlUnitOfWork, world: World, roster: Roster, at: datetime) -> Roster:
    with uow:
        uow.rosters.save(world.account_id, world.workspace_ids, roster, at=at, version=1)
        uow.commit()
    with uow:
        return uow.rosters.get(world.account_id, world.workspace_ids)


def as_set(roster: Roster) -> set[Member]:
    return set(roster.members)


def test_a_roster_with_scoped_and_expiring_grants_round_trips(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    written = bundle_roster(clock.now())
    read = save(uow, world, written, clock.now())
    assert as_set(read) == as_set(written)
    assert len(read.members) == 4
    cy = read.find("cy@x.test", "ws_side")
    assert cy is not None
    assert {g.expires_at for g in cy.grants} == {
        clock.now() + timedelta(days=30),
        clock.now() + timedelta(hours=12),
    }


def test_people_are_created_for_new_e_mails_once(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    save(uow, world, bundle_roster(clock.now()), clock.now())
    with uow:
        ana = uow.persons.find_by_email(world.account_id, "ana@x.test")
        assert ana is not None
        assert uow.persons.workspace_ids(world.account_id, ana.id) == ("ws_main", "ws_side")
        assert {
            uow.persons.find_by_email(world.account_id, e) is not None
            for e in ("bo@x.test", "cy@x.test")
        } == {True}


def test_a_subset_of_workspaces_loads_only_their_members(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    save(uow, world, bundle_roster(clock.now()), clock.now())
    with uow:
        main = uow.rosters.get(world.account_id, ["ws_main"])
    assert {(m.email, m.workspace) for m in main.members} == {
        ("ana@x.test", "ws_main"),
        ("bo@x.test", "ws_main"),
    }


def test_saving_applies_every_kind_of_change(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    start = clock.now()
    roster = bundle_roster(start)
    save(uow, world, roster, start)
    later = clock.advance(timedelta(days=2))
    bo = roster.find("bo@x.test", "ws_main")
    ana_side = roster.find("ana@x.test", "ws_side")
    assert bo is not None and ana_side is not None
    changed = (
        roster.put(Member("bo@x.test", "ws_main", ACTIVE, bo.grants))  # accepted the invite
        .put(ana_side.with_grants([RoleGrant("reviewer", scope="program-1")]))  # lost a role
        .put(  # the helper's access was extended
            member("cy@x.test", "ws_side", ACTIVE, RoleGrant("member", expires_at=later))
        )
        .drop("ana@x.test", "ws_main")  # left a workspace
        .put(member("di@x.test", "ws_main", PENDING, RoleGrant("member")))  # newly invited
    )
    assert as_set(save(uow, world, changed, later)) == as_set(changed)


def test_an_unchanged_member_is_not_rewritten(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    start = clock.now()
    roster = bundle_roster(start)
    save(uow, world, roster, start)
    later = clock.advance(timedelta(days=1))
    save(uow, world, roster.drop("bo@x.test", "ws_main"), later)
    with uow:
        stamps = {
            (row.workspace_id, row.status): (row.updated_at, row.status_changed_at)
            for row in uow.connection.execute(select(memberships))
        }
    assert stamps[("ws_main", "active")] == (start, start)
    assert len(stamps) == 3


def test_a_status_change_stamps_the_membership(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    start = clock.now()
    save(uow, world, Roster((member("ana@x.test", "ws_main", PENDING, RoleGrant("admin")),)), start)
    later = clock.advance(timedelta(hours=3))
    save(uow, world, Roster((member("ana@x.test", "ws_main", ACTIVE, RoleGrant("admin")),)), later)
    with uow:
        row = uow.connection.execute(select(memberships)).one()
    assert (row.status, row.created_at, row.status_changed_at) == ("active", start, later)


def test_an_empty_roster_removes_everyone(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    save(uow, world, bundle_roster(clock.now()), clock.now())
    assert save(uow, world, Roster(), clock.now()).members == ()


@pytest.mark.parametrize(
    ("roster", "field"),
    [
        pytest.param(
            Roster((member("ana@x.test", "ws_elsewhere", ACTIVE, RoleGrant("admin")),)),
            "workspace",
            id="workspace-outside-the-roster",
        ),
        pytest.param(
            Roster(
                (
                    member("ana@x.test", "ws_main", ACTIVE),
                    member("ana@x.test", "ws_main", PENDING),
                )
            ),
            "email",
            id="same-member-twice",
        ),
        pytest.param(
            Roster(
                (
                    member(
                        "ana@x.test",
                        "ws_main",
                        ACTIVE,
                        RoleGrant("member", "p1"),
                        RoleGrant(
                            "member",
                            "p1",
                            expires_at=datetime.fromisoformat("2026-05-01T00:00:00+00:00"),
                        ),
                    ),
                )
            ),
            "role",
            id="same-role-and-scope-twice",
        ),
        pytest.param(
            Roster((member("ana@x.test", "ws_main", ACTIVE, RoleGrant("member", scope="")),)),
            "scope",
            id="empty-scope",
        ),
    ],
)
def test_rosters_the_tables_cannot_hold_are_refused(
    uow: SqlUnitOfWork, world: World, clock: ManualClock, roster: Roster, field: str
) -> None:
    with uow:
        with pytest.raises(InvalidInput) as refused:
            uow.rosters.save(
                world.account_id, world.workspace_ids, roster, at=clock.now(), version=1
            )
        assert refused.value.field == field
        assert uow.rosters.get(world.account_id, world.workspace_ids).members == ()
