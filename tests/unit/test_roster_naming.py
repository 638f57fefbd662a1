"""Rosters between workspace ids and names keep the members a change did not touch as the very
objects that were loaded (``service/roster_naming.py``)."""

from __future__ import annotations

from seatledger.domain.seats import Member, MemberStatus, RoleGrant, Roster
from seatledger.service.ports import StoredRoster
from seatledger.service.roster_naming import ByIdRoster, named

ADMIN = frozenset({RoleGrant("admin")})
IDS = {"ws_1": "main"}


def stored_roster() -> StoredRoster:
    return StoredRoster(
        Roster(
            (
                Member("ana@x.test", "ws_1", MemberStatus.ACTIVE, ADMIN),
                Member("bob@x.test", "ws_1", MemberStatus.PENDING, ADMIN),
            )
        ),
        {"ana@x.test": "per_a", "bob@x.test": "per_b"},
    )


def test_a_stored_roster_is_named_once_per_naming() -> None:
    stored = stored_roster()
    first = named(stored, IDS)
    assert [(m.email, m.workspace) for m in first.members] == [
        ("ana@x.test", "main"),
        ("bob@x.test", "main"),
    ]
    assert named(stored, IDS) is first
    assert named(stored, {"ws_1": "renamed"}).members[0].workspace == "renamed"


def test_untouched_members_go_back_as_the_stored_objects_and_changed_ones_are_renamed() -> None:
    stored = stored_roster()
    loaded = named(stored, IDS)
    bob = loaded.find("bob@x.test", "main")
    assert bob is not None
    accepted = Member(bob.email, bob.workspace, MemberStatus.ACTIVE, bob.grants)
    cy = Member("cy@x.test", "main", MemberStatus.PENDING, ADMIN)
    changed = loaded.put(accepted).put(cy)

    by_id = ByIdRoster(changed, {"main": "ws_1"}, stored)

    ana, bob_by_id, cy_by_id = by_id.roster.members
    assert ana is stored.roster.members[0]
    assert bob_by_id == Member("bob@x.test", "ws_1", MemberStatus.ACTIVE, ADMIN)
    assert cy_by_id == Member("cy@x.test", "ws_1", MemberStatus.PENDING, ADMIN)
    assert by_id.roster == changed.renamed({"main": "ws_1"})


def test_a_roster_not_loaded_from_the_store_is_renamed_whole() -> None:
    roster = Roster((Member("ana@x.test", "main", MemberStatus.ACTIVE, ADMIN),))
    by_id = ByIdRoster(roster, {"main": "ws_1"}, None)
    assert by_id.roster == roster.renamed({"main": "ws_1"})
    unnamed = ByIdRoster(roster, {"main": "ws_1"}, stored_roster())  # never named: no memo
    assert unnamed.roster == by_id.roster


def test_what_was_saved_is_named_with_the_changes_own_members() -> None:
    stored = stored_roster()
    loaded = named(stored, IDS)
    cy = Member("cy@x.test", "main", MemberStatus.PENDING, ADMIN)
    changed = loaded.put(cy)
    by_id = ByIdRoster(changed, {"main": "ws_1"}, stored)
    # What the store returns: the members it was given, ordered by (workspace, e-mail).
    saved = StoredRoster(Roster(tuple(sorted(by_id.roster.members, key=lambda m: m.email))), {})

    by_id.remember_named(saved)

    again = named(saved, IDS)
    assert again == saved.roster.renamed(IDS)
    assert again.members[2] is cy
    assert again.members[0] is loaded.members[0]


def test_a_saved_roster_with_members_from_elsewhere_is_not_named_in_advance() -> None:
    stored = stored_roster()
    by_id = ByIdRoster(named(stored, IDS), {"main": "ws_1"}, stored)
    other = StoredRoster(Roster((Member("zed@x.test", "ws_1", MemberStatus.ACTIVE, ADMIN),)), {})
    by_id.remember_named(other)
    assert other.renamed == {}
