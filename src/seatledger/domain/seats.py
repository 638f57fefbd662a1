"""Seat counting: who occupies a seat of a subscription, and how many are left.

One person (a normalized e-mail) holds at most one seat per subscription, however many roles,
scopes and workspaces they hold: a bundle subscription covering several workspaces counts them once.
A member counts when their status counts under the policy (active always; pending when
``count_pending_invites``; deactivated when ``count_deactivated``) and they hold at least one
unexpired billable role. An assignment with ``expires_at`` stops counting at that instant
(half-open: at ``expires_at`` it no longer counts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import NamedTuple

from seatledger.domain.errors import InvalidInput
from seatledger.domain.policy import Policy


class MemberStatus(StrEnum):
    PENDING = "pending"  # invited, not yet accepted
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


@dataclass(frozen=True, slots=True)
class RoleGrant:
    """One role of a member, optionally scoped to a sub-space (a program, a project)."""

    role: str
    scope: str | None = None
    expires_at: datetime | None = None

    def live_at(self, at: datetime) -> bool:
        return self.expires_at is None or at < self.expires_at


@dataclass(frozen=True, slots=True)
class Member:
    """A person's membership of one workspace, with every role they hold there."""

    email: str
    workspace: str
    status: MemberStatus
    grants: frozenset[RoleGrant] = field(default_factory=frozenset)

    def with_grants(self, grants: Iterable[RoleGrant]) -> Member:
        return replace(self, grants=frozenset(grants))

    def roles_at(self, at: datetime) -> frozenset[str]:
        return frozenset(g.role for g in self.grants if g.live_at(at))


@dataclass(frozen=True, slots=True)
class Roster:
    """Every membership of the workspaces one subscription covers."""

    members: tuple[Member, ...] = ()

    def find(self, email: str, workspace: str) -> Member | None:
        for member in self.members:
            if member.email == email and member.workspace == workspace:
                return member
        return None

    def put(self, member: Member) -> Roster:
        """This roster with ``member`` added, or replacing the same (email, workspace)."""
        email, workspace = member.email, member.workspace
        kept = tuple(m for m in self.members if m.email != email or m.workspace != workspace)
        return Roster((*kept, member))

    def drop(self, email: str, workspace: str) -> Roster:
        return Roster(
            tuple(m for m in self.members if m.email != email or m.workspace != workspace)
        )

    def renamed(self, workspaces: Mapping[str, str]) -> Roster:
        """This roster with every member's workspace renamed through ``workspaces`` (old ->
        new; every workspace of the roster must be a key). The store names workspaces by id, the
        state by name: a seat change renames its roster both ways, so this is a hot path and
        builds each member directly instead of through ``dataclasses.replace``.

        Example: ``Roster((Member("ana@x.test", "ws_1", ACTIVE),)).renamed({"ws_1": "team"})``
        holds ``Member("ana@x.test", "team", ACTIVE)``.
        """
        return Roster(
            tuple(
                Member(m.email, workspaces[m.workspace], m.status, m.grants) for m in self.members
            )
        )


@dataclass(frozen=True, slots=True)
class SeatUsage:
    """``total`` bought, ``used`` by distinct persons, ``available = total - used`` (never < 0).

    For plans with a free allowance, ``free_used`` holders of the free role out of
    ``free_allowed`` (= per_paid_seat x total), and ``free_available``.
    """

    total: int
    used: int
    free_used: int | None = None
    free_allowed: int | None = None

    @property
    def available(self) -> int:
        return max(0, self.total - self.used)

    @property
    def free_available(self) -> int | None:
        if self.free_allowed is None or self.free_used is None:
            return None
        return max(0, self.free_allowed - self.free_used)


def normalize_email(text: str) -> str:
    """The identity of a person: the e-mail trimmed and lower-cased; refused unless it has one
    ``@`` with text on both sides and no spaces."""
    email = text.strip().lower() if isinstance(text, str) else ""
    local, at, domain = email.partition("@")
    if not at or not local or not domain or "@" in domain or any(c.isspace() for c in email):
        raise InvalidInput(
            "email", f"must be an e-mail address such as ana@example.com, got {text!r}"
        )
    return email


def status_counts(status: MemberStatus, policy: Policy) -> bool:
    """Whether a member with ``status`` may occupy a seat under ``policy``: active always, pending
    only when ``count_pending_invites``, deactivated only when ``count_deactivated``."""
    if status is MemberStatus.PENDING:
        return policy.count_pending_invites
    if status is MemberStatus.DEACTIVATED:
        return policy.count_deactivated
    return True


def seat_holders(roster: Roster, policy: Policy, at: datetime) -> frozenset[str]:
    """The e-mails that occupy a seat at instant ``at`` (aware UTC).

    A member occupies a seat when their status counts (``status_counts``) and they hold at least one
    live billable grant. Grants are half-open in time: a grant with ``expires_at`` counts strictly
    before that instant and no longer at it. The result is a set of persons, so one person counts
    once across every role, scope and workspace of the roster (the bundle rule).

    Example (upcoach): ana is Admin of the organization and Program Facilitator in programs p1 and
    p2; bob is only a Participant. ``seat_holders`` is ``{"ana@x.test"}``: one seat, not three.
    """
    recent = _recent_holders
    for entry in recent:
        if entry.roster is roster and entry.policy is policy and entry.since <= at < entry.until:
            return entry.holders
    counted = {status: status_counts(status, policy) for status in MemberStatus}
    # Members share grant sets (the store builds each distinct one once): each set is judged
    # once, by identity, while the roster holds it alive. The answer stays the same from the last
    # billable grant expiry at or before ``at`` (``since``) until the next one after it (``until``).
    seated_by: dict[int, bool] = {}
    since, until = _DAWN, _NEVER
    emails = []
    for member in roster.members:
        if not counted[member.status]:
            continue
        grants = member.grants
        seated = seated_by.get(id(grants))
        if seated is None:
            seated = False
            for grant in grants:
                if not policy.is_billable(grant.role):
                    continue
                expires_at = grant.expires_at
                if expires_at is None:
                    seated = True
                elif at < expires_at:
                    seated = True
                    until = min(until, expires_at)
                else:
                    since = max(since, expires_at)
            seated_by[id(grants)] = seated
        if seated:
            emails.append(member.email)
    holders = frozenset(emails)
    _remember_holders(_HoldersEntry(roster, policy, since, until, holders), recent)
    return holders


_DAWN = datetime.min.replace(tzinfo=UTC)
_NEVER = datetime.max.replace(tzinfo=UTC)


class _HoldersEntry(NamedTuple):
    roster: Roster
    policy: Policy
    since: datetime
    until: datetime
    holders: frozenset[str]


# The last answers of ``seat_holders``: one seat change asks it several times for the rosters
# before and after it (the check, the usage before and after, the ledger), the next change in the
# same process asks it again about the roster the last one left, and each answer walks the whole
# roster. Rosters and policies are immutable, so the same objects give the same answer for every
# instant between two expiries of their grants; an entry holds them, so their ids cannot be
# reused while it is kept. The tuple is replaced whole (one assignment), so a thread reads either
# the old answers or the new ones.
_RECENT = 4
_recent_holders: tuple[_HoldersEntry, ...] = ()


def _remember_holders(entry: _HoldersEntry, recent: tuple[_HoldersEntry, ...]) -> None:
    global _recent_holders
    _recent_holders = (entry, *recent[: _RECENT - 1])


def free_role_holders(roster: Roster, policy: Policy, at: datetime) -> frozenset[str]:
    """The e-mails counted against the free allowance at instant ``at`` (aware UTC).

    A person counts when a membership with a counted status holds a live grant of the allowance's
    role (half-open, as in ``seat_holders``), whether or not they also hold a seat. A seated person's
    free grant keeps its place because the seat can go at any time, by itself (an expiring role)
    or by a change nobody should be refused for (removing a role): counting it from the start means
    the free allowance can never be overrun by anything but a decision that checks it. Empty when
    the policy has no free allowance.

    Example (Plaky, 5 viewers per paid seat): ana is Admin, bob is Viewer, cleo is Admin and
    Viewer. ``free_role_holders`` is ``{"bob@x.test", "cleo@x.test"}``.
    """
    allowance = policy.free_allowance
    if allowance is None:
        return frozenset()
    return frozenset(
        member.email
        for member in roster.members
        if status_counts(member.status, policy)
        and any(g.role == allowance.role and g.live_at(at) for g in member.grants)
    )


def seat_usage(roster: Roster, policy: Policy, seats_total: int, at: datetime) -> SeatUsage:
    """Seats of a subscription at instant ``at``: ``seats_total`` bought, ``used`` persons.

    ``used`` is ``len(seat_holders(...))``. With a free allowance, ``free_used`` is
    ``len(free_role_holders(...))`` and ``free_allowed`` is ``per_paid_seat x seats_total``;
    without one both are None. ``available`` is clamped at 0 when more are used than bought.

    Example (Plaky): 10 seats, 3 Admins/Members and 12 Viewers give
    ``SeatUsage(total=10, used=3, free_used=12, free_allowed=50)``: 7 seats and 38 Viewer places
    available.
    """
    used = len(seat_holders(roster, policy, at))
    allowance = policy.free_allowance
    if allowance is None:
        return SeatUsage(total=seats_total, used=used)
    return SeatUsage(
        total=seats_total,
        used=used,
        free_used=len(free_role_holders(roster, policy, at)),
        free_allowed=allowance.per_paid_seat * seats_total,
    )
