"""Fair billing (``inactive_after``): a seat holder idle for too long is not billed while idle.

Slack's Fair Billing Policy is the model: a member who has not used the product for a set time
counts as inactive from that instant, the unused part of the period already paid for their seat is
credited, prorated from then; when they are active again their seat is billed again, prorated from
that moment. The member keeps their seat the whole time: only billing changes.

The record per seat holder is a ``MemberActivity``: the last instant activity was reported
(``last_active_at``; a member's activity starts when they start holding a seat) and, while fair
billing does not bill them, the instant it stopped (``inactive_at``). A holder goes inactive at
``last_active_at + inactive_after`` (half-open: active strictly before that instant, inactive at
it). The ``ActivityBook`` holds the records of one subscription, and what the store holds, so only
the difference is written.

The seats themselves are priced by the billing engine as every other change: in automatic seat
mode the wanted seat count is the seat holders minus the inactive ones (``inactive_seat_count``),
so going inactive is a decrease (credited as ``proration.on_decrease`` says) and coming back an
increase (charged as ``proration.on_increase`` says), both at their own instant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import MappingProxyType

from seatledger.domain.periods import require_utc
from seatledger.domain.policy import Policy
from seatledger.domain.seats import Roster, seat_holders


@dataclass(frozen=True, slots=True)
class MemberActivity:
    """One seat holder's activity: last reported at ``last_active_at``; ``inactive_at`` is the
    instant fair billing stopped billing them, None while they are billed."""

    last_active_at: datetime
    inactive_at: datetime | None = None

    def inactive_from(self, inactive_after: timedelta) -> datetime:
        """The instant the holder goes inactive without more activity (``last + inactive_after``)."""
        return self.last_active_at + inactive_after


def _frozen(entries: Mapping[str, MemberActivity]) -> Mapping[str, MemberActivity]:
    return MappingProxyType(dict(entries))


@dataclass(frozen=True, slots=True)
class ActivityBook:
    """The activity of a subscription's seat holders, by e-mail.

    ``stored`` is what the store holds for them (as loaded or last written), None when the book
    was not loaded from the store (fair billing off, or a state built without it): then there is
    nothing to compare with and ``changes`` is every entry.
    """

    entries: Mapping[str, MemberActivity] = field(default_factory=lambda: _frozen({}))
    stored: Mapping[str, MemberActivity] | None = None

    @classmethod
    def loaded(cls, entries: Mapping[str, MemberActivity]) -> ActivityBook:
        """A book as read from the store: its entries are what the store holds."""
        frozen = _frozen(entries)
        return cls(entries=frozen, stored=frozen)

    def put(self, email: str, activity: MemberActivity) -> ActivityBook:
        return replace(self, entries=_frozen({**self.entries, email: activity}))

    def changes(self) -> tuple[dict[str, MemberActivity], tuple[str, ...]]:
        """What to write: the entries added or changed since ``stored``, and the e-mails whose
        entry is gone (sorted)."""
        stored = self.stored or {}
        upserts = {e: a for e, a in self.entries.items() if stored.get(e) != a}
        deleted = tuple(sorted(set(stored) - set(self.entries)))
        return upserts, deleted

    def saved(self) -> ActivityBook:
        """The book once ``changes`` are written: the store now holds its entries."""
        return replace(self, stored=self.entries)


def track_holders(book: ActivityBook, holders: Iterable[str], at: datetime) -> ActivityBook:
    """The book following the seat holders at ``at`` (aware UTC): a holder without an entry starts
    with ``last_active_at = at`` (joining counts as activity), an entry of someone who no longer
    holds a seat is dropped (coming back later is a new start, never an old idle stretch).

    Example: entries for ana and bob, holders {ana, cleo} at 2026-04-10: the book keeps ana's
    entry, drops bob's, and gives cleo ``MemberActivity(2026-04-10)``.
    """
    at = require_utc(at, "at")
    wanted = frozenset(holders)
    entries = {e: a for e, a in book.entries.items() if e in wanted}
    for email in wanted - set(entries):
        entries[email] = MemberActivity(last_active_at=at)
    if entries == dict(book.entries):
        return book
    return replace(book, entries=_frozen(entries))


def _holders_at(roster: Roster, policy: Policy, at: datetime) -> frozenset[str]:
    return seat_holders(roster, policy, at)


def next_inactive_at(book: ActivityBook, roster: Roster, policy: Policy) -> datetime | None:
    """The next instant a billed seat holder goes inactive, or None (fair billing off, or nobody
    billed left to go).

    Candidates are the entries not inactive yet, each at ``last_active_at + inactive_after``; the
    first one whose person holds a seat at that instant wins (a holder whose billable role expires
    earlier is not billed then anyway).

    Example (``inactive_after: P14D``): ana last active 2026-04-01T09:00Z, bob 2026-04-03: the next
    instant is 2026-04-15T09:00Z.
    """
    after = policy.inactive_after
    if after is None:
        return None
    candidates = sorted(
        {(a.inactive_from(after), e) for e, a in book.entries.items() if a.inactive_at is None}
    )
    for due, email in candidates:
        if email in _holders_at(roster, policy, due):
            return due
    return None


def going_inactive(
    book: ActivityBook, roster: Roster, policy: Policy, at: datetime
) -> tuple[str, ...]:
    """The billed seat holders at ``at`` whose idle time has reached ``inactive_after`` by ``at``
    (``last_active_at + inactive_after <= at``), sorted by e-mail. Empty when fair billing is off.

    Example (``P14D``): ana last active 2026-04-01, at 2026-04-15 gives ``("ana@x.test",)``; at
    2026-04-14T23:59:59Z nobody.
    """
    after = policy.inactive_after
    if after is None:
        return ()
    holders = _holders_at(roster, policy, at)
    return tuple(
        sorted(
            e
            for e, a in book.entries.items()
            if a.inactive_at is None and e in holders and a.inactive_from(after) <= at
        )
    )


def mark_inactive(book: ActivityBook, emails: Iterable[str], at: datetime) -> ActivityBook:
    """The book with each of ``emails`` (entries of the book) inactive from ``at``."""
    entries = dict(book.entries)
    for email in emails:
        entries[email] = replace(entries[email], inactive_at=at)
    return replace(book, entries=_frozen(entries))


def inactive_seat_count(book: ActivityBook, roster: Roster, policy: Policy, at: datetime) -> int:
    """How many seat holders at ``at`` fair billing does not bill: those marked inactive. Zero
    when fair billing is off, whatever the book says.

    Example: holders ana, bob and cleo, bob marked inactive: 1 (the wanted seat count is 2).
    """
    if policy.inactive_after is None:
        return 0
    holders = _holders_at(roster, policy, at)
    return sum(1 for e, a in book.entries.items() if e in holders and a.inactive_at is not None)


@dataclass(frozen=True, slots=True)
class ActivityReport:
    """What recording one person's activity did: the book after it, and whether the person is
    billed again from now on (``back``: they were inactive and the activity is recent enough)."""

    book: ActivityBook
    back: bool


def report_activity(
    book: ActivityBook,
    email: str,
    *,
    active_at: datetime,
    now: datetime,
    inactive_after: timedelta,
) -> ActivityReport:
    """Record that ``email`` (a seat holder) was active at ``active_at`` (<= ``now``; aware UTC).

    ``last_active_at`` becomes the later of the one held and ``active_at`` (reports may arrive out
    of order). A holder marked inactive is billed again from ``now``, the instant the activity is
    known, when it is recent enough to count now: ``active_at + inactive_after > now``. An older
    report only moves ``last_active_at``, since the holder would be inactive again at once.

    Example (``P14D``, ana inactive since 2026-04-15): a report of 2026-04-20 made at 2026-04-20
    brings her back (``back`` True); one of 2026-04-02 made at 2026-04-20 does not.
    """
    active_at = require_utc(active_at, "at")
    current = book.entries.get(email)
    if current is None:
        return ActivityReport(book.put(email, MemberActivity(last_active_at=active_at)), False)
    last = max(current.last_active_at, active_at)
    back = current.inactive_at is not None and active_at + inactive_after > now
    inactive_at = None if back else current.inactive_at
    updated = MemberActivity(last_active_at=last, inactive_at=inactive_at)
    if updated == current:
        return ActivityReport(book, False)
    return ActivityReport(book.put(email, updated), back)
