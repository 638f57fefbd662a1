"""Seat decisions: roster transforms, boundary crossing, batches, free places, required roles and
ownership, refusals of bad requests, as worked examples from the seeds.

Tables are ``{id: row}``; rosters and actions are written as short strings (see conftest and
``_apply``) so each example reads on one line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from seatledger.domain.decisions import (
    accept_invite,
    admit_batch,
    assign_role,
    check_seat_limit,
    deactivate_member,
    delete_member,
    expire_grants,
    invite_members,
    reactivate_member,
    remove_role,
    transfer_ownership,
)
from seatledger.domain.errors import (
    Conflict,
    FreeAllowanceReached,
    InvalidInput,
    NotFound,
    RequiredRole,
    SeatLedgerError,
    SeatLimitReached,
)
from seatledger.domain.policy import Policy
from seatledger.domain.seats import (
    Member,
    MemberStatus,
    RoleGrant,
    Roster,
    SeatUsage,
    seat_holders,
    seat_usage,
)

AT = datetime(2026, 4, 1, tzinfo=UTC)
FULL = (
    "No seats available. You're using all {0} of your {0} seats. "
    "Upgrade your plan or remove a team member to free a seat."
)

PolicyOf = Callable[..., Policy]
RosterOf = Callable[..., Roster]


def table(rows: Mapping[str, Sequence[Any]]) -> list[Any]:
    """``pytest.param`` rows from ``{id: row}``."""
    return [pytest.param(*row, id=name) for name, row in rows.items()]


def _email(name: str) -> str:
    return name if "@" in name else f"{name}@x.test"


def _apply(action: str, roster: Roster, policy: Policy) -> Roster:
    """One action written ``"<verb> <name>[/<workspace>] [<role>[:<scope>] | <heir>]"``:
    ``"assign ana participant:p2"``, ``"delete ana/w2"``, ``"transfer ana bob"``."""
    verb, who, *rest = action.split()
    name, _, workspace = who.partition("/")
    ws, email = workspace or "main", _email(name)
    role, _, scope_text = (rest or [""])[0].partition(":")
    scope = scope_text or None
    if verb == "invite":
        return invite_members(
            roster, policy, workspace=ws, emails=[email], role=role, scope=scope, at=AT
        )
    if verb == "assign":
        return assign_role(roster, policy, workspace=ws, email=email, role=role, scope=scope, at=AT)
    if verb == "remove":
        return remove_role(roster, policy, workspace=ws, email=email, role=role, scope=scope)
    if verb == "transfer":
        return transfer_ownership(
            roster, policy, workspace=ws, from_email=email, to_email=_email(role)
        )
    if verb == "accept":
        return accept_invite(roster, workspace=ws, email=email)
    verbs = {
        "deactivate": deactivate_member,
        "reactivate": reactivate_member,
        "delete": delete_member,
    }
    return verbs[verb](roster, policy, workspace=ws, email=email)


def _used(roster: Roster, policy: Policy) -> int:
    return len(seat_holders(roster, policy, AT))


def _many(template: str, count: int) -> str:
    return "; ".join(template.format(i) for i in range(count))


# --- boundary crossing ---------------------------------------------------------------------------

CROSSINGS = {
    # upcoach's list, word for word
    "upcoach: participant role for a facilitator elsewhere: no change": (
        "upcoach", "ana active program_facilitator:p1", "assign ana participant:p2", 0),
    "upcoach: promoting a participant to facilitator: +1": (
        "upcoach", "ana active participant:p1", "assign ana program_facilitator:p1", 1),
    "upcoach: removing the last seat role, leaving participant: -1": (
        "upcoach", "ana active program_facilitator:p1 participant:p2",
        "remove ana program_facilitator:p1", -1),
    "upcoach: deactivating a user with seat roles: -1": (
        "upcoach", "ana active program_facilitator:p1 participant:p2", "deactivate ana", -1),
    # around the list
    "removing one of two seat roles: no change": (
        "upcoach", "ana active program_facilitator:p1 program_admin:p2",
        "remove ana program_facilitator:p1", 0),
    "a second seat role: no change": (
        "upcoach", "ana active admin", "assign ana program_sponsor:p1", 0),
    "reactivating: +1": ("upcoach", "ana deactivated program_facilitator:p1", "reactivate ana", 1),
    "deleting: -1": ("upcoach", "ana active program_facilitator:p1", "delete ana", -1),
    "a seat role in a second workspace of the bundle: no change": (
        "upcoach", "ana active admin", "invite ana/w2 program_facilitator:p1", 0),
    "deleting one of two bundle memberships: no change": (
        "upcoach", "ana active admin; ana/w2 active program_admin", "delete ana/w2", 0),
    "inviting a participant: no change": ("upcoach", "", "invite bob participant:p1", 0),
    "inviting a facilitator: the invite takes the seat: +1": (
        "upcoach", "", "invite bob program_facilitator:p1", 1),
    "accepting a counted invite: no change": (
        "upcoach", "bob pending program_facilitator:p1", "accept bob", 0),
    "withdrawing a counted invite: -1": (
        "upcoach", "bob pending program_facilitator:p1", "delete bob", -1),
    "pending not counted: inviting waits": (
        "upcoach count_pending_invites=false", "", "invite bob program_facilitator:p1", 0),
    "pending not counted: accepting takes the seat: +1": (
        "upcoach count_pending_invites=false", "bob pending program_facilitator:p1",
        "accept bob", 1),
    "plaky: a pending member invite uses a seat": ("plaky", "", "invite bob member", 1),
    "plaky: a viewer invite uses no seat": ("plaky", "ana active owner", "invite bob viewer", 0),
    "plaky: making a viewer a member: +1": ("plaky", "bob active viewer", "assign bob member", 1),
    "reviewer: demoting a reviewer to member frees the seat": (
        "reviewer-pro", "bob active reviewer member", "remove bob reviewer", -1),
    "voltasis: deactivating frees the seat": (
        "voltasis", "bob active employee", "deactivate bob", -1),
    "deactivated members still counted: no change": (
        "voltasis count_deactivated=true", "bob active employee", "deactivate bob", 0),
    "rallly: ownership moves between seat holders: no change": (
        "rallly", "ana active owner; bob active member", "transfer ana bob", 0),
    "reviewer: the admin role moves to a member, the former admin is a member: no change": (
        "reviewer-pro", "ana active admin; bob active member", "transfer ana bob", 0),
    "plaky: ownership to a viewer while the owner stays admin: +1": (
        "plaky", "ana active owner admin; bob active viewer", "transfer ana bob", 1),
}  # fmt: skip


@pytest.mark.parametrize(("preset", "lines", "action", "delta"), table(CROSSINGS))
def test_boundary_crossing(
    seed_policy: PolicyOf, roster_of: RosterOf, preset: str, lines: str, action: str, delta: int
) -> None:
    """The count moves only when someone crosses the billable boundary, and with every seat taken
    only a crossing into it is refused."""
    policy, before = seed_policy(preset), roster_of(lines)
    after = _apply(action, before, policy)
    used = _used(before, policy)
    assert _used(after, policy) - used == delta
    if delta > 0:
        with pytest.raises(SeatLimitReached) as refused:
            check_seat_limit(before, after, policy, used, AT)
        assert refused.value.fields() == {"used": used, "total": used, "requested": delta}
    else:
        check_seat_limit(before, after, policy, used, AT)


def test_a_promotion_at_the_limit_is_refused_with_the_seed_message(
    seed_policy: PolicyOf, roster_of: RosterOf
) -> None:
    policy = seed_policy("upcoach")
    before = roster_of(_many("f{} active program_facilitator:p1", 9), "ana active participant:p1")
    after = _apply("assign ana program_facilitator:p1", before, policy)
    with pytest.raises(SeatLimitReached) as refused:
        check_seat_limit(before, after, policy, 9, AT)
    assert (refused.value.code, refused.value.message) == ("seat_limit_reached", FULL.format(9))


def test_a_change_that_moves_nobody_in_passes_even_above_the_limit(
    seed_policy: PolicyOf, roster_of: RosterOf
) -> None:
    """12 seat holders on 10 seats (the count was lowered at period end): leaving and swapping
    still work, one more seat holder does not."""
    policy = seed_policy("rallly")
    before = roster_of("ana active owner", _many("m{} active member", 11))
    check_seat_limit(before, _apply("delete m0", before, policy), policy, 10, AT)
    check_seat_limit(before, _apply("transfer ana m1", before, policy), policy, 10, AT)
    with pytest.raises(SeatLimitReached) as refused:
        check_seat_limit(before, _apply("invite zoe member", before, policy), policy, 10, AT)
    assert refused.value.fields() == {"used": 12, "total": 10, "requested": 1}


def test_reactivation_is_subject_to_the_seats_available_then(
    seed_policy: PolicyOf, roster_of: RosterOf
) -> None:
    policy = seed_policy("upcoach")
    before = roster_of("ana deactivated admin; bob active admin")
    after = _apply("reactivate ana", before, policy)
    check_seat_limit(before, after, policy, 2, AT)
    with pytest.raises(SeatLimitReached):
        check_seat_limit(before, after, policy, 1, AT)


@pytest.mark.parametrize(
    ("preset", "people", "refused_total"),
    table({
        "voltasis: seats follow usage, no limit": ("voltasis", 50, None),
        "automatic up to max_seats": ("voltasis max_seats=3", 3, None),
        "automatic past max_seats is refused": ("voltasis max_seats=3", 4, 3),
    }),
)  # fmt: skip
def test_automatic_mode_is_limited_by_max_seats_only(
    seed_policy: PolicyOf, preset: str, people: int, refused_total: int | None
) -> None:
    policy = seed_policy(preset)
    emails = [f"p{i}@x.test" for i in range(people)]
    after = invite_members(
        Roster(), policy, workspace="main", emails=emails, role="employee", at=AT
    )
    if refused_total is None:
        check_seat_limit(Roster(), after, policy, 1, AT)
    else:
        with pytest.raises(SeatLimitReached) as refused:
            check_seat_limit(Roster(), after, policy, 1, AT)
        assert refused.value.fields() == {"used": 0, "total": refused_total, "requested": people}


# --- Plaky's free viewers ------------------------------------------------------------------------


def _plaky(roster_of: RosterOf, members: int, viewers: int) -> Roster:
    return roster_of(_many("m{} active member", members), _many("v{} active viewer", viewers))


def test_ten_paid_seats_allow_fifty_viewers_and_refuse_the_fifty_first(
    seed_policy: PolicyOf, roster_of: RosterOf
) -> None:
    policy = seed_policy("plaky")
    before = _plaky(roster_of, 10, 49)
    fiftieth = _apply("invite v49 viewer", before, policy)
    check_seat_limit(before, fiftieth, policy, 10, AT)
    assert seat_usage(fiftieth, policy, 10, AT) == SeatUsage(10, 10, 50, 50)
    with pytest.raises(FreeAllowanceReached) as refused:
        check_seat_limit(fiftieth, _apply("invite v50 viewer", fiftieth, policy), policy, 10, AT)
    assert refused.value.code == "free_allowance_reached"
    assert refused.value.fields() == {"role": "viewer", "used": 50, "allowed": 50, "requested": 1}


def test_with_every_seat_taken_only_viewers_can_be_invited(
    seed_policy: PolicyOf, roster_of: RosterOf
) -> None:
    policy = seed_policy("plaky")
    before = _plaky(roster_of, 10, 3)
    check_seat_limit(before, _apply("invite zoe viewer", before, policy), policy, 10, AT)
    with pytest.raises(SeatLimitReached):
        check_seat_limit(before, _apply("invite zoe member", before, policy), policy, 10, AT)


def test_a_viewer_promoted_to_member_gives_back_the_free_place_with_the_viewer_role(
    seed_policy: PolicyOf, roster_of: RosterOf
) -> None:
    """A seated person's viewer grant keeps its place (the seat may go again by itself), so the
    free place comes back when the viewer role goes, not when the seat comes."""
    policy = seed_policy("plaky")
    before = _plaky(roster_of, 1, 5)
    promoted = _apply("assign v0 member", before, policy)
    check_seat_limit(before, promoted, policy, 2, AT)
    assert seat_usage(promoted, policy, 2, AT) == SeatUsage(2, 2, 5, 10)
    member_only = _apply("remove v0 viewer", promoted, policy)
    check_seat_limit(promoted, member_only, policy, 2, AT)
    assert seat_usage(member_only, policy, 2, AT) == SeatUsage(2, 2, 4, 10)


def test_in_automatic_mode_the_free_allowance_follows_usage(
    seed_policy: PolicyOf, roster_of: RosterOf
) -> None:
    """Seats rise with usage, so two members bring ten viewer places even with one seat on
    record."""
    policy = seed_policy('plaky seat_mode="automatic"')
    before = _plaky(roster_of, 2, 9)
    tenth = _apply("invite v9 viewer", before, policy)
    check_seat_limit(before, tenth, policy, 1, AT)
    with pytest.raises(FreeAllowanceReached) as refused:
        check_seat_limit(tenth, _apply("invite v10 viewer", tenth, policy), policy, 1, AT)
    assert refused.value.fields()["allowed"] == 10


# --- batches -------------------------------------------------------------------------------------


def _new(count: int) -> list[str]:
    return [f"new{i}@x.test" for i in range(count)]


@pytest.mark.parametrize(
    ("used", "message"),
    table({
        "upcoach: twenty invites with every seat taken": (20, FULL.format(20)),
        "upcoach: nineteen fit, the twentieth would pass the limit": (
            1,
            "No seats available. You're using 1 of your 20 seats and this needs 20 more. "
            "Upgrade your plan or remove a team member to free a seat.",
        ),
    }),
)  # fmt: skip
def test_an_atomic_batch_that_would_pass_the_limit_is_refused_whole(
    seed_policy: PolicyOf, roster_of: RosterOf, used: int, message: str
) -> None:
    roster = roster_of(_many("f{} active program_facilitator:p1", used))
    with pytest.raises(SeatLimitReached) as refused:
        admit_batch(
            roster,
            seed_policy("upcoach"),
            workspace="main",
            emails=_new(20),
            role="program_facilitator",
            scope="p1",
            seats_total=20,
            at=AT,
        )
    assert refused.value.message == message
    assert refused.value.fields() == {"used": used, "total": 20, "requested": 20}


def test_an_atomic_batch_that_fits_is_admitted_whole(
    seed_policy: PolicyOf, roster_of: RosterOf
) -> None:
    policy = seed_policy("upcoach")
    outcome = admit_batch(
        roster_of("f0 active program_facilitator:p1"),
        policy,
        workspace="main",
        emails=_new(19),
        role="program_facilitator",
        seats_total=20,
        at=AT,
    )
    assert (outcome.admitted, outcome.refused) == (tuple(_new(19)), ())
    assert _used(outcome.roster, policy) == 20


@pytest.mark.parametrize(
    ("lines", "asked", "admitted", "refused"),
    table({
        "two of three fit: admitted in order, the rest refused": (
            _many("f{} active admin", 8), "a b c", "a b", "c"),
        "a free-role member crossing in is refused like a new person": (
            _many("f{} active admin", 9) + "; ana active participant:p1", "zoe ana bob", "zoe",
            "ana bob"),
        "a seat holder takes no new seat, even when full": (
            _many("f{} active admin", 10), "f3 bob", "f3", "bob"),
    }),
)  # fmt: skip
def test_a_non_atomic_batch_admits_as_many_as_fit(
    seed_policy: PolicyOf, roster_of: RosterOf, lines: str, asked: str, admitted: str, refused: str
) -> None:
    policy = seed_policy("upcoach batch_atomic=false")
    outcome = admit_batch(
        roster_of(lines),
        policy,
        workspace="main",
        emails=[_email(e) for e in asked.split()],
        role="admin",
        seats_total=10,
        at=AT,
    )
    assert outcome.admitted == tuple(_email(e) for e in admitted.split())
    assert outcome.refused == tuple(_email(e) for e in refused.split())
    assert _used(outcome.roster, policy) == 10


@pytest.mark.parametrize(
    ("preset", "lines", "role", "seats", "error"),
    table({
        "no seat left": ("upcoach", _many("m{} active admin", 10), "admin", 10, SeatLimitReached),
        "no viewer place left": (
            "plaky", "m active admin; " + _many("v{} active viewer", 5), "viewer", 1,
            FreeAllowanceReached),
    }),
)  # fmt: skip
def test_a_non_atomic_batch_of_which_none_fits_is_refused(
    seed_policy: PolicyOf,
    roster_of: RosterOf,
    preset: str,
    lines: str,
    role: str,
    seats: int,
    error: type[SeatLedgerError],
) -> None:
    """Raised, not returned empty: a batch of one is refused the same atomic or not."""
    with pytest.raises(error) as refused:
        admit_batch(
            roster_of(lines),
            seed_policy(f"{preset} batch_atomic=false"),
            workspace="main",
            emails=_new(3),
            role=role,
            seats_total=seats,
            at=AT,
        )
    assert refused.value.fields()["requested"] == 1


def test_a_batch_is_normalized_and_deduplicated(seed_policy: PolicyOf) -> None:
    outcome = admit_batch(
        Roster(),
        seed_policy("plaky"),
        workspace="main",
        emails=["Ana@X.test", " ana@x.test ", "bob@x.test"],
        role="member",
        seats_total=2,
        at=AT,
    )
    assert outcome.admitted == ("ana@x.test", "bob@x.test")
    assert [m.email for m in outcome.roster.members] == ["ana@x.test", "bob@x.test"]


# --- invites, roles and expiry -------------------------------------------------------------------


def test_an_invite_adds_pending_members_and_grants_to_existing_ones(
    seed_policy: PolicyOf, roster_of: RosterOf
) -> None:
    after = invite_members(
        roster_of("ana active admin; bob deactivated participant:p1"),
        seed_policy("upcoach"),
        workspace="main",
        emails=["ana@x.test", "bob@x.test", "cleo@x.test"],
        role="program_sponsor",
        scope="p2",
        at=AT,
    )
    sponsor = RoleGrant("program_sponsor", "p2")
    assert set(after.members) == {
        Member("ana@x.test", "main", MemberStatus.ACTIVE, frozenset({RoleGrant("admin"), sponsor})),
        Member(
            "bob@x.test",
            "main",
            MemberStatus.DEACTIVATED,
            frozenset({RoleGrant("participant", "p1"), sponsor}),
        ),
        Member("cleo@x.test", "main", MemberStatus.PENDING, frozenset({sponsor})),
    }


def _implementation_admin(policy: Policy, at: datetime, roster: Roster | None = None) -> Roster:
    return invite_members(
        roster or Roster(),
        policy,
        workspace="main",
        emails=["imp@x.test"],
        role="implementation_admin",
        at=at,
    )


def test_an_implementation_admin_expires_after_thirty_days(seed_policy: PolicyOf) -> None:
    invited = _implementation_admin(seed_policy("upcoach"), AT)
    ends = datetime(2026, 5, 1, tzinfo=UTC)
    assert invited.members[0].grants == {RoleGrant("implementation_admin", expires_at=ends)}
    last_second = ends - timedelta(seconds=1)
    assert expire_grants(invited, last_second) == invited
    expired = expire_grants(invited, ends)
    assert expired.members == (Member("imp@x.test", "main", MemberStatus.PENDING),)


def test_granting_an_expiring_role_again_restarts_its_clock(seed_policy: PolicyOf) -> None:
    policy = seed_policy("upcoach")
    later = AT + timedelta(days=10)
    roster = _implementation_admin(policy, later, _implementation_admin(policy, AT))
    assert roster.members[0].grants == {
        RoleGrant("implementation_admin", expires_at=later + timedelta(days=30))
    }


def test_expiry_keeps_grants_without_an_end(roster_of: RosterOf) -> None:
    roster = roster_of("ana active owner; bob active member")
    assert expire_grants(roster, AT + timedelta(days=10_000)) == roster


def test_a_member_left_without_roles_stays_a_member(
    seed_policy: PolicyOf, roster_of: RosterOf
) -> None:
    policy = seed_policy("reviewer-pro")
    before = roster_of("ana active admin; bob active reviewer")
    after = _apply("remove bob reviewer", before, policy)
    assert after.find("bob@x.test", "main") == Member("bob@x.test", "main", MemberStatus.ACTIVE)
    assert _used(after, policy) == 1


# --- required roles and ownership ----------------------------------------------------------------

LAST_HOLDERS = {
    "rallly: the only owner cannot drop the owner role": (
        "rallly", "ana active owner", "remove ana owner", "owner"),
    "a pending invitee does not hold the role yet": (
        "rallly", "ana active owner; bob pending owner", "delete ana", "owner"),
    "a deactivated member does not hold the role": (
        "rallly", "ana active owner; bob deactivated owner", "delete ana", "owner"),
    "reviewer: the admin cannot be deactivated": (
        "reviewer-pro", "ana active admin; bob active reviewer", "deactivate ana", "admin"),
    "reviewer: the admin cannot be deleted": (
        "reviewer-free", "ana active admin", "delete ana", "admin"),
    "each workspace of a bundle keeps its own owner": (
        "rallly", "ana active owner; ana/w2 active owner; bob/w2 active member", "delete ana/w2",
        "owner"),
    "a required role beside the owner role is guarded too": (
        "upcoach required_roles=[\"admin\"]", "ana active owner; bob active admin",
        "remove bob admin", "admin"),
}  # fmt: skip


@pytest.mark.parametrize(("preset", "lines", "action", "role"), table(LAST_HOLDERS))
def test_the_last_holder_of_a_required_role_cannot_leave_it(
    seed_policy: PolicyOf, roster_of: RosterOf, preset: str, lines: str, action: str, role: str
) -> None:
    with pytest.raises(RequiredRole) as refused:
        _apply(action, roster_of(lines), seed_policy(preset))
    assert (refused.value.code, refused.value.fields()) == ("required_role", {"role": role})
    assert refused.value.message == (
        f"The {role} role must always have a holder: transfer it to someone else first."
    )


@pytest.mark.parametrize(
    ("lines", "action"),
    table({
        "another active owner remains": ("ana active owner; bob active owner", "remove ana owner"),
        "a workspace that never had an owner is not frozen": (
            "ana active owner; bob/w2 active member", "delete bob/w2"),
        "other roles of the owner come and go": ("ana active owner member", "remove ana member"),
    }),
)  # fmt: skip
def test_required_roles_allow_changes_that_keep_a_holder(
    seed_policy: PolicyOf, roster_of: RosterOf, lines: str, action: str
) -> None:
    before = roster_of(lines)
    assert _apply(action, before, seed_policy("rallly")) != before


def test_an_expired_grant_holds_no_required_role_when_the_instant_is_given(
    seed_policy: PolicyOf,
) -> None:
    policy = seed_policy("rallly")
    owner = Member("ana@x.test", "main", MemberStatus.ACTIVE, frozenset({RoleGrant("owner")}))
    lapsed = RoleGrant("owner", expires_at=AT)
    roster = Roster((owner, Member("bob@x.test", "main", MemberStatus.ACTIVE, frozenset({lapsed}))))
    ana: dict[str, Any] = {"workspace": "main", "email": "ana@x.test"}
    with pytest.raises(RequiredRole):
        remove_role(roster, policy, **ana, role="owner", at=AT)
    with pytest.raises(RequiredRole):
        deactivate_member(roster, policy, **ana, at=AT)
    with pytest.raises(RequiredRole):
        delete_member(roster, policy, **ana, at=AT)
    still_live = AT - timedelta(seconds=1)
    after = remove_role(roster, policy, **ana, role="owner", at=still_live)
    assert after.find("ana@x.test", "main") == Member("ana@x.test", "main", MemberStatus.ACTIVE)


TRANSFERS = {
    "rallly: the former owner becomes a member": (
        "rallly", "ana active owner; bob active member", "member", "owner member"),
    "the former owner keeps their other roles": (
        "plaky", "ana active owner admin; bob active viewer", "admin", "owner viewer"),
    "no member role: the first free role": (
        "upcoach", "ana active owner; bob active participant:p1", "participant",
        "owner participant"),
    "no member role and no free role: no role": (
        "voltasis", "ana active owner; bob active employee", "", "owner employee"),
    "reviewer: the admin role moves to a member": (
        "reviewer-pro", "ana active admin; bob active member", "member", "admin member"),
}  # fmt: skip


@pytest.mark.parametrize(("preset", "lines", "former", "heir"), table(TRANSFERS))
def test_transfer_ownership_moves_the_owner_role(
    seed_policy: PolicyOf, roster_of: RosterOf, preset: str, lines: str, former: str, heir: str
) -> None:
    after = _apply("transfer ana bob", roster_of(lines), seed_policy(preset))
    roles = {m.email: m.roles_at(AT) for m in after.members}
    assert roles == {"ana@x.test": set(former.split()), "bob@x.test": set(heir.split())}


def test_the_new_owner_still_needs_a_seat(seed_policy: PolicyOf, roster_of: RosterOf) -> None:
    policy = seed_policy("plaky")
    before = roster_of("ana active owner admin; bob active viewer")
    with pytest.raises(SeatLimitReached):
        check_seat_limit(before, _apply("transfer ana bob", before, policy), policy, 1, AT)


def test_reviewer_free_keeps_its_one_seat_through_a_transfer(
    seed_policy: PolicyOf, roster_of: RosterOf
) -> None:
    policy = seed_policy("reviewer-free")
    before = roster_of("ana active admin; bob active member")
    check_seat_limit(before, _apply("transfer ana bob", before, policy), policy, 1, AT)
    with pytest.raises(SeatLimitReached):
        check_seat_limit(before, _apply("assign bob reviewer", before, policy), policy, 1, AT)


# --- refusals of bad requests --------------------------------------------------------------------

NAIVE = datetime(2026, 4, 1)  # noqa: DTZ001 - a naive instant is what these rows refuse
Call = Callable[[Roster, Policy], object]


def _invite(**given: Any) -> Call:
    args: dict[str, Any] = {"workspace": "main", "emails": ["zoe@x.test"], "role": "member"}
    return lambda r, p: invite_members(r, p, **({"at": AT} | args | given))


def _on(function: Callable[..., Roster], name: str, **given: Any) -> Call:
    return lambda r, p: function(r, p, **({"workspace": "main", "email": _email(name)} | given))


def _transfer(to_email: str) -> Call:
    return lambda r, p: transfer_ownership(
        r, p, workspace="main", from_email="ana@x.test", to_email=to_email
    )


REFUSALS = {
    "an unknown role": (_invite(role="boss"), InvalidInput, {"field": "role"}),
    "role names are exact": (_invite(role="Member"), InvalidInput, {"field": "role"}),
    "a bad e-mail": (_invite(emails=["not-an-email"]), InvalidInput, {"field": "email"}),
    "an empty batch": (_invite(emails=[]), InvalidInput, {"field": "emails"}),
    "one string, not a list": (_invite(emails="zoe@x.test"), InvalidInput, {"field": "emails"}),
    "a blank workspace": (_invite(workspace=" "), InvalidInput, {"field": "workspace"}),
    "a blank scope": (_invite(scope=""), InvalidInput, {"field": "scope"}),
    "a naive instant": (_invite(at=NAIVE), InvalidInput, {"field": "at"}),
    "assigning to an unknown member": (
        _on(assign_role, "zoe", role="member", at=AT), NotFound,
        {"kind": "member", "key": "zoe@x.test"}),
    "a member of another workspace": (
        _on(assign_role, "bob", workspace="w2", role="member", at=AT), NotFound,
        {"kind": "member", "key": "bob@x.test"}),
    "removing a role not held": (
        _on(remove_role, "bob", role="owner"), NotFound,
        {"kind": "role assignment", "key": "bob@x.test: owner"}),
    "removing a role held in another scope": (
        _on(remove_role, "bob", role="member", scope="p1"), NotFound,
        {"kind": "role assignment", "key": "bob@x.test: member in p1"}),
    "a naive instant for a removal": (
        _on(remove_role, "bob", role="member", at=NAIVE), InvalidInput, {"field": "at"}),
    "deleting a stranger": (_on(delete_member, "zoe"), NotFound, {"key": "zoe@x.test"}),
    "a transfer to oneself": (_transfer("ANA@x.test"), InvalidInput, {"field": "to_email"}),
    "a transfer to a stranger": (_transfer("zoe@x.test"), NotFound, {"key": "zoe@x.test"}),
    "a negative seat total": (
        lambda r, p: check_seat_limit(r, r, p, -1, AT), InvalidInput, {"field": "seats_total"}),
    "expiry at a naive instant": (
        lambda r, p: expire_grants(r, NAIVE), InvalidInput, {"field": "at"}),
}  # fmt: skip


@pytest.mark.parametrize(("call", "error", "fields"), table(REFUSALS))
def test_bad_requests_are_refused_naming_the_field(
    seed_policy: PolicyOf,
    roster_of: RosterOf,
    call: Call,
    error: type[SeatLedgerError],
    fields: dict[str, object],
) -> None:
    roster = roster_of("ana active owner; bob active member; cleo pending member")
    with pytest.raises(error) as refused:
        call(roster, seed_policy("rallly"))
    assert fields.items() <= refused.value.fields().items()


CONFLICTS = {
    "accepting twice": (
        "bob active member", "accept bob",
        "bob@x.test has no pending invite to main: the membership is active."),
    "deactivating an invite": (
        "bob pending member", "deactivate bob",
        "bob@x.test is pending: only an active member is deactivated."),
    "reactivating an active member": (
        "bob active member", "reactivate bob",
        "bob@x.test is active: only a deactivated member is reactivated."),
    "a transfer from a non-owner": (
        "ana active member; bob active member", "transfer ana bob",
        "ana@x.test does not hold the owner role in main."),
    "a transfer to an invitee": (
        "ana active owner; bob pending member", "transfer ana bob",
        "bob@x.test is pending: ownership goes only to an active member."),
}  # fmt: skip


@pytest.mark.parametrize(("lines", "action", "message"), table(CONFLICTS))
def test_conflicting_status_changes_are_refused(
    seed_policy: PolicyOf, roster_of: RosterOf, lines: str, action: str, message: str
) -> None:
    with pytest.raises(Conflict) as refused:
        _apply(action, roster_of(lines), seed_policy("rallly"))
    assert (refused.value.code, refused.value.message) == ("conflict", message)
