"""Use cases on people: invite a batch, accept, assign and remove roles, deactivate, reactivate,
delete, transfer ownership. Each is judged by one rule, boundary crossing: only a change that moves
a person into the billable set can be refused for seats (``check_seat_limit``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from seatledger.domain import decisions
from seatledger.domain.decisions import Action
from seatledger.domain.seats import Roster, normalize_email
from seatledger.service.auto_purchase import admit_batch_buying, buy_missing_seats
from seatledger.service.billing_engine import follow_usage
from seatledger.service.changes import change_subscription
from seatledger.service.context import Services
from seatledger.service.results import ChangeResult
from seatledger.service.state import Effects, Event, SubscriptionState

RosterTransform = Callable[[SubscriptionState, datetime], Roster]


def _change_roster(
    svc: Services,
    *,
    account_id: str,
    workspace: str,
    actor: str,
    action: str,
    target: str,
    permission: Action | None,
    reason: str,
    person: str,
    event: Event,
    transform: RosterTransform,
) -> ChangeResult:
    """The shape of every use case on one person: transform the roster, judge the result by the one
    seat rule (``check_seat_limit``), bill whoever started or stopped using a seat, announce it."""

    def mutate(state: SubscriptionState, effects: Effects, at: datetime) -> dict[str, Any]:
        after = transform(state, at)
        bought = buy_missing_seats(state, effects, after, at=at, actor=actor)
        decisions.check_seat_limit(state.roster, after, state.policy, state.capacity, at)
        state.roster = after
        follow_usage(state, effects, at=at, reason=reason, email=person)
        effects.events.append(event)
        return bought

    return change_subscription(
        svc,
        account_id=account_id,
        workspace=workspace,
        actor=actor,
        action=action,
        target=target,
        permission=permission,
        mutate=mutate,
    )


# The audit log's target holds at most 200 characters (store/tables.py, NAME).
_TARGET_LENGTH = 200


def _batch_target(emails: Sequence[str]) -> str:
    """The audit target of a batch invite: its addresses while they fit, else the first one and
    how many more (a batch of fifty is one audit row, never a refused write)."""
    joined = ",".join(emails)
    if len(joined) <= _TARGET_LENGTH:
        return joined
    return f"{emails[0][: _TARGET_LENGTH - 40]} and {len(emails) - 1} more"


def invite_members(
    svc: Services,
    *,
    account_id: str,
    workspace: str,
    actor: str,
    emails: Sequence[str],
    role: str,
    scope: str | None = None,
) -> ChangeResult:
    """Invite a batch of people with one role; a batch that would pass the seat limit is refused
    whole when the policy says ``batch_atomic`` (otherwise as many as fit are admitted, in order)."""

    def mutate(state: SubscriptionState, effects: Effects, at: datetime) -> dict[str, Any]:
        outcome, bought = admit_batch_buying(
            state,
            effects,
            at=at,
            actor=actor,
            workspace=workspace,
            emails=emails,
            role=role,
            scope=scope,
        )
        state.roster = outcome.roster
        follow_usage(state, effects, at=at, reason="invited")
        for email in outcome.admitted:
            effects.events.append(
                Event(
                    "member.invited",
                    {"workspace": workspace, "person": email, "role": role, "scope": scope},
                )
            )
        return {"admitted": list(outcome.admitted), "refused": list(outcome.refused), **bought}

    return change_subscription(
        svc,
        account_id=account_id,
        workspace=workspace,
        actor=actor,
        action="invite_members",
        target=_batch_target(emails),
        permission=Action.MANAGE_MEMBERS,
        mutate=mutate,
    )


def accept_invite(svc: Services, *, account_id: str, workspace: str, email: str) -> ChangeResult:
    """The invitee accepts: a pending membership becomes active (subject to seats when pending
    invites do not already hold one)."""
    person = normalize_email(email)
    return _change_roster(
        svc,
        account_id=account_id,
        workspace=workspace,
        actor=person,
        action="accept_invite",
        target=person,
        permission=None,
        reason="accepted",
        person=person,
        event=Event("member.accepted", {"workspace": workspace, "person": person}),
        transform=lambda state, at: decisions.accept_invite(
            state.roster, workspace=workspace, email=person
        ),
    )


def assign_role(
    svc: Services,
    *,
    account_id: str,
    workspace: str,
    actor: str,
    email: str,
    role: str,
    scope: str | None = None,
) -> ChangeResult:
    """Give a member a role, optionally scoped; refused when it would need a seat there is not."""
    person = normalize_email(email)
    return _change_roster(
        svc,
        account_id=account_id,
        workspace=workspace,
        actor=actor,
        action="assign_role",
        target=f"{person}:{role}:{scope or ''}",
        permission=Action.MANAGE_MEMBERS,
        reason="role_assigned",
        person=person,
        event=Event(
            "member.role_assigned",
            {"workspace": workspace, "person": person, "role": role, "scope": scope},
        ),
        transform=lambda state, at: decisions.assign_role(
            state.roster,
            state.policy,
            workspace=workspace,
            email=person,
            role=role,
            scope=scope,
            at=at,
        ),
    )


def remove_role(
    svc: Services,
    *,
    account_id: str,
    workspace: str,
    actor: str,
    email: str,
    role: str,
    scope: str | None = None,
) -> ChangeResult:
    """Take a role away; the last holder of a required role keeps it (transfer it instead)."""
    person = normalize_email(email)
    return _change_roster(
        svc,
        account_id=account_id,
        workspace=workspace,
        actor=actor,
        action="remove_role",
        target=f"{person}:{role}:{scope or ''}",
        permission=Action.MANAGE_MEMBERS,
        reason="role_removed",
        person=person,
        event=Event(
            "member.role_removed",
            {"workspace": workspace, "person": person, "role": role, "scope": scope},
        ),
        transform=lambda state, at: decisions.remove_role(
            state.roster,
            state.policy,
            workspace=workspace,
            email=person,
            role=role,
            scope=scope,
            at=at,
        ),
    )


def deactivate_member(
    svc: Services, *, account_id: str, workspace: str, actor: str, email: str
) -> ChangeResult:
    """Pause a member: their data stays; their seat is freed when deactivated members do not count."""
    person = normalize_email(email)
    return _change_roster(
        svc,
        account_id=account_id,
        workspace=workspace,
        actor=actor,
        action="deactivate_member",
        target=person,
        permission=Action.MANAGE_MEMBERS,
        reason="deactivated",
        person=person,
        event=Event("member.deactivated", {"workspace": workspace, "person": person}),
        transform=lambda state, at: decisions.deactivate_member(
            state.roster, state.policy, workspace=workspace, email=person, at=at
        ),
    )


def reactivate_member(
    svc: Services, *, account_id: str, workspace: str, actor: str, email: str
) -> ChangeResult:
    """Bring a deactivated member back, subject to the seats available now."""
    person = normalize_email(email)
    return _change_roster(
        svc,
        account_id=account_id,
        workspace=workspace,
        actor=actor,
        action="reactivate_member",
        target=person,
        permission=Action.MANAGE_MEMBERS,
        reason="reactivated",
        person=person,
        event=Event("member.reactivated", {"workspace": workspace, "person": person}),
        transform=lambda state, at: decisions.reactivate_member(
            state.roster, state.policy, workspace=workspace, email=person
        ),
    )


def delete_member(
    svc: Services, *, account_id: str, workspace: str, actor: str, email: str
) -> ChangeResult:
    """Remove a member for good. Their personal data is erased when they belong nowhere else in the
    account; the ledger and invoices keep a pseudonymous id."""
    person = normalize_email(email)
    return _change_roster(
        svc,
        account_id=account_id,
        workspace=workspace,
        actor=actor,
        action="delete_member",
        target=person,
        permission=Action.MANAGE_MEMBERS,
        reason="deleted",
        person=person,
        event=Event("member.deleted", {"workspace": workspace, "person": person}),
        transform=lambda state, at: decisions.delete_member(
            state.roster, state.policy, workspace=workspace, email=person, at=at
        ),
    )


def transfer_ownership(
    svc: Services, *, account_id: str, workspace: str, actor: str, email: str
) -> ChangeResult:
    """Hand the owner role to another active member; only its holder may hand it on."""
    person = normalize_email(email)
    current = normalize_email(actor)
    return _change_roster(
        svc,
        account_id=account_id,
        workspace=workspace,
        actor=actor,
        action="transfer_ownership",
        target=person,
        permission=None,
        reason="ownership_transferred",
        person=person,
        event=Event(
            "ownership.transferred", {"workspace": workspace, "from": current, "to": person}
        ),
        transform=lambda state, at: decisions.transfer_ownership(
            state.roster, state.policy, workspace=workspace, from_email=current, to_email=person
        ),
    )
