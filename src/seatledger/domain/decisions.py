"""Seat decisions: every membership change as a pure roster transform, and the rules that judge it.

A change is decided in two steps. A transform (``invite_members``, ``assign_role``,
``deactivate_member``, ...) validates the request and returns the roster as it would be; it refuses
what is wrong whatever the seat count (an unknown member or role, a required role left without a
holder). Then ``check_seat_limit(before, after, ...)`` applies the one seat rule to the pair.

Keeping the seat rule out of the transforms is deliberate: upcoach's "boundary crossing" says the
count moves only when someone crosses into or out of the seat-consuming set, whichever action made
them cross. Comparing the seat holders before and after is that rule stated once, so a new kind of
change can never forget it, and a change that moves nobody into the billable set (a Viewer invite
when every seat is taken, a Participant role for a Facilitator) never fails on seats.

Every instant is an aware datetime, converted to UTC; grants are live on ``[granted, expires_at)``.
Every e-mail is normalized (``normalize_email``) before it is compared or stored. Who may ask for a
change is ``permissions.require_permission``, re-exported here with ``Action`` so a use case finds
every seat decision in one module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from seatledger.domain.errors import (
    AboveMaximumSeats,
    BelowMinimumSeats,
    BelowUsedSeats,
    Conflict,
    FreeAllowanceReached,
    InvalidInput,
    NotFound,
    RequiredRole,
    SeatLedgerError,
    SeatLimitReached,
)
from seatledger.domain.periods import require_utc
from seatledger.domain.permissions import Action, require_permission
from seatledger.domain.policy import Policy, SeatMode
from seatledger.domain.seats import (
    Member,
    MemberStatus,
    RoleGrant,
    Roster,
    SeatUsage,
    free_role_holders,
    normalize_email,
    seat_holders,
)

__all__ = [
    "Action",
    "BatchOutcome",
    "accept_invite",
    "admit_batch",
    "assign_role",
    "check_seat_count",
    "check_seat_limit",
    "deactivate_member",
    "delete_member",
    "expire_grants",
    "invite_members",
    "reactivate_member",
    "remove_role",
    "require_permission",
    "transfer_ownership",
]


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """A batch invite's result: the new roster, and the normalized e-mails admitted and refused,
    each in the order they were asked for."""

    roster: Roster
    admitted: tuple[str, ...]
    refused: tuple[str, ...]


# --- membership transforms -----------------------------------------------------------------------


def invite_members(
    roster: Roster,
    policy: Policy,
    *,
    workspace: str,
    emails: Iterable[str],
    role: str,
    scope: str | None = None,
    at: datetime,
) -> Roster:
    """``roster`` with each of ``emails`` invited to ``workspace`` with ``role`` (in ``scope``).

    A new person becomes a PENDING member holding the grant; someone already a member of
    ``workspace`` gains the grant and keeps their status. E-mails are normalized and duplicates in
    one batch are dropped silently (``Ana@X.test`` and ``ana@x.test`` are one invite). A role listed
    in ``policy.expiring_roles`` expires at ``at + duration`` (live on ``[at, at + duration)``);
    granting a role and scope the member already holds replaces that grant, which restarts its
    expiry. Seats are not judged here: pass the result to ``check_seat_limit`` (or use
    ``admit_batch``).

    Example (upcoach, ``implementation_admin: P30D``): inviting ``imp@x.test`` as
    ``implementation_admin`` at 2026-04-01T00:00Z gives a pending member whose grant expires at
    2026-05-01T00:00Z.
    """
    workspace = _workspace(workspace)
    grant = _grant(policy, _role(policy, role), _scope(scope), require_utc(at, "at"))
    for email in _batch(emails):
        member = roster.find(email, workspace) or Member(email, workspace, MemberStatus.PENDING)
        roster = roster.put(_with_grant(member, grant))
    return roster


def accept_invite(roster: Roster, *, workspace: str, email: str) -> Roster:
    """``roster`` with the pending invite of ``email`` to ``workspace`` accepted (now ACTIVE).

    ``NotFound`` when there is no such member; ``Conflict`` when the member is not pending. When
    pending invites do not use seats, accepting one can cross into the billable set, so the result
    still goes through ``check_seat_limit``.

    Example: a pending Reviewer ``bob@x.test`` becomes an active Reviewer.
    """
    member = _member(roster, workspace, email)
    if member.status is not MemberStatus.PENDING:
        raise Conflict(
            f"{member.email} has no pending invite to {member.workspace}: "
            f"the membership is {member.status}."
        )
    return roster.put(replace(member, status=MemberStatus.ACTIVE))


def assign_role(
    roster: Roster,
    policy: Policy,
    *,
    workspace: str,
    email: str,
    role: str,
    scope: str | None = None,
    at: datetime,
) -> Roster:
    """``roster`` with ``role`` (in ``scope``) granted to the member ``email`` of ``workspace``.

    The member keeps their status and other grants; expiry follows ``policy.expiring_roles`` as in
    ``invite_members`` (``[at, at + duration)``). ``NotFound`` for an unknown member,
    ``InvalidInput`` (field ``role``) for a role the policy does not know.

    Example (upcoach): giving Participant ``ana@x.test`` the ``program_facilitator`` role in
    program ``p1`` makes her a seat holder: ``check_seat_limit`` sees +1.
    """
    grant = _grant(policy, _role(policy, role), _scope(scope), require_utc(at, "at"))
    return roster.put(_with_grant(_member(roster, workspace, email), grant))


def remove_role(
    roster: Roster,
    policy: Policy,
    *,
    workspace: str,
    email: str,
    role: str,
    scope: str | None = None,
    at: datetime | None = None,
) -> Roster:
    """``roster`` without the grant of ``role`` in ``scope`` (exactly that scope; ``None`` is the
    workspace-level grant) held by the member ``email`` of ``workspace``.

    A member left with no grants stays a member with no roles (and uses no seat). ``NotFound``
    when the member does not hold that grant. ``RequiredRole`` when this would leave
    ``workspace`` without an active holder of ``policy.owner_role`` or of a role in
    ``policy.required_roles``; such a role moves only by ``transfer_ownership``. With ``at``,
    grants that have expired by then (``expires_at <= at``) do not count as holders.

    Example (reviewer): demoting Reviewer ``bob@x.test`` frees his seat; removing the only
    Admin's ``admin`` role raises ``RequiredRole``.
    """
    role, scope, at = _role(policy, role), _scope(scope), _optional_at(at)
    member = _member(roster, workspace, email)
    kept = frozenset(g for g in member.grants if (g.role, g.scope) != (role, scope))
    if kept == member.grants:
        where = "" if scope is None else f" in {scope}"
        raise NotFound(kind="role assignment", key=f"{member.email}: {role}{where}")
    after = roster.put(member.with_grants(kept))
    return _keep_required(roster, after, policy, member.workspace, at)


def deactivate_member(
    roster: Roster,
    policy: Policy,
    *,
    workspace: str,
    email: str,
    at: datetime | None = None,
) -> Roster:
    """``roster`` with the active member ``email`` of ``workspace`` DEACTIVATED.

    Their grants are kept (paused), so reactivation restores them. Whether the seat is freed is the
    policy's ``count_deactivated``. ``Conflict`` unless the member is active (a pending invite is
    withdrawn with ``delete_member``); ``RequiredRole`` as in ``remove_role``.

    Example (upcoach): deactivating a Facilitator frees one seat at once.
    """
    at = _optional_at(at)
    member = _member(roster, workspace, email)
    if member.status is not MemberStatus.ACTIVE:
        raise Conflict(f"{member.email} is {member.status}: only an active member is deactivated.")
    after = roster.put(replace(member, status=MemberStatus.DEACTIVATED))
    return _keep_required(roster, after, policy, member.workspace, at)


def reactivate_member(roster: Roster, policy: Policy, *, workspace: str, email: str) -> Roster:
    """``roster`` with the deactivated member ``email`` of ``workspace`` ACTIVE again, with the
    grants they had. ``Conflict`` unless the member is deactivated.

    Reactivation takes a seat again when deactivated members do not count ("subject to seats
    available at that time"), so the result goes through ``check_seat_limit``. ``policy`` is taken
    for symmetry with the other transforms; no rule here depends on it.

    Example (upcoach): a deactivated Facilitator reactivated when every seat is taken is refused by
    ``check_seat_limit`` with ``SeatLimitReached``.
    """
    member = _member(roster, workspace, email)
    if member.status is not MemberStatus.DEACTIVATED:
        raise Conflict(
            f"{member.email} is {member.status}: only a deactivated member is reactivated."
        )
    return roster.put(replace(member, status=MemberStatus.ACTIVE))


def delete_member(
    roster: Roster,
    policy: Policy,
    *,
    workspace: str,
    email: str,
    at: datetime | None = None,
) -> Roster:
    """``roster`` without the membership of ``email`` in ``workspace`` (any status: deleting a
    pending member withdraws the invite). Memberships of other workspaces are kept.
    ``RequiredRole`` as in ``remove_role``.

    Example (Rallly): deleting a member frees their seat; the seat count itself only goes down
    with ``check_seat_count``.
    """
    at = _optional_at(at)
    member = _member(roster, workspace, email)
    after = roster.drop(member.email, member.workspace)
    return _keep_required(roster, after, policy, member.workspace, at)


def transfer_ownership(
    roster: Roster, policy: Policy, *, workspace: str, from_email: str, to_email: str
) -> Roster:
    """``roster`` with every ``policy.owner_role`` grant of ``from_email`` in ``workspace`` moved to
    ``to_email``, who must be an ACTIVE member of ``workspace``.

    The former owner keeps their other grants; left with none, they get ``member`` if the policy
    knows that role, else its first free role, else no role. ``NotFound`` for an unknown member,
    ``InvalidInput`` (field ``to_email``) when both are the same person, ``Conflict`` when
    ``from_email`` holds no owner grant or ``to_email`` is not active. The new owner may cross into
    the billable set, so the result goes through ``check_seat_limit``.

    Example (Rallly, roles owner/member): owner ``ana`` transfers to member ``bob``; ``bob`` is
    owner, ``ana`` is member, and seats used are unchanged.
    """
    current = _member(roster, workspace, from_email)
    heir = _member(roster, workspace, to_email)
    if heir.email == current.email:
        raise InvalidInput("to_email", "must be someone other than the current owner")
    moved = frozenset(g for g in current.grants if g.role == policy.owner_role)
    if not moved:
        raise Conflict(
            f"{current.email} does not hold the {policy.owner_role} role in {current.workspace}."
        )
    if heir.status is not MemberStatus.ACTIVE:
        raise Conflict(f"{heir.email} is {heir.status}: ownership goes only to an active member.")
    kept = current.grants - moved
    fallback = _fallback_role(policy)
    if not kept and fallback is not None:
        kept = frozenset({RoleGrant(fallback)})
    return roster.put(current.with_grants(kept)).put(heir.with_grants(heir.grants | moved))


def expire_grants(roster: Roster, at: datetime) -> Roster:
    """``roster`` without the grants that have expired by ``at`` (``expires_at <= at``: a grant is
    live on ``[granted, expires_at)``). Members left with no grant stay members with no role.

    Example (upcoach): an Implementation Admin granted P30D at 2026-04-01T00:00Z still holds the
    role at 2026-04-30T23:59:59Z and not at 2026-05-01T00:00Z.
    """
    at = require_utc(at, "at")
    return Roster(
        tuple(m.with_grants(g for g in m.grants if g.live_at(at)) for m in roster.members)
    )


# --- the seat rules ------------------------------------------------------------------------------


def check_seat_limit(
    before: Roster, after: Roster, policy: Policy, seats_total: int, at: datetime
) -> None:
    """Refuse a change from ``before`` to ``after`` that takes more seats than the plan allows.

    Seat holders (persons) are counted on both rosters at ``at``. Manual mode: refused with
    ``SeatLimitReached`` when ``used_after > seats_total`` and ``used_after > used_before``; a
    change that moves nobody into the billable set never fails, even above the limit. Automatic
    mode: seats follow usage, so only ``policy.max_seats`` limits (``total`` in the error is
    ``max_seats``). Then the free allowance: refused with ``FreeAllowanceReached`` when its holders
    grow past ``per_paid_seat x seats`` (in automatic mode ``seats`` is at least ``used_after``,
    since the count rises with usage).

    Example (upcoach, 10 seats, 10 used): promoting a Participant to Facilitator raises
    ``SeatLimitReached(used=10, total=10, requested=1)``, "No seats available. You're using all
    10 of your 10 seats. Upgrade your plan or remove a team member to free a seat."; giving a
    Facilitator a Participant role elsewhere passes.
    """
    at = require_utc(at, "at")
    if isinstance(seats_total, bool) or not isinstance(seats_total, int) or seats_total < 0:
        raise InvalidInput("seats_total", f"must be a whole number >= 0, got {seats_total!r}")
    used_before = len(seat_holders(before, policy, at))
    used_after = len(seat_holders(after, policy, at))
    manual = policy.seat_mode is SeatMode.MANUAL
    limit = seats_total if manual else policy.max_seats
    if limit is not None and used_after > limit and used_after > used_before:
        raise SeatLimitReached(used=used_before, total=limit, requested=used_after - used_before)
    allowance = policy.free_allowance
    if allowance is None:
        return
    paid = seats_total if manual else max(seats_total, used_after)
    allowed = allowance.per_paid_seat * paid
    free_before = len(free_role_holders(before, policy, at))
    free_after = len(free_role_holders(after, policy, at))
    if free_after > allowed and free_after > free_before:
        raise FreeAllowanceReached(
            role=allowance.role,
            used=free_before,
            allowed=allowed,
            requested=free_after - free_before,
        )


def admit_batch(
    roster: Roster,
    policy: Policy,
    *,
    workspace: str,
    emails: Iterable[str],
    role: str,
    scope: str | None = None,
    seats_total: int,
    at: datetime,
) -> BatchOutcome:
    """Invite a batch (``invite_members``) and judge it with ``check_seat_limit``.

    ``policy.batch_atomic``: all or nothing; if even one person would pass the limit, the whole
    batch is refused with one ``SeatLimitReached`` (or ``FreeAllowanceReached``) for the batch.
    Otherwise the e-mails are admitted in request order while they fit and the rest are refused;
    when not one fits, the first refusal is raised, so a batch of one behaves the same either way.
    E-mails are normalized and deduplicated as in ``invite_members``.

    Example (upcoach, 20 seats all used): a batch of twenty Facilitators is refused whole with
    "No seats available. You're using all 20 of your 20 seats. Upgrade your plan or remove a team
    member to free a seat." With ``batch_atomic: false``, 10 seats, 8 used and three new
    Facilitators, the first two are admitted and the third refused.
    """
    batch = _batch(emails)
    if policy.batch_atomic:
        after = invite_members(
            roster, policy, workspace=workspace, emails=batch, role=role, scope=scope, at=at
        )
        check_seat_limit(roster, after, policy, seats_total, at)
        return BatchOutcome(roster=after, admitted=batch, refused=())
    admitted: list[str] = []
    refusals: list[tuple[str, SeatLedgerError]] = []
    for email in batch:
        candidate = invite_members(
            roster, policy, workspace=workspace, emails=(email,), role=role, scope=scope, at=at
        )
        try:
            check_seat_limit(roster, candidate, policy, seats_total, at)
        except (SeatLimitReached, FreeAllowanceReached) as refusal:
            refusals.append((email, refusal))
            continue
        roster = candidate
        admitted.append(email)
    if not admitted:
        raise refusals[0][1]
    return BatchOutcome(
        roster=roster, admitted=tuple(admitted), refused=tuple(e for e, _ in refusals)
    )


def check_seat_count(policy: Policy, usage: SeatUsage, requested: int) -> None:
    """Refuse a new seat count ``requested`` (seats, a whole number) that the plan or the members
    do not allow; ``usage`` is the current ``seat_usage``.

    In order: ``InvalidInput`` (field ``seats``) below 0; ``AboveMaximumSeats`` above
    ``max_seats``; ``BelowMinimumSeats`` below ``min_seats``; ``BelowUsedSeats`` below
    ``usage.used`` when ``remove_only_unused`` (only unused seats can be removed); and for a
    reduction, ``FreeAllowanceReached`` when the free places in use would exceed
    ``per_paid_seat x requested``. Bounds are inclusive: exactly ``max_seats``, ``min_seats`` or
    ``usage.used`` seats are allowed.

    Example (Plaky, 5 viewers per seat): 10 seats, 3 used and 42 Viewers. 9 seats give 45 Viewer
    places and pass; 8 give 40 and are refused with ``FreeAllowanceReached(used=42, allowed=40,
    requested=2)``; 2 are refused with ``BelowUsedSeats``.
    """
    if isinstance(requested, bool) or not isinstance(requested, int) or requested < 0:
        raise InvalidInput("seats", f"must be a whole number >= 0, got {requested!r}")
    if policy.max_seats is not None and requested > policy.max_seats:
        raise AboveMaximumSeats(requested=requested, maximum=policy.max_seats)
    if policy.min_seats is not None and requested < policy.min_seats:
        raise BelowMinimumSeats(requested=requested, minimum=policy.min_seats)
    if policy.remove_only_unused and requested < usage.used:
        raise BelowUsedSeats(requested=requested, used=usage.used)
    allowance = policy.free_allowance
    if allowance is None or usage.free_used is None or requested >= usage.total:
        return
    allowed = allowance.per_paid_seat * requested
    if usage.free_used > allowed:
        raise FreeAllowanceReached(
            role=allowance.role,
            used=usage.free_used,
            allowed=allowed,
            requested=usage.free_used - allowed,
        )


# --- helpers -------------------------------------------------------------------------------------


def _workspace(workspace: str) -> str:
    if not isinstance(workspace, str) or not workspace.strip():
        raise InvalidInput("workspace", f"must be a workspace name, got {workspace!r}")
    return workspace


def _role(policy: Policy, role: str) -> str:
    if role not in policy.roles:
        known = ", ".join(sorted(policy.roles))
        raise InvalidInput("role", f"must be one of {known}; got {role!r}")
    return role


def _scope(scope: str | None) -> str | None:
    if scope is not None and (not isinstance(scope, str) or not scope.strip()):
        raise InvalidInput("scope", f"must be a scope name or omitted, got {scope!r}")
    return scope


def _optional_at(at: datetime | None) -> datetime | None:
    return None if at is None else require_utc(at, "at")


def _batch(emails: Iterable[str]) -> tuple[str, ...]:
    # A bare string is iterable too: refuse it rather than invite one person per character.
    if isinstance(emails, str):
        raise InvalidInput("emails", "must be a list of e-mail addresses, not one string")
    batch = tuple(dict.fromkeys(normalize_email(e) for e in emails))
    if not batch:
        raise InvalidInput("emails", "must list at least one e-mail address")
    return batch


def _member(roster: Roster, workspace: str, email: str) -> Member:
    key = normalize_email(email)
    member = roster.find(key, _workspace(workspace))
    if member is None:
        raise NotFound(kind="member", key=key)
    return member


def _grant(policy: Policy, role: str, scope: str | None, at: datetime) -> RoleGrant:
    duration = policy.expiring_roles.get(role)
    return RoleGrant(role, scope, None if duration is None else at + duration)


def _with_grant(member: Member, grant: RoleGrant) -> Member:
    # One grant per (role, scope): granting again replaces the old one, so a re-invite restarts an
    # expiring role's clock instead of leaving two grants with different ends.
    kept = (g for g in member.grants if (g.role, g.scope) != (grant.role, grant.scope))
    return member.with_grants((*kept, grant))


def _fallback_role(policy: Policy) -> str | None:
    if "member" in policy.roles:
        return "member"
    return policy.free_roles[0] if policy.free_roles else None


def _has_holder(roster: Roster, workspace: str, role: str, at: datetime | None) -> bool:
    # Only an active member holds a required role: a pending invitee has not accepted it, and a
    # deactivated member cannot act on it.
    return any(
        m.workspace == workspace
        and m.status is MemberStatus.ACTIVE
        and any(g.role == role and (at is None or g.live_at(at)) for g in m.grants)
        for m in roster.members
    )


def _keep_required(
    before: Roster, after: Roster, policy: Policy, workspace: str, at: datetime | None
) -> Roster:
    # Judged as a crossing, like seats: a change fails only if it takes away the last holder, so
    # a workspace that never had one (an imported roster) is not frozen by the rule.
    for role in dict.fromkeys((policy.owner_role, *policy.required_roles)):
        if _has_holder(before, workspace, role, at) and not _has_holder(after, workspace, role, at):
            raise RequiredRole(role=role)
    return after
