"""A small world for the security matrix, built through the service layer (fast) and then asked
through the API.

Account A: Rallly's plan (``seat_managers: [owner]``, ``member_managers: [owner, admin]``) with a
free ``viewer`` role and an add-on, 20 seats, workspace ``team``. Active people: the owner, an
admin, a member, a viewer, each with a key bound to them, plus people the write endpoints act on
(one set per role allowed to act, so every allowed call has something of its own to change).
Account B: another owner with a subscription of their own. A revoked key of A's owner.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from seatledger.bootstrap import Runtime
from seatledger.domain.seats import Member, MemberStatus, RoleGrant, Roster
from seatledger.policy_files import resolve_policy
from seatledger.service import api_keys, subscriptions, test_clocks, webhooks
from seatledger.service.access import Caller
from seatledger.service.gateway import load_state, save_state
from seatledger.service.state import Effects, Event

A_ROLES = ("owner", "admin", "member", "viewer")
ACTORS = ("owner", "admin")  # the roles that act on people in the matrix
POLICY = {"free_roles": ["viewer"], "addons": {"extra5": {"seats": 5, "price": "40.00"}}}


def email(name: str) -> str:
    return f"{name}@acme.test"


@dataclass
class World:
    """Tokens by role, and the ids the matrix's paths name."""

    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    # Ids of account A only: none of them may ever show up in another account's answers.
    a_ids: set[str] = field(default_factory=set)


def build_world(rt: Runtime) -> World:
    world = World()
    a = api_keys.sign_up(rt, name="Acme", owner_email=email("owner"))
    account = a.account.id
    owner = Caller(account, a.issued.key.id, a.person.id, email("owner"))
    world.tokens["owner"] = a.issued.token
    done = subscriptions.subscribe(
        rt,
        account_id=account,
        policy=resolve_policy("rallly-pro", POLICY),
        preset="rallly-pro",
        workspaces=["team"],
        owner_email=email("owner"),
        seats=20,
    )
    # The people, written as one roster in one transaction: building them invite by invite
    # would test nothing more here and take a dozen transactions.
    targets = [
        f"{kind}-{actor}"
        for kind in ("deactivate", "reactivate", "delete", "roles")
        for actor in ACTORS
    ]
    people = [
        Member(email(role), "team", MemberStatus.ACTIVE, frozenset({RoleGrant(role)}))
        for role in ("admin", "member", "viewer")
    ]
    for target in targets:
        grants = {RoleGrant("member")}
        if target.startswith("roles-"):
            grants.add(RoleGrant("viewer", scope=f"held-{target.removeprefix('roles-')}"))
        status = (
            MemberStatus.DEACTIVATED if target.startswith("reactivate-") else MemberStatus.ACTIVE
        )
        people.append(Member(email(target), "team", status, frozenset(grants)))
    with rt.uow() as uow:
        state = load_state(uow, account, "team")
        state.roster = Roster((*state.roster.members, *people))
        # A few events, so A has event numbers B (with two events) does not.
        joined = [Event("member.invited", {"workspace": "team"}) for _ in people]
        save_state(uow, state, Effects(events=joined), at=rt.clock.now())
        uow.commit()
    for role in ("admin", "member", "viewer"):
        issued = api_keys.issue_operator_key(rt, account_id=account, email=email(role), name=role)
        world.tokens[role] = issued.token
    revoked = api_keys.issue_operator_key(rt, account_id=account, email=email("owner"), name="old")
    api_keys.revoke_api_key(rt, caller=owner, key_id=revoked.key.id)
    world.tokens["revoked"] = revoked.token
    spare = api_keys.issue_operator_key(rt, account_id=account, email=email("owner"), name="spare")
    clock = test_clocks.create_test_clock(rt, account_id=account, at=rt.clock.now())
    endpoint = webhooks.add_webhook_endpoint(rt, caller=owner, url="https://hooks.acme.test/x")

    with rt.uow() as uow:
        workspace = uow.workspaces.find_by_name(account, "team")
        assert workspace is not None
        people = {
            name: uow.persons.find_by_email(account, email(name))
            for name in ("owner", "admin", *targets)
        }
        events = uow.outbox.for_account(account)
    world.ids.update(
        account=account,
        ws=workspace.id,
        sub=str(done.detail["subscription_id"]),
        invoice=done.invoices[0].id,
        key=spare.key.id,
        clock=clock.id,
        endpoint=endpoint.id,
        seq=str(events[-1].seq),
        preset="rallly-pro",
        addon="extra5",
        role="viewer",
    )
    for name, person in people.items():
        assert person is not None
        world.ids[f"person:{name}"] = person.id
    world.a_ids = {v for k, v in world.ids.items() if k not in ("seq", "preset", "addon", "role")}

    b = api_keys.sign_up(rt, name="Other", owner_email="bob@other.test")
    subscriptions.subscribe(
        rt,
        account_id=b.account.id,
        policy=resolve_policy("rallly-pro"),
        preset="rallly-pro",
        workspaces=["elsewhere"],
        owner_email="bob@other.test",
        seats=2,
    )
    world.tokens["other"] = b.issued.token
    return world
