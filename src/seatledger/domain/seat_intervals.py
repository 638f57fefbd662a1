"""Seat intervals: who held a seat, where, in which role, from when to when, and why; and how the
people behind an invoice line add up to it.

A **holding** is one person holding one counted role in one workspace (optionally scoped): a
billable role is a ``seat`` holding, the free allowance's role a ``free`` holding (a place counted
against the allowance). A holding counts exactly when ``domain/seats.py`` counts it: the member's
status counts under the policy (pending only with ``count_pending_invites``, deactivated only with
``count_deactivated``) and the grant is live (half-open: an assignment with ``expires_at`` counts
strictly before that instant). A person with several holdings still uses one seat.

The seat ledger keeps one **interval** per holding and stretch of time, ``[started_at, ended_at)``
(half-open; ``ended_at`` None while it lasts), with the reason it started and the reason it ended.
``interval_changes`` says which holdings a roster change closed and opened; ``explain_line`` turns
the intervals into the people behind one invoice line, so that they add up exactly to the line's
quantity and amount.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from seatledger.domain.invoices import InvoiceLine, LineKind
from seatledger.domain.money import Money
from seatledger.domain.periods import Period
from seatledger.domain.policy import Policy
from seatledger.domain.seats import Roster, changes_since, earliest_expiry, status_counts


class HoldingKind(StrEnum):
    SEAT = "seat"  # a billable role: the person uses one of the subscription's seats
    FREE = "free"  # the free allowance's role: a place counted against the allowance


class IntervalReason(StrEnum):
    """Why a holding started or ended."""

    SUBSCRIBE = "subscribe"
    INVITE = "invite"
    ACCEPT = "accept"
    ROLE_CHANGE = "role_change"
    DEACTIVATION = "deactivation"
    REACTIVATION = "reactivation"
    EXPIRY = "expiry"
    DELETION = "deletion"
    CANCELLATION = "cancellation"
    # A change none of the above names (a plan's policy replaced, a record repaired).
    CHANGE = "change"


@dataclass(frozen=True, slots=True)
class Holding:
    """One person (``email``) holding ``role`` in ``workspace`` (and ``scope``, None = all of it)."""

    email: str
    workspace: str
    role: str
    scope: str | None
    kind: HoldingKind

    def _key(self) -> tuple[str, str, str, str, str]:
        return (self.email, self.workspace, self.role, self.scope or "", self.kind.value)


@dataclass(frozen=True, slots=True)
class HoldingChange:
    """``holding`` opened or closed at instant ``at`` (aware UTC), for ``reason``."""

    holding: Holding
    at: datetime
    reason: IntervalReason


@dataclass(frozen=True, slots=True)
class IntervalChanges:
    closed: tuple[HoldingChange, ...] = ()
    opened: tuple[HoldingChange, ...] = ()


def _held(roster: Roster, policy: Policy) -> dict[Holding, datetime | None]:
    """Every counted holding of ``roster`` with its expiry, whatever the time (None = never)."""
    allowance = policy.free_allowance
    held: dict[Holding, datetime | None] = {}
    for member in roster.members:
        if not status_counts(member.status, policy):
            continue
        for grant in member.grants:
            if policy.is_billable(grant.role):
                kind = HoldingKind.SEAT
            elif allowance is not None and grant.role == allowance.role:
                kind = HoldingKind.FREE
            else:
                continue
            holding = Holding(member.email, member.workspace, grant.role, grant.scope, kind)
            # Two grants of one role and scope cannot be stored; if a roster has them anyway the
            # later expiry (or none) is the one that keeps the holding alive.
            known = held.get(holding, grant.expires_at)
            if known is None or grant.expires_at is None:
                held[holding] = None
            else:
                held[holding] = max(known, grant.expires_at)
    return held


def holdings(roster: Roster, policy: Policy, at: datetime) -> frozenset[Holding]:
    """The holdings of ``roster`` that count at instant ``at`` (aware UTC).

    Seat holdings are the billable grants of the members ``seat_holders`` counts, so the persons
    of the seat holdings are exactly ``seat_holders(roster, policy, at)``; free holdings are the
    grants of the free allowance's role ``free_role_holders`` counts. Grants are half-open: one
    with ``expires_at`` counts strictly before it.

    Example (Plaky): ana is an active Admin, bob a pending Viewer (pending invites count): the
    holdings are ``(ana, main, admin, seat)`` and ``(bob, main, viewer, free)``.
    """
    return frozenset(
        holding
        for holding, expires_at in _held(roster, policy).items()
        if expires_at is None or at < expires_at
    )


def interval_changes(
    before: Roster, after: Roster, policy: Policy, at: datetime, reason: IntervalReason
) -> IntervalChanges:
    """The holdings a change closed and opened: ``before`` is the roster as last written, ``after``
    the roster the change leaves at instant ``at`` (aware UTC), ``reason`` what the change did.

    Every grant of ``before`` was live when it was written (expired grants are removed by the
    change that passes their instant), so ``before`` is read whatever the time, and ``after`` at
    ``at``. Rules:

    - a holding of ``before`` whose grant expired by ``at`` (``expires_at <= at``) closed at its
      ``expires_at`` with reason ``expiry``, not at ``at``; if ``after`` holds it again (granted
      anew), it opens again at ``at`` with ``reason``;
    - any other holding of ``before`` that ``after`` does not hold at ``at`` closes at ``at``;
    - a holding of ``after`` that ``before`` did not have opens at ``at``;
    - a holding on both sides is left alone, even if its expiry moved.

    Both lists are sorted by holding. Example (reviewer, pending invites count): bob is invited as
    reviewer at 2026-04-10 (``before`` without him, ``after`` with him pending): one ``opened``
    change, ``(bob, main, reviewer, seat)`` at 2026-04-10 for ``invite``, and nothing closed.
    """
    # A member that is the same object on both sides, with no grant that expired by ``at``, keeps
    # every holding: only the others can close or open one. A change touches a few members of a
    # roster that may hold thousands and leaves the others' objects as they were, so those are
    # left out by identity (cheaper than hashing every member) before any holding is built; an
    # equal member built anew goes through the rules below, which leave it alone as well.
    changes = changes_since(after, before)
    if changes is not None and _live_at(before, at):
        # ``after`` was made from ``before`` by put and drop: only the members it names changed.
        before = Roster(tuple(was for was, _ in changes.values() if was is not None))
        after = Roster(tuple(now for _, now in changes.values() if now is not None))
        return _holding_changes(before, after, policy, at, reason)
    on_both = {id(m) for m in after.members}
    unexpired: dict[int, bool] = {}  # by grant set, shared between members (as in seat_holders)
    kept = set()
    for m in before.members:
        if id(m) not in on_both:
            continue
        live = unexpired.get(id(m.grants))
        if live is None:
            live = unexpired[id(m.grants)] = all(
                g.expires_at is None or at < g.expires_at for g in m.grants
            )
        if live:
            kept.add(id(m))
    if kept:
        before = Roster(tuple(m for m in before.members if id(m) not in kept))
        after = Roster(tuple(m for m in after.members if id(m) not in kept))
    return _holding_changes(before, after, policy, at, reason)


def _holding_changes(
    before: Roster, after: Roster, policy: Policy, at: datetime, reason: IntervalReason
) -> IntervalChanges:
    was = _held(before, policy)
    now = holdings(after, policy, at)
    closed: list[HoldingChange] = []
    opened: list[HoldingChange] = []
    for holding, expires_at in was.items():
        if expires_at is not None and expires_at <= at:
            closed.append(HoldingChange(holding, expires_at, IntervalReason.EXPIRY))
            if holding in now:
                opened.append(HoldingChange(holding, at, reason))
        elif holding not in now:
            closed.append(HoldingChange(holding, at, reason))
    opened += [HoldingChange(h, at, reason) for h in now if h not in was]
    return IntervalChanges(
        closed=tuple(sorted(closed, key=lambda c: c.holding._key())),
        opened=tuple(sorted(opened, key=lambda c: c.holding._key())),
    )


def _live_at(roster: Roster, at: datetime) -> bool:
    """True when no grant of ``roster`` expired by ``at``."""
    earliest = earliest_expiry(roster)
    return earliest is None or at < earliest


@dataclass(frozen=True, slots=True)
class SeatInterval:
    """One holding over ``[started_at, ended_at)`` (half-open; ``ended_at`` None while it lasts).

    ``person`` names who held it: the store's person id, which outlives an erased e-mail.
    """

    person: str
    workspace: str
    role: str
    scope: str | None
    kind: HoldingKind
    started_at: datetime
    start_reason: IntervalReason
    ended_at: datetime | None = None
    end_reason: IntervalReason | None = None

    def covers(self, at: datetime) -> bool:
        """Whether the holding lasts at ``at``: ``started_at <= at < ended_at``."""
        return self.started_at <= at and (self.ended_at is None or at < self.ended_at)

    def held_before(self, at: datetime) -> bool:
        """Whether the holding lasted the instant just before ``at`` (``started_at < at <=
        ended_at``): what a change at ``at`` found."""
        return self.started_at < at and (self.ended_at is None or at <= self.ended_at)

    def overlaps(self, period: Period) -> bool:
        return self.started_at < period.end and (
            self.ended_at is None or period.start < self.ended_at
        )


class EntryKind(StrEnum):
    PERSON = "person"  # a person holding a billed seat
    UNASSIGNED = "unassigned"  # a purchased seat nobody holds
    INCLUDED = "included"  # a seat holder covered by the plan's included seats (quantity 0)
    CHARGE = "charge"  # a line that explains itself: base fee, add-on pack, credit


UNASSIGNED_LABEL = "unassigned purchased seat"
INCLUDED_LABEL = "included in the plan"


@dataclass(frozen=True, slots=True)
class ExplanationEntry:
    """A part of a line: ``quantity`` of its units and the ``amount`` they account for.

    A ``person`` entry carries the person's id and their intervals behind the line."""

    kind: EntryKind
    quantity: int
    amount: Money
    person: str | None = None
    intervals: tuple[SeatInterval, ...] = ()


@dataclass(frozen=True, slots=True)
class LineExplanation:
    """One invoice line and the entries it is made of (their quantities and amounts add up to
    the line's)."""

    line: InvoiceLine
    entries: tuple[ExplanationEntry, ...]

    @property
    def quantity(self) -> int:
        return sum(entry.quantity for entry in self.entries)

    @property
    def amount(self) -> Money:
        total = Money.zero(self.line.amount.currency)
        for entry in self.entries:
            total = total + entry.amount
        return total


def _by_person(intervals: Iterable[SeatInterval]) -> dict[str, list[SeatInterval]]:
    people: dict[str, list[SeatInterval]] = {}
    for interval in intervals:
        if interval.kind is HoldingKind.SEAT:
            people.setdefault(interval.person, []).append(interval)
    return people


def _sorted(intervals: Iterable[SeatInterval]) -> tuple[SeatInterval, ...]:
    return tuple(
        sorted(intervals, key=lambda i: (i.started_at, i.workspace, i.role, i.scope or ""))
    )


def _seated(people: dict[str, list[SeatInterval]], at: datetime) -> list[str]:
    """Persons holding a seat at ``at``, longest-seated first (then by id)."""
    seated = [
        (min(i.started_at for i in held if i.covers(at)), person)
        for person, held in people.items()
        if any(i.covers(at) for i in held)
    ]
    return [person for _, person in sorted(seated)]


def explain_line(
    line: InvoiceLine, intervals: Sequence[SeatInterval], *, included_seats: int = 0
) -> LineExplanation:
    """The people and intervals behind ``line``, adding up exactly to its quantity and amount.

    ``intervals`` are the subscription's seat intervals (free holdings are ignored); the instant
    that matters is the line's ``period.start`` (``t``), when the line's seats were billed:

    - ``seats``: the persons holding a seat at ``t`` (half-open: a seat ended at ``t`` is not
      held), longest-seated first. The first ``included_seats`` of them are ``included`` entries
      (quantity 0: the plan covers them); the next ones, up to the line's quantity, are ``person``
      entries; bought seats nobody holds fill the rest as ``unassigned`` entries.
    - ``proration_charge``: the persons whose seat began at ``t`` (holding at ``t``, not just
      before), up to the line's quantity; ``unassigned`` entries fill the rest (seats bought
      ahead of use, as in manual mode).
    - ``proration_credit``: the persons whose seat ended at ``t`` (held just before, not at ``t``),
      up to the quantity, then ``unassigned`` entries (seats removed while unused).
    - any other line (base fee, add-on pack, credit applied) is one ``charge`` entry: itself.

    Amounts are split with ``Money.allocate`` by quantity, so they add up to the cent. A person's
    entry carries their seat intervals overlapping the line's period (for a credit: those that
    ended at ``t``). Example: a manual-mode seats line of 3 seats at EUR 30.00 with one holder
    (ana) is ana 1 seat EUR 10.00 and two unassigned purchased seats of EUR 10.00 each.
    """
    at = line.period.start
    people = _by_person(intervals)
    included: list[str] = []
    if line.kind is LineKind.SEATS:
        seated = _seated(people, at)
        cut = min(included_seats, len(seated))
        included, billed = seated[:cut], seated[cut:]
        shown = {p: _sorted(i for i in people[p] if i.overlaps(line.period)) for p in seated}
    elif line.kind is LineKind.PRORATION_CHARGE:
        billed = [
            p
            for p in sorted(people)
            if any(i.covers(at) for i in people[p])
            and not any(i.held_before(at) for i in people[p])
        ]
        shown = {p: _sorted(i for i in people[p] if i.overlaps(line.period)) for p in billed}
    elif line.kind is LineKind.PRORATION_CREDIT:
        billed = [
            p
            for p in sorted(people)
            if any(i.held_before(at) for i in people[p])
            and not any(i.covers(at) for i in people[p])
        ]
        shown = {p: _sorted(i for i in people[p] if i.ended_at == at) for p in billed}
    else:
        return LineExplanation(
            line, (ExplanationEntry(EntryKind.CHARGE, line.quantity, line.amount),)
        )
    billed = billed[: line.quantity]
    quantities = [0] * len(included) + [1] * line.quantity
    amounts = line.amount.allocate(quantities)
    entries = [
        ExplanationEntry(EntryKind.INCLUDED, 0, amount, person, shown[person])
        for person, amount in zip(included, amounts, strict=False)
    ]
    rest = amounts[len(included) :]
    for index, amount in enumerate(rest):
        if index < len(billed):
            person = billed[index]
            entries.append(ExplanationEntry(EntryKind.PERSON, 1, amount, person, shown[person]))
        else:
            entries.append(ExplanationEntry(EntryKind.UNASSIGNED, 1, amount))
    return LineExplanation(line, tuple(entries))
