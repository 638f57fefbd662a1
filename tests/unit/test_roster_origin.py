"""A roster made by ``put`` and ``drop`` knows the roster it was made from and what changed
(``RosterOrigin``); whatever is answered from that knowledge is what a walk of the whole roster
answers (``changes_since``, ``seat_holders``, ``earliest_expiry``, ``interval_changes``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seatledger.domain import seats
from seatledger.domain.policy import Policy
from seatledger.domain.seat_intervals import IntervalReason, interval_changes
from seatledger.domain.seats import (
    Member,
    MemberStatus,
    RoleGrant,
    Roster,
    RosterKey,
    changes_since,
    earliest_expiry,
    seat_holders,
)

AT = datetime(2026, 4, 10, tzinfo=UTC)
EMAILS = [f"p{i}@x.test" for i in range(6)]
WORKSPACES = ["main", "side"]
ROLES = ["owner", "admin", "member", "viewer"]

Step = tuple[str, str, str, Member | None]  # (email, workspace, "put" | "drop", member)

grants_st = st.frozensets(
    st.builds(
        RoleGrant,
        role=st.sampled_from(ROLES),
        scope=st.sampled_from([None, "p1"]),
        expires_at=st.sampled_from([None, AT - timedelta(days=1), AT + timedelta(days=3)]),
    ),
    max_size=3,
)
member_st = st.builds(
    Member,
    email=st.sampled_from(EMAILS),
    workspace=st.sampled_from(WORKSPACES),
    status=st.sampled_from(list(MemberStatus)),
    grants=grants_st,
)


@st.composite
def steps_st(draw: st.DrawFn, *, size: int = 8) -> list[Step]:
    steps: list[Step] = []
    for _ in range(draw(st.integers(0, size))):
        if draw(st.booleans()):
            member = draw(member_st)
            steps.append((member.email, member.workspace, "put", member))
        else:
            steps.append(
                (draw(st.sampled_from(EMAILS)), draw(st.sampled_from(WORKSPACES)), "drop", None)
            )
    return steps


def made(base: Roster, steps: list[Step]) -> Roster:
    roster = base
    for email, workspace, action, member in steps:
        roster = roster.put(member) if member is not None else roster.drop(email, workspace)
        assert action in ("put", "drop")
    return roster


def root(members: list[Member]) -> Roster:
    """A roster with no origin, one member per key (the last one drawn wins)."""
    by_key = {(m.workspace, m.email): m for m in members}
    return Roster(tuple(by_key.values()))


def as_set(roster: Roster) -> set[Member]:
    return set(roster.members)


def applied(
    base: Roster, changes: Mapping[RosterKey, tuple[Member | None, Member | None]]
) -> set[Member]:
    """``base``'s members with ``changes`` made, checking each names the member ``base`` has."""
    members = {(m.workspace, m.email): m for m in base.members}
    for key, (was, now) in changes.items():
        assert members.get(key) is was
        if now is None:
            members.pop(key, None)
        else:
            members[key] = now
    return set(members.values())


def forget() -> None:
    """Nothing is known of any roster: the next answer walks it."""
    seats._known_holders = seats._Answers()
    seats._known_expiries = seats._Answers()


def walked(roster: Roster, answer: Callable[[Roster], object]) -> object:
    forget()
    return answer(Roster(roster.members))


@given(st.lists(member_st, max_size=8), steps_st(), steps_st())
def test_changes_since_a_roster_or_a_sibling_make_one_roster_into_the_other(
    members: list[Member], mine: list[Step], theirs: list[Step]
) -> None:
    base = root(members)
    roster, other = made(base, mine), made(base, theirs)
    for changed_from in (base, other):
        changes = changes_since(roster, changed_from)
        if roster.origin is None and roster is not base:
            continue  # too many changes carried: compared whole instead
        if changed_from.origin is None and changed_from is not base:
            continue
        assert changes is not None
        assert applied(changed_from, changes) == as_set(roster)
    if roster.origin is not None or roster is base:
        back = changes_since(base, roster)
        assert back is not None
        assert applied(roster, back) == as_set(base)
    assert changes_since(roster, Roster(roster.members)) == {}


@given(st.lists(member_st, max_size=8), steps_st(), steps_st(size=1))
def test_changes_since_the_roster_it_was_made_from_are_that_step(
    members: list[Member], earlier: list[Step], last: list[Step]
) -> None:
    # A change's roster against the one the change started from, itself made from an earlier
    # one: the step is answered as it was made, not by merging every change since the first.
    parent = made(root(members), earlier)
    roster = made(parent, last)
    changes = changes_since(roster, parent)
    assert changes is not None
    assert applied(parent, changes) == as_set(roster)
    stepped = roster.members is not parent.members
    if stepped and parent.origin is not None and roster.origin is not None:
        assert changes is roster.origin.step
        # A roster of the parent's members, made some other way, gets the same answer.
        assert changes_since(roster, Roster(parent.members)) == changes


# ``seed_policy`` only builds policies: nothing of it is shared between examples.
FIXTURES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@FIXTURES
@given(
    members=st.lists(member_st, max_size=8),
    steps=steps_st(),
    seed=st.sampled_from(["plaky", "upcoach"]),
)
def test_seat_holders_and_the_first_expiry_answered_from_the_roster_made_from_equal_a_walk(
    members: list[Member],
    steps: list[Step],
    seed: str,
    seed_policy: Callable[..., Policy],
) -> None:
    policy = seed_policy(seed)
    base = root(members)
    roster = made(base, steps)
    for at in (AT - timedelta(days=2), AT, AT + timedelta(days=5)):
        forget()
        seat_holders(base, policy, at)
        earliest_expiry(base)
        assert seat_holders(roster, policy, at) == walked(
            roster, lambda r, at=at: seat_holders(r, policy, at)
        )
        forget()
        earliest_expiry(base)
        assert earliest_expiry(roster) == walked(roster, earliest_expiry)


@FIXTURES
@given(
    members=st.lists(member_st, max_size=8),
    first=steps_st(),
    then=steps_st(),
    seed=st.sampled_from(["plaky", "rallly"]),
)
def test_interval_changes_from_the_roster_made_from_equal_a_whole_comparison(
    members: list[Member],
    first: list[Step],
    then: list[Step],
    seed: str,
    seed_policy: Callable[..., Policy],
) -> None:
    policy = seed_policy(seed)
    # The roster as last written holds no grant expired by the change (an expiry is a change of
    # its own): drop those, as the change that passed their instant did.
    live = [m.with_grants(g for g in m.grants if g.live_at(AT)) for m in members]
    before = made(root(live), first)
    after = made(before, then)
    for at in (AT, AT + timedelta(days=5)):
        assert interval_changes(
            before, after, policy, at, IntervalReason.CHANGE
        ) == interval_changes(
            Roster(before.members), Roster(after.members), policy, at, IntervalReason.CHANGE
        )


def test_a_line_of_changes_passes_64_once_then_starts_anew_at_the_roster_before() -> None:
    roster = Roster()
    for i in range(64):
        roster = roster.put(Member(f"p{i}@x.test", "main", MemberStatus.ACTIVE))
    assert roster.origin is not None and len(roster.origin.changed) == 64
    longer = roster.put(Member("one-more@x.test", "main", MemberStatus.ACTIVE))
    assert longer.origin is not None and len(longer.origin.changed) == 65
    last = Member("last@x.test", "main", MemberStatus.ACTIVE)
    newer = longer.put(last)
    assert newer.origin is not None
    # The line before is let go: the new one starts at the same members, not at that roster.
    assert newer.origin.base.members is longer.members and newer.origin.base is not longer
    assert newer.origin.base.origin is None
    assert changes_since(newer, longer) == {("main", "last@x.test"): (None, last)}
    assert changes_since(newer, Roster()) is None
    assert len(newer.members) == 66


def test_a_roster_made_with_more_changes_than_a_line_carries_is_counted_from_the_one_before(
    seed_policy: Callable[..., Policy], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A roster kept by the store and caught up with a hundred memberships written elsewhere
    # (``with_changes``): its seats are its line's answer and the hundred, not a walk.
    policy = seed_policy("plaky")

    def admin(email: str) -> Member:
        grants = frozenset({RoleGrant("admin", email, AT + timedelta(days=3))})
        return Member(email, "main", MemberStatus.ACTIVE, grants)

    base = Roster(tuple(admin(f"k{i:03}@x.test") for i in range(300)))
    forget()
    assert len(seat_holders(base, policy, AT)) == 300
    assert earliest_expiry(base) == AT + timedelta(days=3)
    kept = base.put(admin("z-last@x.test"))  # a line of changes, never asked about itself
    added = [admin(f"n{i:03}@x.test") for i in range(100)]
    caught_up = kept.with_changes(
        (*kept.members, *added), {(m.workspace, m.email): (None, m) for m in added}
    )
    walked = counting_walks(monkeypatch)
    assert seat_holders(caught_up, policy, AT) == {m.email for m in caught_up.members}
    assert earliest_expiry(caught_up) == AT + timedelta(days=3)
    assert walked == {"grant sets": 101, "expiry walks": 0}
    assert seat_holders(caught_up, policy, AT) == seat_holders(
        Roster(caught_up.members), policy, AT
    )


def test_a_member_taken_out_that_held_the_first_expiry_makes_the_roster_walked() -> None:
    soon, later = AT + timedelta(days=1), AT + timedelta(days=9)
    ana = Member(
        "ana@x.test", "main", MemberStatus.ACTIVE, frozenset({RoleGrant("admin", None, soon)})
    )
    bob = Member(
        "bob@x.test", "main", MemberStatus.ACTIVE, frozenset({RoleGrant("admin", None, later)})
    )
    base = Roster((ana, bob))
    forget()
    assert earliest_expiry(base) == soon
    assert earliest_expiry(base.drop("ana@x.test", "main")) == later
    assert earliest_expiry(base.put(ana.with_grants([]))) == later


def test_the_next_change_of_a_roster_is_answered_from_it_after_many_others_were_asked(
    seed_policy: Callable[..., Policy], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A process serving many subscriptions asks about each one's roster in turn: the roster a
    # change leaves is still known when that subscription's next change comes, and the next
    # change's roster is worked out from it and the member it changed, not walked.
    policy = seed_policy("plaky")
    until = AT + timedelta(days=3)

    def admin(email: str, workspace: str) -> Member:
        # A grant set of its own: a walk looks at each member's, one at a time.
        grants = frozenset({RoleGrant("admin", email, until)})
        return Member(email, workspace, MemberStatus.ACTIVE, grants)

    emails = [f"p{i}@x.test" for i in range(5)]
    rosters = [Roster(tuple(admin(e, f"ws{n}") for e in emails)) for n in range(50)]
    forget()
    for roster in rosters:
        seat_holders(roster, policy, AT)
        earliest_expiry(roster)
    looked_at = counting_walks(monkeypatch)
    later = AT + timedelta(days=1)
    changed = rosters[0].put(admin("new@x.test", "ws0"))
    assert seat_holders(changed, policy, later) == {*emails, "new@x.test"}
    assert earliest_expiry(changed) == until
    then = changed.drop("p0@x.test", "ws0")
    assert seat_holders(then, policy, later) == {*emails[1:], "new@x.test"}
    # Only the changed members' grants were looked at: the one put, then the one dropped.
    assert looked_at == {"grant sets": 2, "expiry walks": 0}


def test_answers_are_kept_up_to_a_number_of_members_then_start_over() -> None:
    answers: seats._Answers[int, str] = seats._Answers()
    answers.put(1, "one", seats._MEMBERS_HELD - 10)
    answers.put(2, "two", 5)
    assert (answers.get(1), answers.get(2)) == ("one", "two")
    answers.put(3, "three", 10)  # past the budget: what was kept is let go
    assert (answers.get(1), answers.get(2), answers.get(3)) == (None, None, "three")


def test_answers_are_kept_for_a_number_of_rosters_then_start_over() -> None:
    # However small the rosters: a billing run asks about every subscription once.
    answers: seats._Answers[int, int] = seats._Answers()
    for n in range(seats._ANSWERS_HELD):
        answers.put(n, n, 1)
    assert answers.get(0) == 0 and answers.get(seats._ANSWERS_HELD - 1) == seats._ANSWERS_HELD - 1
    answers.put(-1, -1, 1)
    assert (answers.get(0), answers.get(-1)) == (None, -1)
    assert len(answers.table) == 1


def test_members_sharing_a_grant_set_expire_together() -> None:
    # The store builds each distinct grant set once; a walk reads a shared one once.
    soon = AT + timedelta(days=1)
    shared = frozenset({RoleGrant("admin", None, soon)})
    roster = Roster(
        tuple(Member(f"{name}@x.test", "main", MemberStatus.ACTIVE, shared) for name in "abc")
    )
    forget()
    assert earliest_expiry(roster) == soon
    assert earliest_expiry(roster.drop("a@x.test", "main")) == soon


def linear_find(roster: Roster, email: str, workspace: str) -> Member | None:
    found = [m for m in roster.members if m.email == email and m.workspace == workspace]
    assert len(found) <= 1
    return found[0] if found else None


@given(st.lists(member_st, max_size=6), steps_st(size=12))
def test_find_on_large_rosters_and_rosters_made_from_them_equals_a_walk(
    extra: list[Member], steps: list[Step]
) -> None:
    # Large enough to be indexed rather than walked.
    crowd = [Member(f"c{i}@x.test", "main", MemberStatus.ACTIVE) for i in range(40)]
    base = root(crowd + extra)
    roster = made(base, steps)
    for candidate in (base, roster, Roster(roster.members)):
        for email in [*EMAILS, "c0@x.test", "c39@x.test", "nobody@x.test"]:
            for workspace in WORKSPACES:
                assert candidate.find(email, workspace) is linear_find(candidate, email, workspace)


def counting_walks(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """From now on, how many grant sets are judged one at a time (``_seated``) and how many
    rosters are walked for their first expiry."""
    counts = {"grant sets": 0, "expiry walks": 0}

    def counted(key: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def count(*args: Any) -> Any:
            counts[key] += 1
            return function(*args)

        return count

    monkeypatch.setattr(seats, "_seated", counted("grant sets", seats._seated))
    monkeypatch.setattr(seats, "_walked_expiry", counted("expiry walks", seats._walked_expiry))
    return counts
