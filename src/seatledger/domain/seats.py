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
from typing import Generic, NamedTuple, TypeVar

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


_Key = TypeVar("_Key")
_Answer = TypeVar("_Answer")

# A member's place in a roster: (workspace, e-mail).
RosterKey = tuple[str, str]
# The most changes a line of rosters carries on (its origin, from the start of the line): each
# ``put`` copies them.
_ORIGIN_CHANGES = 64


@dataclass(frozen=True, slots=True)
class RosterOrigin:
    """The roster a roster was made from by ``put`` and ``drop``, and what changed since:
    (workspace, e-mail) -> (the member in ``base``, the member now), None for no member.

    A change touches a few members of a roster that may hold thousands; whoever knows ``base``
    (the store wrote it, or counted its seats) can then look at these members only."""

    base: Roster
    changed: Mapping[RosterKey, tuple[Member | None, Member | None]]
    # The members of the roster this one was made from directly, and what that one step changed
    # (set when ``base`` is further back). A change compares its roster with the one it started
    # from, which is then answered at once instead of by merging every change since ``base``.
    # The members, not their roster: no roster keeps a chain of earlier ones alive.
    step_from: tuple[Member, ...] | None = None
    step: Mapping[RosterKey, tuple[Member | None, Member | None]] | None = None


@dataclass(frozen=True, slots=True)
class Roster:
    """Every membership of the workspaces one subscription covers."""

    members: tuple[Member, ...] = ()
    origin: RosterOrigin | None = field(default=None, compare=False, repr=False)

    def find(self, email: str, workspace: str) -> Member | None:
        key = (workspace, email)
        origin = self.origin
        if origin is not None:
            # This roster is its origin's with the changes made: a member not changed is there.
            change = origin.changed.get(key)
            return change[1] if change is not None else _member_at(origin.base, key)
        return _member_at(self, key)

    def put(self, member: Member) -> Roster:
        """This roster with ``member`` added, or replacing the same (email, workspace)."""
        was = self.find(member.email, member.workspace)
        kept = self.members if was is None else tuple(m for m in self.members if m is not was)
        return Roster(
            (*kept, member), self._origin_with({(member.workspace, member.email): (was, member)})
        )

    def drop(self, email: str, workspace: str) -> Roster:
        was = self.find(email, workspace)
        kept = self.members if was is None else tuple(m for m in self.members if m is not was)
        return Roster(kept, self._origin_with({(workspace, email): (was, None)}))

    def with_changes(
        self,
        members: tuple[Member, ...],
        changes: Mapping[RosterKey, tuple[Member | None, Member | None]],
    ) -> Roster:
        """A roster of ``members``, which are this roster's with ``changes`` made (by key: the
        member here, the member in ``members``), in whatever order the caller keeps."""
        return Roster(members, self._origin_with(changes))

    def _origin_with(
        self, changes: Mapping[RosterKey, tuple[Member | None, Member | None]]
    ) -> RosterOrigin | None:
        # Always from the first roster of a line of changes (which has no origin): what is known
        # of it answers for all of them, and no roster keeps a chain of earlier ones alive.
        origin = self.origin
        if origin is None:
            return RosterOrigin(self, dict(changes))
        if len(origin.changed) > _ORIGIN_CHANGES:
            # Too many to carry on: a new line starts at this roster's members (wrapped anew, so
            # the line before is let go), whose answers the caller has usually asked for already.
            changed = dict(changes)
            return RosterOrigin(Roster(self.members), changed, self.members, changed)
        # A line within the bound takes any number of changes once: a roster caught up with a
        # hundred memberships written elsewhere is still counted from the line's base, which is
        # known, and not walked.
        merged = dict(origin.changed)
        for key, (was, now) in changes.items():
            first = merged.get(key)
            merged[key] = (was if first is None else first[0], now)
        return RosterOrigin(origin.base, merged, self.members, dict(changes))

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


# Rosters up to this size are walked to find a member; larger ones are indexed once (kept as
# ``seat_holders``' answers are: a change's decisions ask the roster it starts from again and
# again, and so does the next change made from it).
_WALKED = 32


def _member_at(roster: Roster, key: RosterKey) -> Member | None:
    """The member of ``roster`` at (workspace, e-mail) ``key``, or None."""
    members = roster.members
    if len(members) <= _WALKED:
        workspace, email = key
        for member in members:
            if member.email == email and member.workspace == workspace:
                return member
        return None
    known = _known_indexes.get(id(members))
    if known is not None and known[0] is members:
        return known[1].get(key)
    index = {(m.workspace, m.email): m for m in members}
    # The entry holds the members, so their id is not reused while it is kept.
    _known_indexes.put(id(members), (members, index), len(members))
    return index.get(key)


def changes_since(
    roster: Roster, base: Roster
) -> Mapping[RosterKey, tuple[Member | None, Member | None]] | None:
    """What ``roster`` changed from ``base`` (as ``RosterOrigin.changed``): nothing when they hold
    the same members tuple; None when it was not made from ``base`` by ``put`` and ``drop``
    (compare them whole).

    ``base`` may also have been made from ``roster`` (its changes undone are the answer), or
    both from one roster: the answer is then what differs between their changes from it, each
    member as ``base`` holds it and as ``roster`` does."""
    if roster.members is base.members:
        return {}
    other = base.origin
    if other is not None and other.base is roster:
        # ``base`` was made from ``roster``: its changes, undone.
        return {key: (now, was) for key, (was, now) in other.changed.items()}
    origin = roster.origin
    if origin is None:
        return None
    if origin.base is base:
        return origin.changed
    if origin.step_from is base.members and origin.step is not None:
        return origin.step
    if other is None or other.base is not origin.base:
        return None
    mine, theirs = origin.changed, other.changed
    changed: dict[RosterKey, tuple[Member | None, Member | None]] = {}
    for key in mine.keys() | theirs.keys():
        in_base = theirs[key][1] if key in theirs else mine[key][0]
        now = mine[key][1] if key in mine else theirs[key][0]
        if in_base is not now:
            changed[key] = (in_base, now)
    return changed


def normalize_email(text: str) -> str:
    """The identity of a person: the e-mail trimmed and lower-cased; refused unless it has one
    ``@`` with text on both sides and no spaces."""
    email = text.strip().lower() if isinstance(text, str) else ""
    local, at, domain = email.partition("@")
    # ``split()`` breaks at exactly the characters ``isspace`` names, in one pass of C.
    if not at or not local or not domain or "@" in domain or len(email.split()) != 1:
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
    members = roster.members
    known = _known_holders
    entry = known.get((id(members), id(policy)))
    if entry is not None and entry.answers(members, policy, at):
        return entry.holders
    origin = roster.origin
    if origin is not None:
        for source, changes in _made_from(origin):
            entry = known.get((id(source), id(policy)))
            if entry is not None and entry.answers(source, policy, at):
                derived = _derived_holders(entry, roster, changes.values(), at)
                _remember_holders(derived)
                return derived.holders
    counted = {status: status_counts(status, policy) for status in MemberStatus}
    # Members share grant sets (the store builds each distinct one once): each set is judged
    # once, by identity, while the roster holds it alive. The answer stays the same from the last
    # billable grant expiry at or before ``at`` (``since``) until the next one after it (``until``).
    seated_by: dict[int, bool] = {}
    window = [_DAWN, _NEVER]
    seats: dict[str, int] = {}  # e-mail -> memberships holding a seat (one person, one seat)
    for member in roster.members:
        if not counted[member.status]:
            continue
        grants = member.grants
        seated = seated_by.get(id(grants))
        if seated is None:
            seated = seated_by[id(grants)] = _seated(grants, policy, at, window)
        if seated:
            seats[member.email] = seats.get(member.email, 0) + 1
    entry = _HoldersEntry(roster, policy, window[0], window[1], frozenset(seats), seats)
    _remember_holders(entry)
    return entry.holders


def _seated(
    grants: frozenset[RoleGrant], policy: Policy, at: datetime, window: list[datetime]
) -> bool:
    """Whether ``grants`` hold a seat at ``at``; narrows ``window`` ([since, until)) to the
    instants around ``at`` where that stays so."""
    seated = False
    for grant in grants:
        if not policy.is_billable(grant.role):
            continue
        expires_at = grant.expires_at
        if expires_at is None:
            seated = True
        elif at < expires_at:
            seated = True
            window[1] = min(window[1], expires_at)
        else:
            window[0] = max(window[0], expires_at)
    return seated


def _derived_holders(
    entry: _HoldersEntry,
    roster: Roster,
    changed: Iterable[tuple[Member | None, Member | None]],
    at: datetime,
) -> _HoldersEntry:
    """``entry`` (the answer for the roster ``roster`` was made from) with the changed members
    taken out and put back as they are now: the same answer as a walk of ``roster``, for the
    instants both the old answer and the changed members' grants agree on."""
    policy = entry.policy
    window = [entry.since, entry.until]
    seats = dict(entry.seats)
    for was, now in changed:
        # ``was`` is part of the old answer, valid over its window already.
        if _holds_seat(was, policy, at, [_DAWN, _NEVER]):
            assert was is not None
            left = seats[was.email] - 1
            if left:
                seats[was.email] = left
            else:
                del seats[was.email]
        if _holds_seat(now, policy, at, window):
            assert now is not None
            seats[now.email] = seats.get(now.email, 0) + 1
    return _HoldersEntry(roster, policy, window[0], window[1], frozenset(seats), seats)


def _holds_seat(
    member: Member | None, policy: Policy, at: datetime, window: list[datetime]
) -> bool:
    return (
        member is not None
        and status_counts(member.status, policy)
        and _seated(member.grants, policy, at, window)
    )


_DAWN = datetime.min.replace(tzinfo=UTC)
_NEVER = datetime.max.replace(tzinfo=UTC)


class _HoldersEntry(NamedTuple):
    roster: Roster
    policy: Policy
    since: datetime
    until: datetime
    holders: frozenset[str]
    seats: Mapping[str, int]

    def answers(self, members: tuple[Member, ...], policy: Policy, at: datetime) -> bool:
        return (
            self.roster.members is members
            and self.policy is policy
            and self.since <= at < self.until
        )


# What ``seat_holders`` and ``earliest_expiry`` worked out, by roster (and ``Roster.find``'s
# indexes of large rosters). One seat change asks them
# several times about the rosters before and after it (the check, the usage before and after, the
# ledger), and the next change of the subscription asks again about the roster the last one left,
# however many other subscriptions' changes came between; each answer walks the whole roster.
# Rosters and policies are immutable, so the same objects give the same answer for every instant
# between two expiries of their grants. Answers are kept by the id of the roster's members tuple
# (a roster wrapping the same tuple, ``Roster(other.members)``, has the same answers) and of the
# policy, and an entry holds both, so their ids are not reused while it is kept. A roster made by
# ``put`` and ``drop`` is answered from the answer for the roster it was made from directly, or
# for its origin's base, and the members changed.
class _Answers(Generic[_Key, _Answer]):
    """Answers kept for up to ``_ANSWERS_HELD`` rosters holding up to ``_MEMBERS_HELD`` members
    in all (with their seat counts per e-mail, a few MB at most): past either, the table starts
    over empty (one assignment, so a thread reads an answer or none, never half of one). The
    billing run asks about every subscription it renews once: what it leaves here must not grow
    with the number renewed."""

    __slots__ = ("held", "table")

    def __init__(self) -> None:
        self.table: dict[_Key, _Answer] = {}
        self.held = 0

    def get(self, key: _Key) -> _Answer | None:
        return self.table.get(key)

    def put(self, key: _Key, answer: _Answer, members: int) -> None:
        table = self.table
        if self.held + members > _MEMBERS_HELD or len(table) >= _ANSWERS_HELD:
            table = self.table = {}
            self.held = 0
        table[key] = answer
        self.held += members


_ANSWERS_HELD = 1024
_MEMBERS_HELD = 50_000
_known_holders: _Answers[tuple[int, int], _HoldersEntry] = _Answers()
_known_expiries: _Answers[int, tuple[tuple[Member, ...], datetime | None]] = _Answers()
_known_indexes: _Answers[int, tuple[tuple[Member, ...], dict[RosterKey, Member]]] = _Answers()


def _made_from(
    origin: RosterOrigin,
) -> list[tuple[tuple[Member, ...], Mapping[RosterKey, tuple[Member | None, Member | None]]]]:
    """The members of the rosters a roster was made from, with what changed since each: the one
    it was made from directly first (one step), then its origin's base."""
    sources = [(origin.base.members, origin.changed)]
    if origin.step_from is not None and origin.step is not None:
        sources.insert(0, (origin.step_from, origin.step))
    return sources


def _remember_holders(entry: _HoldersEntry) -> None:
    members = entry.roster.members
    _known_holders.put((id(members), id(entry.policy)), entry, len(members))


def earliest_expiry(roster: Roster) -> datetime | None:
    """The first instant a grant of ``roster`` expires at, or None when none expires.

    Kept by roster (as ``seat_holders``); a roster made by ``put`` and ``drop`` from one answered
    is answered from that answer and the members it changed, unless a member it took out held
    that first expiry (then the roster is walked)."""
    members = roster.members
    known = _known_expiries
    entry = known.get(id(members))
    if entry is not None and entry[0] is members:
        return entry[1]
    found: tuple[bool, datetime | None] = (False, None)
    origin = roster.origin
    if origin is not None:
        for source, changes in _made_from(origin):
            entry = known.get(id(source))
            if entry is not None and entry[0] is source:
                found = _derived_expiry(entry[1], changes.values())
                break
    earliest = found[1] if found[0] else _walked_expiry(roster)
    known.put(id(members), (members, earliest), len(members))
    return earliest


def _walked_expiry(roster: Roster) -> datetime | None:
    earliest = None
    seen: set[int] = set()  # grant sets are shared between members: each is read once
    for member in roster.members:
        grants = member.grants
        if id(grants) in seen:
            continue
        seen.add(id(grants))
        for grant in grants:
            expires_at = grant.expires_at
            if expires_at is not None and (earliest is None or expires_at < earliest):
                earliest = expires_at
    return earliest


def _derived_expiry(
    base: datetime | None, changed: Iterable[tuple[Member | None, Member | None]]
) -> tuple[bool, datetime | None]:
    """(known, earliest) from the base roster's earliest expiry and the changed members."""
    earliest = base
    for was, now in changed:
        if was is not None and any(g.expires_at == base for g in was.grants if base is not None):
            return (False, None)  # it may have been the only one to expire then
        if now is not None:
            for grant in now.grants:
                expires_at = grant.expires_at
                if expires_at is not None and (earliest is None or expires_at < earliest):
                    earliest = expires_at
    return (True, earliest)


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
