"""Use cases on people, through bootstrap on SQLite and PostgreSQL: invite a batch, accept, assign
and remove scoped roles, deactivate, reactivate, delete (erasing the person), transfer ownership,
and who may do each. A refusal writes nothing at all: every table is compared before and after."""

from __future__ import annotations

from datetime import timedelta

import pytest
from service_world import OWNER, Subscribed, database_text, dump, grown_by, subscribe

from seatledger.bootstrap import Runtime
from seatledger.clock import ManualClock
from seatledger.domain.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    NotPermitted,
    RequiredRole,
    SeatLedgerError,
    SeatLimitReached,
)
from seatledger.domain.seats import MemberStatus, RoleGrant
from seatledger.service import members, subscriptions
from seatledger.service.gateway import load_state

SEED_MESSAGE = (
    "No seats available. You're using all 3 of your 3 seats. "
    "Upgrade your plan or remove a team member to free a seat."
)


def invite(world: Subscribed, emails: list[str], role: str, scope: str | None = None) -> object:
    return members.invite_members(
        world.runtime, **world.common(), actor=world.owner, emails=emails, role=role, scope=scope
    )


def member(world: Subscribed, email: str, workspace: str = "main") -> tuple[str, set[RoleGrant]]:
    """(status, grants) of a member as stored, or ("absent", set())."""
    with world.runtime.uow() as uow:
        state = load_state(uow, world.account_id, workspace, lock=False)
    found = state.roster.find(email, workspace)
    if found is None:
        return "absent", set()
    return found.status.value, set(found.grants)


def refused_without_writing(world: Subscribed, error: type[SeatLedgerError], call: object) -> str:
    """Run ``call``; it must raise ``error`` and leave every table exactly as it was."""
    assert callable(call)
    before = dump(world.engine)
    with pytest.raises(error) as refusal:
        call()
    assert dump(world.engine) == before
    return refusal.value.message


# --- invite ----------------------------------------------------------------------------------------


def test_an_atomic_batch_past_the_limit_is_refused_whole_with_the_seed_message(
    runtime: Runtime,
) -> None:
    world = subscribe(runtime, "upcoach", seats=3)
    invite(world, ["ana@x.test", "bob@x.test"], "program_facilitator", "p1")
    assert world.used() == 3

    message = refused_without_writing(
        world,
        SeatLimitReached,
        lambda: invite(world, ["cleo@x.test", "dan@x.test"], "program_admin"),
    )

    assert message == SEED_MESSAGE
    # A free role still gets in when every seat is taken: it crosses no boundary.
    invite(world, ["cleo@x.test", "dan@x.test"], "participant", "p1")
    assert (world.used(), member(world, "cleo@x.test")[0]) == (3, "pending")


def test_an_atomic_batch_that_does_not_fit_names_how_many_more_it_needs(runtime: Runtime) -> None:
    world = subscribe(runtime, "upcoach", seats=3)
    batch = [f"p{i}@x.test" for i in range(20)]

    message = refused_without_writing(
        world, SeatLimitReached, lambda: invite(world, batch, "program_facilitator")
    )

    assert message == (
        "No seats available. You're using 1 of your 3 seats and this needs 20 more. "
        "Upgrade your plan or remove a team member to free a seat."
    )


def test_a_non_atomic_batch_admits_people_in_order_while_seats_last(runtime: Runtime) -> None:
    world = subscribe(runtime, "upcoach", seats=3, overrides={"batch_atomic": False})
    before = dump(world.engine)

    result = members.invite_members(
        runtime,
        **world.common(),
        actor=OWNER,
        emails=["Ana@X.test", "bob@x.test", "ana@x.test", "cleo@x.test", "dan@x.test"],
        role="program_facilitator",
        scope="p1",
    )

    assert result.detail == {
        "admitted": ["ana@x.test", "bob@x.test"],
        "refused": ["cleo@x.test", "dan@x.test"],
    }
    assert (result.seats.used, result.seats.available) == (3, 0)
    assert member(world, "ana@x.test") == (
        "pending",
        {RoleGrant("program_facilitator", "p1")},
    )
    assert member(world, "cleo@x.test") == ("absent", set())
    grown = grown_by(before, dump(world.engine))
    assert grown["memberships"] == 2 and grown["persons"] == 2
    assert grown["seat_ledger"] == 1 and grown["audit_log"] == 1
    # The refused addresses are not kept anywhere: they never became people of the account.
    stored = database_text(world.engine)
    assert "cleo@x.test" not in stored and "dan@x.test" not in stored


def test_a_non_atomic_batch_of_which_nobody_fits_is_refused_and_writes_nothing(
    runtime: Runtime,
) -> None:
    world = subscribe(runtime, "upcoach", seats=1, overrides={"batch_atomic": False})
    refused_without_writing(
        world, SeatLimitReached, lambda: invite(world, ["a@x.test", "b@x.test"], "admin")
    )


def test_an_invite_refuses_bad_input_before_anything_is_written(runtime: Runtime) -> None:
    world = subscribe(runtime, "upcoach", seats=3)
    for emails, role in ((["not-an-address"], "admin"), (["a@x.test"], "janitor"), ([], "admin")):
        refused_without_writing(world, InvalidInput, lambda e=emails, r=role: invite(world, e, r))


# --- accept ----------------------------------------------------------------------------------------


def test_accepting_an_invite_activates_it_and_is_subject_to_seats_when_invites_hold_none(
    runtime: Runtime, clock: ManualClock
) -> None:
    world = subscribe(
        runtime, "upcoach", seats=2, overrides={"count_pending_invites": False}
    )  # the owner holds one seat; pending invites hold none
    invite(world, ["ana@x.test", "bob@x.test"], "admin")
    assert world.used() == 1
    clock.advance(timedelta(days=1))

    members.accept_invite(runtime, **world.common(), email="ANA@x.test")

    assert member(world, "ana@x.test")[0] == "active"
    assert world.used() == 2
    message = refused_without_writing(
        world,
        SeatLimitReached,
        lambda: members.accept_invite(runtime, **world.common(), email="bob@x.test"),
    )
    assert "using all 2 of your 2 seats" in message
    refused_without_writing(
        world,
        Conflict,
        lambda: members.accept_invite(runtime, **world.common(), email="ana@x.test"),
    )
    refused_without_writing(
        world,
        NotFound,
        lambda: members.accept_invite(runtime, **world.common(), email="zed@x.test"),
    )


# --- roles -----------------------------------------------------------------------------------------


def test_scoped_roles_move_the_seat_count_only_across_the_boundary(runtime: Runtime) -> None:
    world = subscribe(runtime, "upcoach", seats=2)
    invite(world, ["ana@x.test"], "participant", "p1")
    members.accept_invite(runtime, **world.common(), email="ana@x.test")
    assert world.used() == 1

    def assign(role: str, scope: str | None) -> int:
        members.assign_role(
            runtime, **world.common(), actor=OWNER, email="ana@x.test", role=role, scope=scope
        )
        return world.used()

    def remove(role: str, scope: str | None) -> int:
        members.remove_role(
            runtime, **world.common(), actor=OWNER, email="ana@x.test", role=role, scope=scope
        )
        return world.used()

    assert assign("program_facilitator", "p1") == 2  # crosses in
    assert assign("program_facilitator", "p2") == 2  # one person, one seat
    assert assign("participant", "p3") == 2
    assert remove("program_facilitator", "p1") == 2  # still a facilitator in p2
    refused_without_writing(world, NotFound, lambda: remove("program_facilitator", "p1"))
    refused_without_writing(world, NotFound, lambda: remove("program_facilitator", None))
    assert remove("program_facilitator", "p2") == 1  # crosses out, stays a participant
    assert member(world, "ana@x.test") == (
        "active",
        {RoleGrant("participant", "p1"), RoleGrant("participant", "p3")},
    )


def test_a_promotion_at_the_limit_is_refused_and_the_owner_role_cannot_be_removed(
    runtime: Runtime,
) -> None:
    world = subscribe(runtime, "upcoach", seats=1)
    invite(world, ["ana@x.test"], "participant", "p1")

    message = refused_without_writing(
        world,
        SeatLimitReached,
        lambda: members.assign_role(
            runtime,
            **world.common(),
            actor=OWNER,
            email="ana@x.test",
            role="program_sponsor",
            scope="p1",
        ),
    )

    assert message.startswith("No seats available. You're using all 1 of your 1 seats.")
    refused_without_writing(
        world,
        RequiredRole,
        lambda: members.remove_role(
            runtime, **world.common(), actor=OWNER, email=OWNER, role="owner"
        ),
    )


# --- deactivate, reactivate ------------------------------------------------------------------------


def test_deactivation_frees_the_seat_and_reactivation_needs_one_free_again(
    runtime: Runtime, clock: ManualClock
) -> None:
    world = subscribe(runtime, "upcoach", seats=2)
    invite(world, ["ana@x.test"], "program_facilitator", "p1")
    members.accept_invite(runtime, **world.common(), email="ana@x.test")
    clock.advance(timedelta(days=3))

    members.deactivate_member(runtime, **world.common(), actor=OWNER, email="ana@x.test")

    status, grants = member(world, "ana@x.test")
    assert (status, grants) == ("deactivated", {RoleGrant("program_facilitator", "p1")})
    assert world.used() == 1
    invite(world, ["bob@x.test"], "admin")  # takes the freed seat
    refused_without_writing(
        world,
        SeatLimitReached,
        lambda: members.reactivate_member(
            runtime, **world.common(), actor=OWNER, email="ana@x.test"
        ),
    )
    members.delete_member(runtime, **world.common(), actor=OWNER, email="bob@x.test")

    members.reactivate_member(runtime, **world.common(), actor=OWNER, email="ana@x.test")

    assert member(world, "ana@x.test") == ("active", {RoleGrant("program_facilitator", "p1")})
    assert world.used() == 2
    refused_without_writing(
        world,
        Conflict,
        lambda: members.reactivate_member(
            runtime, **world.common(), actor=OWNER, email="ana@x.test"
        ),
    )


# --- delete ----------------------------------------------------------------------------------------


def test_deleting_erases_the_person_but_keeps_ledger_and_invoices_under_a_pseudonym(
    runtime: Runtime, clock: ManualClock
) -> None:
    world = subscribe(runtime, "rallly-pro", seats=3)
    invite(world, ["ana@x.test"], "admin")
    members.accept_invite(runtime, **world.common(), email="ana@x.test")
    person_id = world.person_id("ana@x.test")
    clock.advance(timedelta(days=2))
    # ana acts, so she appears as an actor too
    invite_as_ana = members.invite_members(
        runtime, **world.common(), actor="ana@x.test", emails=["bob@x.test"], role="member"
    )
    assert invite_as_ana.seats.used == 3
    before = dump(world.engine)

    members.delete_member(runtime, **world.common(), actor=OWNER, email="ana@x.test")

    after = dump(world.engine)
    assert "ana@x.test" not in repr(after)
    with runtime.uow() as uow:
        erased = uow.persons.get(world.account_id, person_id)
        assert uow.persons.find_by_email(world.account_id, "ana@x.test") is None
    assert (erased.email, erased.display_name, erased.erased_at) == (None, None, clock.now())
    assert erased.label == f"erased-{person_id}"
    # History is untouched: the rows written before the deletion are all still there, unchanged.
    for table in ("seat_ledger", "audit_log", "invoices", "invoice_lines", "credit_entries"):
        assert after[table][: len(before[table])] == before[table], table
    assert person_id in repr(after["audit_log"])
    assert world.used() == 2
    # The address is free again: inviting it makes a new person.
    invite(world, ["ana@x.test"], "member")
    assert world.person_id("ana@x.test") != person_id


def test_a_person_who_belongs_elsewhere_in_the_account_is_not_erased(runtime: Runtime) -> None:
    bundle = subscribe(runtime, "plaky", seats=4, workspaces=("main", "side"))
    for workspace in ("main", "side"):
        members.invite_members(
            runtime,
            **bundle.common(workspace),
            actor=bundle.owner,
            emails=["ana@x.test"],
            role="member",
        )
    assert bundle.used() == 2  # one e-mail counts once across the bundle

    members.delete_member(runtime, **bundle.common("main"), actor=bundle.owner, email="ana@x.test")

    assert member(bundle, "ana@x.test", "main") == ("absent", set())
    assert member(bundle, "ana@x.test", "side")[0] == "pending"
    assert bundle.used("side") == 2
    bundle.person_id("ana@x.test")  # still known by e-mail


def test_deleting_the_last_holder_of_a_required_role_is_refused(runtime: Runtime) -> None:
    world = subscribe(runtime, "reviewer-pro", seats=2)
    refused_without_writing(
        world,
        RequiredRole,
        lambda: members.delete_member(runtime, **world.common(), actor=OWNER, email=OWNER),
    )
    refused_without_writing(
        world,
        NotFound,
        lambda: members.delete_member(runtime, **world.common(), actor=OWNER, email="x@x.test"),
    )


# --- ownership -------------------------------------------------------------------------------------


def test_ownership_moves_to_an_active_member_and_only_its_holder_hands_it_on(
    runtime: Runtime,
) -> None:
    world = subscribe(runtime, "rallly-pro", seats=3)
    invite(world, ["ana@x.test", "bob@x.test"], "admin")
    members.accept_invite(runtime, **world.common(), email="ana@x.test")
    refused_without_writing(
        world,
        Conflict,
        lambda: members.transfer_ownership(  # ana holds no owner role to hand on
            runtime, **world.common(), actor="ana@x.test", email=OWNER
        ),
    )
    refused_without_writing(  # bob has not accepted yet
        world,
        Conflict,
        lambda: members.transfer_ownership(
            runtime, **world.common(), actor=OWNER, email="bob@x.test"
        ),
    )

    result = members.transfer_ownership(runtime, **world.common(), actor=OWNER, email="ana@x.test")

    assert result.seats.used == 3
    assert member(world, "ana@x.test")[1] == {RoleGrant("admin"), RoleGrant("owner")}
    assert member(world, OWNER)[1] == {RoleGrant("member")}
    # The new owner manages seats; the former one no longer may.
    subscriptions.change_seat_count(runtime, **world.common(), actor="ana@x.test", seats=4)
    refused_without_writing(
        world,
        NotPermitted,
        lambda: subscriptions.change_seat_count(runtime, **world.common(), actor=OWNER, seats=5),
    )


# --- who may ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor_role", "actor_status"),
    [
        pytest.param("member", "active", id="a member"),
        pytest.param("admin", "pending", id="an admin who has not accepted"),
        pytest.param(None, None, id="a stranger"),
    ],
)
def test_only_member_managers_change_members(
    runtime: Runtime, actor_role: str | None, actor_status: str | None
) -> None:
    world = subscribe(runtime, "rallly-pro", seats=5)
    actor = "actor@x.test"
    if actor_role is not None:
        invite(world, [actor], actor_role)
        if actor_status == "active":
            members.accept_invite(runtime, **world.common(), email=actor)
    assert member(world, actor)[0] == (actor_status or "absent")

    message = refused_without_writing(
        world,
        NotPermitted,
        lambda: members.invite_members(
            runtime, **world.common(), actor=actor, emails=["new@x.test"], role="member"
        ),
    )

    assert message == "Only owner, admin may manage members."


def test_an_admin_manages_members_but_not_seats_where_only_the_owner_may(
    runtime: Runtime,
) -> None:
    world = subscribe(runtime, "rallly-pro", seats=5)
    invite(world, ["ana@x.test"], "admin")
    members.accept_invite(runtime, **world.common(), email="ana@x.test")

    members.invite_members(
        runtime, **world.common(), actor="ana@x.test", emails=["bob@x.test"], role="member"
    )
    message = refused_without_writing(
        world,
        NotPermitted,
        lambda: subscriptions.change_seat_count(
            runtime, **world.common(), actor="ana@x.test", seats=6
        ),
    )

    assert message == "Only owner may manage seats and billing."
    assert member(world, "bob@x.test")[0] == MemberStatus.PENDING.value


# --- what the append-only logs keep -----------------------------------------------------------------


def test_the_audit_log_and_the_outbox_name_people_by_id_never_by_address(
    runtime: Runtime,
) -> None:
    """Regression: the audit target and the webhook payloads held e-mail addresses, so deleting a
    person left their address in two append-only tables where it could never be erased."""
    world = subscribe(runtime, "rallly-pro", seats=3)

    invite(world, ["Ana@X.test"], "admin")
    members.assign_role(
        runtime, **world.common(), actor=OWNER, email="ana@x.test", role="member", scope="p1"
    )

    ana, owner = world.person_id("ana@x.test"), world.person_id(OWNER)
    audit = world.audit()
    assert [(a.actor, a.action, a.target) for a in audit] == [
        (owner, "subscribe", "main"),
        (owner, "invite_members", ana),
        (owner, "assign_role", f"{ana}:member:p1"),
    ]
    with runtime.uow() as uow:
        events = uow.outbox.for_account(world.account_id)
    payloads = {e.event_type: e.payload for e in events}
    assert payloads["member.invited"] == {
        "workspace": "main",
        "person": ana,
        "role": "admin",
        "scope": None,
    }
    assert payloads["member.role_assigned"]["person"] == ana
    assert "@" not in repr([e.payload for e in events]) + repr(audit)


def test_a_batch_written_as_person_ids_still_fits_the_audit_target(runtime: Runtime) -> None:
    """Seven short addresses fit the 200-character audit target but the same batch written as
    person ids does not: untrimmed, PostgreSQL would refuse the whole invite."""
    world = subscribe(runtime, "plaky", seats=8)
    batch = [f"{letter}@x.io" for letter in "abcdefg"]
    assert len(",".join(batch)) < 200

    invite(world, batch, "member")

    (row,) = [a for a in world.audit() if a.action == "invite_members"]
    assert row.target == f"{world.person_id('a@x.io')} and 6 more"
