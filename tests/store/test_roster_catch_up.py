"""A roster kept at an earlier version is caught up from the rows written after it, and the result
is always the roster a whole read gives (``rosters._catch_up``)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from store_builders import World
from test_version_cache import roster_reads

from seatledger.clock import ManualClock
from seatledger.domain.seats import Member, MemberStatus, RoleGrant, Roster
from seatledger.service.ports import StoredRoster, SubscriptionVersion
from seatledger.service.roster_naming import named
from seatledger.store import SqlUnitOfWork

SUB = "sub_demo"
NAMES = {"ws_main": "main", "ws_side": "side"}
ACTIVE, PENDING, DEACTIVATED = MemberStatus.ACTIVE, MemberStatus.PENDING, MemberStatus.DEACTIVATED


def member(email: str, workspace: str, status: MemberStatus, *grants: RoleGrant) -> Member:
    return Member(email, workspace, status, frozenset(grants))


def commit_roster(
    uow: SqlUnitOfWork, world: World, roster: Roster, at: datetime, version: int
) -> StoredRoster:
    """Save ``roster`` as the change that commits ``version``, and keep it at that version."""
    with uow:
        stored = uow.rosters.save(
            world.account_id, world.workspace_ids, roster, at=at, version=version
        )
        uow.rosters.remember(
            world.account_id, world.workspace_ids, stored, version=SubscriptionVersion(SUB, version)
        )
        uow.commit()
    return stored


def save_elsewhere(
    uow: SqlUnitOfWork, world: World, roster: Roster, at: datetime, version: int
) -> None:
    """Save ``roster`` at ``version`` as another process would: nothing kept here."""
    with uow:
        uow.rosters.save(world.account_id, world.workspace_ids, roster, at=at, version=version)
        uow.commit()


def load_at(uow: SqlUnitOfWork, world: World, version: int) -> StoredRoster:
    with uow:
        return uow.rosters.load(
            world.account_id,
            world.workspace_ids,
            version=SubscriptionVersion(SUB, version),
            remember=True,
        )


def read_whole(uow: SqlUnitOfWork, world: World) -> StoredRoster:
    with uow:
        return uow.rosters.load(world.account_id, world.workspace_ids)


def first_roster() -> Roster:
    return Roster(
        (
            member("ana@x.test", "ws_main", ACTIVE, RoleGrant("admin")),
            member("bo@x.test", "ws_main", PENDING, RoleGrant("reviewer", scope="p1")),
            member("cy@x.test", "ws_side", ACTIVE, RoleGrant("member")),
        )
    )


def test_changes_made_elsewhere_are_read_as_the_changed_rows_only(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    at = clock.now()
    kept = commit_roster(uow, world, first_roster(), at, version=1)
    bo_accepted = member("bo@x.test", "ws_main", ACTIVE, RoleGrant("reviewer", scope="p1"))
    cy_promoted = member(
        "cy@x.test", "ws_side", ACTIVE, RoleGrant("member"), RoleGrant("admin", expires_at=at)
    )
    dee = member("dee@x.test", "ws_side", PENDING, RoleGrant("member"))
    roster = Roster((kept.roster.members[0], bo_accepted, cy_promoted, dee))
    save_elsewhere(uow, world, roster, at + timedelta(hours=1), version=2)
    save_elsewhere(uow, world, roster.put(dee.with_grants([])), at + timedelta(hours=2), version=3)

    with roster_reads(uow.engine) as reads:
        caught_up = load_at(uow, world, 3)
    whole = read_whole(uow, world)
    assert caught_up == whole
    assert caught_up.person_ids == whole.person_ids
    # The changed rows and the count, in one statement: never every member.
    assert len(reads) == 1
    assert "roster_version >" in reads[0] and "count(" in reads[0]
    # Ana did not change: she is the member object that was kept.
    ana = next(m for m in caught_up.roster.members if m.email == "ana@x.test")
    assert ana is kept.roster.members[0]


def test_a_version_that_changed_no_member_answers_with_the_kept_roster_itself(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    kept = commit_roster(uow, world, first_roster(), clock.now(), version=1)
    assert load_at(uow, world, 2) is kept


def test_a_member_removed_elsewhere_makes_the_reader_read_the_whole_roster(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    at = clock.now()
    kept = commit_roster(uow, world, first_roster(), at, version=1)
    without_bo = Roster(tuple(m for m in kept.roster.members if m.email != "bo@x.test"))
    # Bo leaves and Dee joins: as many members as before, but not the same ones.
    save_elsewhere(
        uow,
        world,
        without_bo.put(member("dee@x.test", "ws_main", ACTIVE)),
        at + timedelta(hours=1),
        version=2,
    )
    with roster_reads(uow.engine) as reads:
        caught_up = load_at(uow, world, 2)
    assert caught_up == read_whole(uow, world)
    assert "bo@x.test" not in caught_up.person_ids
    assert any("roster_version >" not in r and "count(" not in r for r in reads)


def test_caught_up_rosters_equal_whole_reads_through_any_sequence_of_changes(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    """Another process makes random changes (adds, status and grant changes, expiries,
    removals); this one reads some versions and skips others, so it catches up over gaps of one
    to several versions, and over versions that changed no member."""
    rng = random.Random(8)
    at = clock.now()
    people = [f"p{i}@x.test" for i in range(12)]
    roster = Roster()
    version = 0
    namings_carried = 0
    for _ in range(80):
        at += timedelta(minutes=5)
        version += 1
        for _ in range(rng.randint(1, 3)):
            email, workspace = rng.choice(people), rng.choice(world.workspace_ids)
            found = roster.find(email, workspace)
            action = rng.random()
            if found is not None and action < 0.15:
                roster = roster.drop(email, workspace)
                continue
            status = rng.choice([ACTIVE, PENDING, DEACTIVATED])
            grants = [
                RoleGrant(role, scope=rng.choice([None, "p1"]))
                for role in rng.sample(["admin", "member", "reviewer"], rng.randint(0, 2))
            ]
            if grants and rng.random() < 0.3:
                grants[0] = RoleGrant(grants[0].role, grants[0].scope, at + timedelta(days=1))
            roster = roster.put(member(email, workspace, status, *grants))
        save_elsewhere(uow, world, roster, at, version)
        if rng.random() < 0.2:
            version += 1  # a change that moved the version on and no member
        if rng.random() < 0.5:
            loaded = load_at(uow, world, version)
            assert loaded == read_whole(uow, world), f"version {version}"
            # The namings kept with the roster are carried along, member for member.
            for naming, as_named in loaded.renamed.items():
                assert as_named == loaded.roster.renamed(dict(naming)), f"version {version}"
                namings_carried += 1
            named(loaded, NAMES)
    assert namings_carried > 10


def test_saves_of_rosters_made_from_the_stored_one_are_caught_up_exactly_elsewhere(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    """This process saves only what a change made (``rosters.save`` given the roster it made by
    put and drop from the stored one); another engine, keeping its own rosters, catches up from
    the rows: both always equal a whole read."""
    other = SqlUnitOfWork(uow.engine.execution_options())  # the same pool, not the same engine
    rng = random.Random(12)
    at = clock.now()
    people = [f"p{i}@x.test" for i in range(10)]
    stored = commit_roster(uow, world, Roster(), at, version=1)
    for version in range(2, 60):
        at += timedelta(minutes=5)
        roster = stored.roster
        for _ in range(rng.randint(1, 3)):
            email, workspace = rng.choice(people), rng.choice(world.workspace_ids)
            if roster.find(email, workspace) is not None and rng.random() < 0.2:
                roster = roster.drop(email, workspace)
            else:
                grants = [RoleGrant(rng.choice(["admin", "member"]), rng.choice([None, "p1"]))]
                roster = roster.put(
                    member(email, workspace, rng.choice(list(MemberStatus)), *grants)
                )
        with uow:
            stored = uow.rosters.save(
                world.account_id, world.workspace_ids, roster, at=at, version=version, stored=stored
            )
            uow.commit()
        whole = read_whole(uow, world)
        assert stored == whole, f"version {version}"
        assert set(stored.roster.members) == set(roster.members)
        if rng.random() < 0.5:
            assert load_at(other, world, version) == whole, f"version {version}"
