"""Use cases on people: invite a batch, accept, assign and remove roles, deactivate, reactivate,
delete, transfer ownership. Each is judged by one rule, boundary crossing: only a change that moves
a person into the billable set can be refused for seats (``check_seat_limit``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from seatledger.domain import decisions
from seatledger.domain.decisions import Action
from seatledger.domain.seats import Roster, normalize_email
from seatledger.service.billing_engine import follow_usage
from seatledger.service.changes import change_subscription
from seatledger.service.context import Services
from seatledger.service.results import ChangeResult
from seatledger.service.state import Effects, Event, SubscriptionState


def _apply(
    state: SubscriptionState,
    effects: Effects,
    at: datetime,
    after: Roster,
    *,
    reason: str,
    email: str | None,
) -> None:
    decisions.check_seat_limit(state.roster, after, state.policy, state.capacity, at)
    state.roster = after
    follow_usage(state, effects, at=at, reason=reason, email=email)


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
        outcome = decisions.admit_batch(
            state.roster,
            state.policy,
            workspace=workspace,
            emails=emails,
            role=role,
            scope=scope,
            seats_total=state.capacity,
            at=at,
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
        return {"admitted": list(outcome.admitted), "refused": list(outcome.refused)}

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

    def mutate(state: SubscriptionState, effects: Effects, at: datetime) -> None:
        after = decisions.accept_invite(state.roster, workspace=workspace, email=person)
        _apply(state, effects, at, after, reason="accepted", email=person)
        effects.events.append(Event("member.accepted", {"workspace": workspace, "person": person}))

    return change_subscription(
        svc,
        account_id=account_id,
        workspace=workspace,
        actor=person,
        action="accept_invite",
        target=person,
        permission=None,
        mutate=mutate,
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
    person = normalize_email(email)

    def mutate(state: SubscriptionState, effects: Effects, at: datetime) -> None:
        after = decisions.assign_role(
            state.roster,
            state.policy,
            workspace=workspace,
            email=person,
            role=role,
            scope=scope,
            at=at,
        )
        _apply(state, effects, at, after, reason="role_assigned", email=person)
        effects.events.append(
            Event(
                "member.role_assigned",
                {"workspace": workspace, "person": person, "role": role, "scope": scope},
            )
        )

    return change_subscription(
        svc,
        account_id=account_id,
        workspace=workspace,
        actor=actor,
        action="assign_role",
        target=f"{person}:{role}:{scope or ''}",
        permission=Action.MANAGE_MEMBERS,
        mutate=mutate,
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
    person = normalize_email(email)

    def mutate(state: SubscriptionState, effects: Effects, at: datetime) -> None:
        after = decisions.remove_role(
            state.roster,
            state.policy,
            workspace=workspace,
            email=person,
            role=role,
            scope=scope,
            at=at,
        )
        _apply(state, effects, at, after, reason="role_removed", email=person)
        effects.events.append(
            Event(
                "member.role_removed",
                {"workspace": workspace, "person": person, "role": role, "scope": scope},
            )
        )

    return change_subscription(
        svc,
        account_id=account_id,
        workspace=workspace,
        actor=actor,
        action="remove_role",
        target=f"{person}:{role}:{scope or ''}",
        permission=Action.MANAGE_MEMBERS,
        mutate=mutate,
    )


def deactivate_member(
    svc: Services, *, account_id: str, workspace: str, actor: str, email: str
) -> ChangeResult:
    """Pause a member: their data stays; their seat is freed when deactivated members do not count."""
    person = normalize_email(email)

    def mutate(state: SubscriptionState, effects: Effects, at: datetime) -> None:
        after = decisions.deactivate_member(
            state.roster, state.policy, workspace=workspace, email=person, at=at
        )
        _apply(state, effects, at, after, reason="deactivated", email=person)
        effects.events.append(
            Event("member.deactivated", {"workspace": workspace, "person": person})
        )

    return change_subscription(
        svc,
        account_id=account_id,
        workspace=workspace,
        actor=actor,
        action="deactivate_member",
        target=person,
        permission=Action.MANAGE_MEMBERS,
        mutate=mutate,
    )


def reactivate_member(
    svc: Services, *, account_id: str, workspace: str, actor: str, email: str
) -> ChangeResult:
    """Bring a deactivated member back, subject to the seats available now."""
    person = normalize_email(email)

    def mutate(state: SubscriptionState, effects: Effects, at: datetime) -> None:
        after = decisions.reactivate_member(
            state.roster, state.policy, workspace=workspace, email=person
        )
        _apply(state, effects, at, after, reason="reactivated", email=person)
        effects.events.append(
            Event("member.reactivated", {"workspace": workspace, "person": person})
        )

    return change_subscription(
        svc,
        account_id=account_id,
        workspace=workspace,
        actor=actor,
        action="reactivate_member",
        target=person,
        permission=Action.MANAGE_MEMBERS,
        mutate=mutate,
    )


def delete_member(
    svc: Services, *, account_id: str, workspace: str, actor: str, email: str
) -> ChangeResult:
    """Remove a member for good. Their personal data is erased when they belong nowhere else in the
    account; the ledger and invoices keep a pseudonymous id."""
    person = normalize_email(email)

    def mutate(state: SubscriptionState, effects: Effects, at: datetime) -> None:
        after = decisions.delete_member(
            state.roster, state.policy, workspace=workspace, email=person, at=at
        )
        _apply(state, effects, at, after, reason="deleted", email=person)
        effects.events.append(Event("member.deleted", {"workspace": workspace, "person": person}))

    return change_subscription(
        svc,
        account_id=account_id,
        workspace=workspace,
        actor=actor,
        action="delete_member",
        target=person,
        permission=Action.MANAGE_MEMBERS,
        mutate=mutate,
    )


def transfer_ownership(
    svc: Services, *, account_id: str, workspace: str, actor: str, email: str
) -> ChangeResult:
    """Hand the owner role to another active member; only its holder may hand it on."""
    person = normalize_email(email)
    current = normalize_email(actor)

    def mutate(state: SubscriptionState, effects: Effects, at: datetime) -> None:
        after = decisions.transfer_ownership(
            state.roster, state.policy, workspace=workspace, from_email=current, to_email=person
        )
        _apply(state, effects, at, after, reason="ownership_transferred", email=person)
        effects.events.append(
            Event("ownership.transferred", {"workspace": workspace, "from": current, "to": person})
        )

    return change_subscription(
        svc,
        account_id=account_id,
        workspace=workspace,
        actor=actor,
        action="transfer_ownership",
        target=person,
        permission=None,
        mutate=mutate,
    )
