"""Seat counting: who occupies a seat, who takes a free place, the usage they add up to; which
seat counts a plan and its members allow, and who may change them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from seatledger.domain.decisions import Action as DecisionsAction
from seatledger.domain.decisions import check_seat_count
from seatledger.domain.errors import NotPermitted, SeatLedgerError
from seatledger.domain.permissions import Action, allowed_roles, require_permission
from seatledger.domain.policy import Policy
from seatledger.domain.seats import (
    Member,
    MemberStatus,
    RoleGrant,
    Roster,
    SeatUsage,
    free_role_holders,
    seat_holders,
    seat_usage,
    status_counts,
)

AT = datetime(2026, 4, 1, tzinfo=UTC)

PolicyOf = Callable[..., Policy]
RosterOf = Callable[..., Roster]


@pytest.mark.parametrize(
    ("preset", "lines", "holders"),
    [
        pytest.param(
            "upcoach",
            [
                "ana active admin program_facilitator:p1 program_facilitator:p2 "
                "program_facilitator:p3 participant:p4 participant:p5",
            ],
            {"ana"},
            id="upcoach: admin, facilitator in three programs, participant in two = one seat",
        ),
        pytest.param(
            "upcoach",
            ["ana active participant:p1 participant:p2", "bob active implementation_admin"],
            set(),
            id="upcoach: participants and implementation admins use no seat",
        ),
        pytest.param(
            "plaky",
            ["ana active admin", "ana/clockify active member", "ana/pumble active admin"],
            {"ana"},
            id="plaky bundle: one e-mail occupies one seat across the three apps",
        ),
        pytest.param(
            "plaky",
            ["ana active admin", "bob active member", "cleo active viewer"],
            {"ana", "bob"},
            id="plaky: admins and members use seats, viewers do not",
        ),
        pytest.param(
            "reviewer-pro",
            ["ana active admin", "bob active reviewer", "cleo active member"],
            {"ana", "bob"},
            id="reviewer: only admin and reviewers are billed, members are free",
        ),
        pytest.param(
            "voltasis",
            ["ana active owner", "bob active contractor", "cleo deactivated employee"],
            {"ana", "bob"},
            id="voltasis: every active member is a seat, deactivated ones are not",
        ),
        pytest.param(
            "rallly",
            ["ana active owner", "bob active"],
            {"ana"},
            id="a member left with no role uses no seat",
        ),
    ],
)
def test_seat_holders_count_persons(
    seed_policy: PolicyOf, roster_of: RosterOf, preset: str, lines: list[str], holders: set[str]
) -> None:
    roster = roster_of(*lines)
    assert seat_holders(roster, seed_policy(preset), AT) == {f"{h}@x.test" for h in holders}


def test_seat_holders_asked_again_answer_for_the_roster_policy_and_instant_asked(
    seed_policy: PolicyOf, roster_of: RosterOf
) -> None:
    """Regression guard for the memo of ``seat_holders``: a second question about another roster,
    another policy or another instant must not get an earlier one's answer."""
    policy = seed_policy("rallly")
    expiring = Roster(
        (
            Member(
                "ana@x.test",
                "main",
                MemberStatus.ACTIVE,
                frozenset({RoleGrant("member", expires_at=AT + timedelta(days=1))}),
            ),
        )
    )
    later = AT + timedelta(days=2)

    assert seat_holders(expiring, policy, AT) == {"ana@x.test"}
    assert seat_holders(expiring, policy, AT) == {"ana@x.test"}
    assert seat_holders(expiring, policy, later) == set()
    assert seat_holders(roster_of("bob active member"), policy, later) == {"bob@x.test"}
    # An equal roster built anew, and a policy that bills nobody: answered afresh.
    assert seat_holders(roster_of("bob active member"), seed_policy("reviewer-pro"), later) == set()


def test_members_sharing_a_grant_set_are_each_judged_by_their_own_status(
    seed_policy: PolicyOf,
) -> None:
    """The store builds each distinct grant set once, and ``seat_holders`` judges a shared set
    once: every member holding it still counts, or not, by their own status."""
    policy = seed_policy("reviewer-pro")  # pending invites hold a seat; deactivated members do not
    billable = frozenset({RoleGrant("reviewer")})
    free = frozenset({RoleGrant("member")})
    roster = Roster(
        tuple(
            Member(f"{name}@x.test", "main", status, grants)
            for name, status, grants in [
                ("ana", MemberStatus.ACTIVE, billable),
                ("bob", MemberStatus.PENDING, billable),
                ("cy", MemberStatus.DEACTIVATED, billable),
                ("dan", MemberStatus.ACTIVE, free),
                ("eve", MemberStatus.ACTIVE, free),
            ]
        )
    )

    assert seat_holders(roster, policy, AT) == {"ana@x.test", "bob@x.test"}


def test_seat_holders_asked_at_many_instants_answer_as_a_fresh_count(seed_policy: PolicyOf) -> None:
    """Regression guard for the memo's validity window: an answer is reused only between two
    expiries of the roster's billable grants, so asking the same roster at instants in any order,
    on and around each expiry, answers what counting afresh does."""
    policy = seed_policy("reviewer-pro")
    day = timedelta(days=1)
    roster = Roster(
        (
            Member("ana@x.test", "main", MemberStatus.ACTIVE, frozenset({RoleGrant("reviewer")})),
            Member(
                "bob@x.test",
                "main",
                MemberStatus.ACTIVE,
                frozenset({RoleGrant("reviewer", expires_at=AT + day)}),
            ),
            Member(
                "cy@x.test",
                "main",
                MemberStatus.PENDING,
                frozenset({RoleGrant("reviewer", expires_at=AT + 3 * day)}),
            ),
            Member(
                "dan@x.test",
                "main",
                MemberStatus.ACTIVE,
                frozenset({RoleGrant("member", expires_at=AT + 2 * day)}),
            ),
        )
    )
    instants = [AT + n * day / 2 for n in range(-2, 9)] + [AT + day - timedelta(microseconds=1)]
    for at in [*instants, *reversed(instants), *instants[::3], *instants[1::2]]:
        fresh = seat_holders(Roster(roster.members), policy, at)  # a new roster: counted afresh
        assert seat_holders(roster, policy, at) == fresh, at
    assert seat_holders(roster, policy, AT) == {"ana@x.test", "bob@x.test", "cy@x.test"}
    assert seat_holders(roster, policy, AT + day) == {"ana@x.test", "cy@x.test"}
    assert seat_holders(roster, policy, AT + 3 * day) == {"ana@x.test"}


def test_a_roster_renamed_keeps_every_member_under_the_new_workspace_name() -> None:
    grants = frozenset({RoleGrant("admin"), RoleGrant("viewer", "p1")})
    roster = Roster(
        (
            Member("ana@x.test", "ws_1", MemberStatus.ACTIVE, grants),
            Member("bob@x.test", "ws_2", MemberStatus.PENDING),
        )
    )

    renamed = roster.renamed({"ws_1": "team", "ws_2": "studio", "ws_3": "unused"})

    assert renamed == Roster(
        (
            Member("ana@x.test", "team", MemberStatus.ACTIVE, grants),
            Member("bob@x.test", "studio", MemberStatus.PENDING),
        )
    )
    assert renamed.renamed({"team": "ws_1", "studio": "ws_2"}) == roster


def test_separate_subscriptions_count_the_same_person_once_each(
    seed_policy: PolicyOf, roster_of: RosterOf
) -> None:
    """Plaky: a person in two workspaces with separate plans occupies one seat in each."""
    plaky, pumble = roster_of("ana active admin"), roster_of("ana/pumble active admin")
    policy = seed_policy("plaky")
    assert len(seat_holders(plaky, policy, AT)) == 1
    assert len(seat_holders(pumble, policy, AT)) == 1


@pytest.mark.parametrize(
    ("status", "count_pending", "count_deactivated", "counts"),
    [
        pytest.param("active", False, False, True, id="active always counts"),
        pytest.param("active", True, True, True, id="active counts whatever the flags"),
        pytest.param("pending", True, False, True, id="plaky: a pending invite uses a seat"),
        pytest.param("pending", False, False, False, id="a pending invite waits for acceptance"),
        pytest.param("deactivated", False, False, False, id="upcoach: deactivating frees"),
        pytest.param("deactivated", False, True, True, id="deactivated still counted"),
        pytest.param("deactivated", True, False, False, id="pending flag leaves deactivated"),
    ],
)
def test_status_counts_per_policy(
    seed_policy: PolicyOf,
    roster_of: RosterOf,
    status: str,
    count_pending: bool,
    count_deactivated: bool,
    counts: bool,
) -> None:
    policy = seed_policy(
        "upcoach", count_pending_invites=count_pending, count_deactivated=count_deactivated
    )
    assert status_counts(MemberStatus(status), policy) is counts
    holders = seat_holders(roster_of(f"ana {status} admin"), policy, AT)
    assert holders == ({"ana@x.test"} if counts else set())


@pytest.mark.parametrize(
    ("offset", "counts"),
    [
        pytest.param(timedelta(seconds=-1), True, id="one second before expiry: counts"),
        pytest.param(timedelta(0), False, id="at expiry: no longer counts (half-open)"),
        pytest.param(timedelta(days=1), False, id="a day after expiry: does not count"),
    ],
)
def test_an_expiring_billable_grant_counts_until_its_end(
    seed_policy: PolicyOf, offset: timedelta, counts: bool
) -> None:
    ends = AT + timedelta(days=30)
    grant = RoleGrant("program_admin", "p1", expires_at=ends)
    roster = Roster((Member("ana@x.test", "main", MemberStatus.ACTIVE, frozenset({grant})),))
    holders = seat_holders(roster, seed_policy("upcoach"), ends + offset)
    assert holders == ({"ana@x.test"} if counts else set())


@pytest.mark.parametrize(
    ("lines", "free"),
    [
        pytest.param(["ana active viewer", "bob pending viewer"], {"ana", "bob"}, id="viewers"),
        pytest.param(
            ["ana active admin", "ana/clockify active viewer"],
            {"ana"},
            id="a viewer who holds a seat elsewhere still takes a free place",
        ),
        pytest.param(
            ["ana active admin viewer"],
            {"ana"},
            id="a viewer who holds a seat still takes a free place (the seat may expire)",
        ),
        pytest.param(["ana deactivated viewer"], set(), id="a deactivated viewer is not counted"),
        pytest.param(["ana active member"], set(), id="a member is not a free-role holder"),
        pytest.param(
            ["ana active viewer", "ana/clockify active viewer"],
            {"ana"},
            id="one person takes one free place across the bundle",
        ),
    ],
)
def test_free_role_holders(
    seed_policy: PolicyOf, roster_of: RosterOf, lines: list[str], free: set[str]
) -> None:
    holders = free_role_holders(roster_of(*lines), seed_policy("plaky"), AT)
    assert holders == {f"{f}@x.test" for f in free}


def test_free_role_holders_ignore_expired_grants(seed_policy: PolicyOf) -> None:
    grant = RoleGrant("viewer", expires_at=AT)
    roster = Roster((Member("ana@x.test", "main", MemberStatus.ACTIVE, frozenset({grant})),))
    policy = seed_policy("plaky")
    assert free_role_holders(roster, policy, AT - timedelta(seconds=1)) == {"ana@x.test"}
    assert free_role_holders(roster, policy, AT) == frozenset()


def test_no_free_allowance_means_no_free_role_holders(
    seed_policy: PolicyOf, roster_of: RosterOf
) -> None:
    """upcoach's Participants are unlimited: they are not counted against anything."""
    roster = roster_of("ana active participant")
    assert free_role_holders(roster, seed_policy("upcoach"), AT) == frozenset()


def _plaky_roster(roster_of: RosterOf, members: int, viewers: int) -> Roster:
    lines = [f"m{i} active member" for i in range(members)]
    lines += [f"v{i} active viewer" for i in range(viewers)]
    return roster_of(*lines)


@pytest.mark.parametrize(
    ("seats", "members", "viewers", "usage", "available", "free_available"),
    [
        pytest.param(10, 3, 12, SeatUsage(10, 3, 12, 50), 7, 38, id="plaky: 10 seats, 50 viewers"),
        pytest.param(10, 10, 50, SeatUsage(10, 10, 50, 50), 0, 0, id="plaky: everything used"),
        pytest.param(2, 3, 11, SeatUsage(2, 3, 11, 10), 0, 0, id="over-use clamps at zero"),
    ],
)
def test_seat_usage_with_free_allowance(
    seed_policy: PolicyOf,
    roster_of: RosterOf,
    seats: int,
    members: int,
    viewers: int,
    usage: SeatUsage,
    available: int,
    free_available: int,
) -> None:
    roster = _plaky_roster(roster_of, members, viewers)
    result = seat_usage(roster, seed_policy("plaky"), seats, AT)
    assert result == usage
    assert (result.available, result.free_available) == (available, free_available)


def test_seat_usage_without_free_allowance(seed_policy: PolicyOf, roster_of: RosterOf) -> None:
    roster = roster_of("ana active owner", "bob active member", "cleo deactivated member")
    result = seat_usage(roster, seed_policy("rallly"), 5, AT)
    assert result == SeatUsage(total=5, used=2)
    assert (result.available, result.free_used, result.free_available) == (3, None, None)


# --- seat counts ---------------------------------------------------------------------------------

SEAT_COUNTS = {
    "reviewer free: one seat": ("reviewer-free", SeatUsage(1, 1), 1, None),
    "reviewer free: max 1 seat": (
        "reviewer-free", SeatUsage(1, 1), 2,
        "You cannot have 2 seats: this plan's maximum is 1. Upgrade your plan for more."),
    "reviewer pro: the minimum 2 is allowed": ("reviewer-pro", SeatUsage(3, 1), 2, None),
    "reviewer pro: not below 2": (
        "reviewer-pro", SeatUsage(3, 1), 1, "You cannot have 1 seats: this plan's minimum is 2."),
    "rallly: down to the members in use": ("rallly", SeatUsage(5, 4), 4, None),
    "rallly: not below the members in use": (
        "rallly", SeatUsage(5, 4), 3,
        "You cannot reduce seats to 3: 4 seats are in use. Remove members first, then adjust seats."),
    "used seats may be removed when the policy allows": (
        "rallly remove_only_unused=false", SeatUsage(5, 4), 3, None),
    "rallly: no upper limit": ("rallly", SeatUsage(5, 4), 500, None),
    "a negative count": ("rallly", SeatUsage(5, 4), -1, "seats: must be a whole number >= 0, got -1"),
    "a boolean is not a count": (
        "rallly", SeatUsage(5, 4), True, "seats: must be a whole number >= 0, got True"),
    "plaky: 9 seats give 45 places to 42 viewers": ("plaky", SeatUsage(10, 3, 42, 50), 9, None),
    "plaky: 8 seats give 40 places to 42 viewers": (
        "plaky", SeatUsage(10, 3, 42, 50), 8,
        "No free viewer places available. You're using 42 of your 40 free viewer places and this "
        "needs 2 more. Buy a seat to invite more."),
    "plaky: only unused seats can be removed": (
        "plaky", SeatUsage(10, 3, 42, 50), 2,
        "You cannot reduce seats to 2: 3 seats are in use. Remove members first, then adjust seats."),
    "over the allowance, unchanged count: allowed": ("plaky", SeatUsage(5, 3, 42, 25), 5, None),
    "over the allowance, more seats: allowed": ("plaky", SeatUsage(5, 3, 42, 25), 6, None),
    "usage without free counts is not judged on them": ("plaky", SeatUsage(10, 3), 4, None),
}  # fmt: skip


@pytest.mark.parametrize(
    ("preset", "usage", "requested", "message"),
    [pytest.param(*row, id=name) for name, row in SEAT_COUNTS.items()],
)
def test_check_seat_count(
    seed_policy: PolicyOf, preset: str, usage: SeatUsage, requested: int, message: str | None
) -> None:
    policy = seed_policy(preset)
    if message is None:
        check_seat_count(policy, usage, requested)
    else:
        with pytest.raises(SeatLedgerError) as refused:
            check_seat_count(policy, usage, requested)
        assert refused.value.message == message


# --- who may change seats and members ------------------------------------------------------------

PERMISSIONS: dict[str, tuple[str, dict[str, Any], str, Action, str | None]] = {
    "rallly: the owner manages seats": ("rallly", {}, "owner", Action.MANAGE_SEATS, None),
    "rallly: nobody else manages seats": (
        "rallly", {}, "member", Action.MANAGE_SEATS, "Only owner may manage seats and billing."),
    "plaky: every admin manages seats": ("plaky", {}, "admin", Action.MANAGE_SEATS, None),
    "plaky: members and viewers do not": (
        "plaky", {}, "member viewer", Action.MANAGE_SEATS,
        "Only owner, admin may manage seats and billing."),
    "one allowed role among several is enough": (
        "upcoach", {}, "participant admin", Action.MANAGE_MEMBERS, None),
    "rallly: only the owner manages members": (
        "rallly", {}, "member", Action.MANAGE_MEMBERS, "Only owner may manage members."),
    "a policy may let nobody": (
        "rallly", {"seat_managers": []}, "owner", Action.MANAGE_SEATS,
        "Only nobody may manage seats and billing."),
}  # fmt: skip


@pytest.mark.parametrize(
    ("preset", "overrides", "roles", "action", "message"),
    [pytest.param(*row, id=name) for name, row in PERMISSIONS.items()],
)
def test_require_permission(
    seed_policy: PolicyOf,
    preset: str,
    overrides: dict[str, Any],
    roles: str,
    action: Action,
    message: str | None,
) -> None:
    policy = seed_policy(preset, **overrides)
    if message is None:
        require_permission(policy, frozenset(roles.split()), action)
    else:
        with pytest.raises(NotPermitted) as refused:
            require_permission(policy, frozenset(roles.split()), action)
        assert (refused.value.code, refused.value.message) == ("not_permitted", message)
        assert refused.value.fields()["allowed_roles"] == list(allowed_roles(policy, action))


def test_actions_are_stable_strings_and_reachable_from_decisions() -> None:
    assert [a.value for a in Action] == ["manage_seats", "manage_members"]
    assert DecisionsAction is Action
