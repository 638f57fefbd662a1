"""Seat intervals: which holdings a roster change closes and opens, and why; and how the people
behind an invoice line add up exactly to its quantity and amount."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatledger.domain.invoices import InvoiceLine, LineKind
from seatledger.domain.money import Money
from seatledger.domain.periods import Period
from seatledger.domain.policy import Policy, policy_from_mapping
from seatledger.domain.seat_intervals import (
    Holding,
    HoldingChange,
    HoldingKind,
    IntervalChanges,
    IntervalReason,
    LineExplanation,
    SeatInterval,
    _held,
    explain_line,
    holdings,
    interval_changes,
)
from seatledger.domain.seats import Member, MemberStatus, RoleGrant, Roster, seat_holders

PolicyOf = Callable[..., Policy]
RosterOf = Callable[..., Roster]

AT = datetime(2026, 4, 10, tzinfo=UTC)


def email(name: str) -> str:
    return f"{name}@x.test"


def day(text: str) -> datetime:
    """``"04-16"`` -> 2026-04-16T00:00Z."""
    month, dom = (int(part) for part in text.split("-"))
    return datetime(2026, month, dom, tzinfo=UTC)


def expiring(roster: Roster, name: str, role: str, expires_at: datetime) -> Roster:
    """``roster`` with ``name``'s grant of ``role`` in ``main`` expiring at ``expires_at``."""
    member = roster.find(email(name), "main")
    assert member is not None
    grants = [
        RoleGrant(g.role, g.scope, expires_at) if g.role == role else g for g in member.grants
    ]
    return roster.put(member.with_grants(grants))


def changes_text(changes: tuple[HoldingChange, ...]) -> list[str]:
    """``"ana main admin seat 04-10 invite"`` per change, for readable comparisons."""
    out = []
    for change in changes:
        h = change.holding
        scope = f":{h.scope}" if h.scope else ""
        at = change.at.strftime("%m-%d")
        who = h.email.removesuffix("@x.test")
        out.append(f"{who} {h.workspace} {h.role}{scope} {h.kind} {at} {change.reason}")
    return out


@pytest.mark.parametrize(
    ("policy", "before", "after", "reason", "closed", "opened"),
    [
        pytest.param(
            "plaky",
            "ana active admin",
            "ana active admin; bob pending member",
            IntervalReason.INVITE,
            [],
            ["bob main member seat 04-10 invite"],
            id="plaky: a pending invite takes a seat at the invite (pending invites count)",
        ),
        pytest.param(
            "plaky count_pending_invites=false",
            "ana active admin",
            "ana active admin; bob pending member",
            IntervalReason.INVITE,
            [],
            [],
            id="pending invites not counted: the invite opens nothing",
        ),
        pytest.param(
            "plaky count_pending_invites=false",
            "ana active admin; bob pending member",
            "ana active admin; bob active member",
            IntervalReason.ACCEPT,
            [],
            ["bob main member seat 04-10 accept"],
            id="pending invites not counted: the seat starts when the invite is accepted",
        ),
        pytest.param(
            "plaky",
            "ana active admin; bob pending member",
            "ana active admin; bob active member",
            IntervalReason.ACCEPT,
            [],
            [],
            id="pending invites counted: accepting keeps the seat the invite took",
        ),
        pytest.param(
            "plaky",
            "ana active admin; bob active admin",
            "ana active admin; bob active member",
            IntervalReason.ROLE_CHANGE,
            ["bob main admin seat 04-10 role_change"],
            ["bob main member seat 04-10 role_change"],
            id="admin to member: one holding ends, the next starts at the same instant",
        ),
        pytest.param(
            "plaky",
            "ana active admin; bob active member",
            "ana active admin; bob active viewer",
            IntervalReason.ROLE_CHANGE,
            ["bob main member seat 04-10 role_change"],
            ["bob main viewer free 04-10 role_change"],
            id="plaky: member to viewer leaves the seat for a free place",
        ),
        pytest.param(
            "reviewer-pro",
            "ana active admin; bob active reviewer",
            "ana active admin; bob active member",
            IntervalReason.ROLE_CHANGE,
            ["bob main reviewer seat 04-10 role_change"],
            [],
            id="reviewer: a free role without an allowance holds nothing",
        ),
        pytest.param(
            "upcoach",
            "ana active admin",
            "ana active admin; bob active program_facilitator:p1 program_facilitator:p2",
            IntervalReason.ROLE_CHANGE,
            [],
            [
                "bob main program_facilitator:p1 seat 04-10 role_change",
                "bob main program_facilitator:p2 seat 04-10 role_change",
            ],
            id="upcoach: one holding per program scope, still one person",
        ),
        pytest.param(
            "upcoach",
            "ana active admin; bob active admin",
            "ana active admin; bob deactivated admin",
            IntervalReason.DEACTIVATION,
            ["bob main admin seat 04-10 deactivation"],
            [],
            id="upcoach: deactivation frees the seat",
        ),
        pytest.param(
            "upcoach count_deactivated=true",
            "ana active admin; bob active admin",
            "ana active admin; bob deactivated admin",
            IntervalReason.DEACTIVATION,
            [],
            [],
            id="deactivated members counted: deactivation keeps the seat",
        ),
        pytest.param(
            "plaky",
            "ana active admin; bob active member; bob/clockify active admin",
            "ana active admin",
            IntervalReason.DELETION,
            ["bob clockify admin seat 04-10 deletion", "bob main member seat 04-10 deletion"],
            [],
            id="plaky bundle: deleting a person ends every holding in every app",
        ),
        pytest.param(
            "plaky",
            "",
            "ana active owner",
            IntervalReason.SUBSCRIBE,
            [],
            ["ana main owner seat 04-10 subscribe"],
            id="subscribe: the owner's seat starts with the subscription",
        ),
        pytest.param(
            "plaky",
            "ana active owner; bob active member; cleo pending viewer",
            "",
            IntervalReason.CANCELLATION,
            [
                "ana main owner seat 04-10 cancellation",
                "bob main member seat 04-10 cancellation",
                "cleo main viewer free 04-10 cancellation",
            ],
            [],
            id="cancellation: every holding ends",
        ),
    ],
)
def test_interval_changes(
    seed_policy: PolicyOf,
    roster_of: RosterOf,
    policy: str,
    before: str,
    after: str,
    reason: IntervalReason,
    closed: list[str],
    opened: list[str],
) -> None:
    changes = interval_changes(roster_of(before), roster_of(after), seed_policy(policy), AT, reason)
    assert changes_text(changes.closed) == closed
    assert changes_text(changes.opened) == opened


@pytest.mark.parametrize(
    ("expires_on", "after_expires_on", "closed", "opened"),
    [
        pytest.param(
            "04-05",
            None,
            ["bob main implementation_admin free 04-05 expiry"],
            [],
            id="expired before the change: closed at its own instant, for expiry",
        ),
        pytest.param(
            "04-10",
            None,
            ["bob main implementation_admin free 04-10 expiry"],
            [],
            id="expiring at the change's instant: half-open, so it is over",
        ),
        pytest.param(
            "04-11",
            "04-11",
            [],
            [],
            id="expiring after the change: still held",
        ),
        pytest.param(
            "04-05",
            "05-10",
            ["bob main implementation_admin free 04-05 expiry"],
            ["bob main implementation_admin free 04-10 role_change"],
            id="expired, then granted anew: a gap between the two holdings",
        ),
    ],
)
def test_expiring_grants(
    seed_policy: PolicyOf,
    roster_of: RosterOf,
    expires_on: str,
    after_expires_on: str | None,
    closed: list[str],
    opened: list[str],
) -> None:
    # upcoach's implementation admin is free; an allowance on that role makes it a counted place.
    policy = seed_policy(
        "upcoach", free_allowance={"role": "implementation_admin", "per_paid_seat": 1}
    )
    base = roster_of("ana active admin; bob active implementation_admin")
    before = expiring(base, "bob", "implementation_admin", day(expires_on))
    after = (
        expiring(base, "bob", "implementation_admin", day(after_expires_on))
        if after_expires_on
        else base.drop(email("bob"), "main")
    )
    changes = interval_changes(before, after, policy, AT, IntervalReason.ROLE_CHANGE)
    assert changes_text(changes.closed) == closed
    assert changes_text(changes.opened) == opened


def test_expired_billable_grant_closes_at_expiry_beside_a_change(
    seed_policy: PolicyOf, roster_of: RosterOf
) -> None:
    """An expiry that fell due before a change is dated at its own instant, not the change's."""
    before = expiring(
        roster_of("ana active admin; bob active program_admin"),
        "bob",
        "program_admin",
        day("04-03"),
    )
    after = roster_of("ana active admin; bob active participant; cleo pending admin")
    changes = interval_changes(before, after, seed_policy("upcoach"), AT, IntervalReason.INVITE)
    assert changes_text(changes.closed) == ["bob main program_admin seat 04-03 expiry"]
    assert changes_text(changes.opened) == ["cleo main admin seat 04-10 invite"]


@pytest.mark.parametrize(
    ("expiries", "live_on_0415"),
    [
        pytest.param(("04-12", "04-20"), True, id="the later of two expiries keeps it"),
        pytest.param(("04-20", "04-12"), True, id="in either order"),
        pytest.param(("04-12", None), True, id="no expiry beats any expiry"),
        pytest.param((None, "04-12"), True, id="whichever comes first"),
        pytest.param(("04-12", "04-14"), False, id="both over"),
    ],
)
def test_two_grants_of_one_role(
    seed_policy: PolicyOf, expiries: tuple[str | None, str | None], live_on_0415: bool
) -> None:
    grants = frozenset(RoleGrant("admin", None, day(text) if text else None) for text in expiries)
    roster = Roster((Member(email("ana"), "main", MemberStatus.ACTIVE, grants),))
    held = holdings(roster, seed_policy("plaky"), day("04-15"))
    assert (Holding(email("ana"), "main", "admin", None, HoldingKind.SEAT) in held) is live_on_0415


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param("ana active admin; bob pending member; cleo active viewer", id="plaky mix"),
        pytest.param("ana active admin viewer; bob deactivated member", id="seated viewer"),
        pytest.param("ana/pumble active admin; ana active member; bob active viewer", id="bundle"),
    ],
)
def test_seat_holdings_are_the_seat_holders(
    seed_policy: PolicyOf, roster_of: RosterOf, lines: str
) -> None:
    """Seat holdings name exactly the persons ``seat_holders`` counts (the same rule, not a copy
    of it that could drift)."""
    policy = seed_policy("plaky")
    roster = roster_of(lines)
    seated = {h.email for h in holdings(roster, policy, AT) if h.kind is HoldingKind.SEAT}
    assert seated == seat_holders(roster, policy, AT)


# ---------------------------------------------------------------------------------------------
# explain_line

APRIL = Period(day("04-01"), day("05-01"))


def line(kind: str, quantity: int, amount: str, start: str = "04-01") -> InvoiceLine:
    money = Money.of(amount, "EUR")
    return InvoiceLine(
        LineKind(kind), kind, quantity, money, money, Period(day(start), day("05-01"))
    )


def interval(spec: str) -> SeatInterval:
    """``"ana admin 04-01..04-16"`` (``..`` alone: still held); ``free:`` before the role makes a
    free holding; ``ana/ws2`` names the workspace."""
    who, role, span = spec.split()
    person, _, workspace = who.partition("/")
    kind = HoldingKind.SEAT
    if role.startswith("free:"):
        kind, role = HoldingKind.FREE, role.removeprefix("free:")
    start, _, end = span.partition("..")
    return SeatInterval(
        person=person,
        workspace=workspace or "main",
        role=role,
        scope=None,
        kind=kind,
        started_at=day(start),
        start_reason=IntervalReason.INVITE,
        ended_at=day(end) if end else None,
        end_reason=IntervalReason.DELETION if end else None,
    )


def entries_text(explanation: LineExplanation) -> list[str]:
    out = []
    for entry in explanation.entries:
        who = entry.person or entry.kind.value
        spans = ",".join(f"{i.role}@{i.started_at:%m-%d}" for i in entry.intervals)
        out.append(f"{who} {entry.kind} {entry.quantity} {entry.amount.format()} [{spans}]")
    return out


@pytest.mark.parametrize(
    ("the_line", "intervals", "included", "expected"),
    [
        pytest.param(
            line("seats", 3, "30.00"),
            ["ana owner 03-01.."],
            0,
            [
                "ana person 1 10.00 [owner@03-01]",
                "unassigned unassigned 1 10.00 []",
                "unassigned unassigned 1 10.00 []",
            ],
            id="manual mode: 3 seats bought, 1 held, 2 unassigned purchased seats",
        ),
        pytest.param(
            line("seats", 3, "100.00"),
            ["cleo member 03-05..", "ana owner 03-01..", "bob member 03-02.."],
            0,
            [
                "ana person 1 33.34 [owner@03-01]",
                "bob person 1 33.33 [member@03-02]",
                "cleo person 1 33.33 [member@03-05]",
            ],
            id="longest-seated first; the leftover cent goes to the first part",
        ),
        pytest.param(
            line("seats", 1, "99.00"),
            ["ana admin 03-01..", "bob reviewer 03-02..", "cleo reviewer 03-03.."],
            2,
            [
                "ana included 0 0.00 [admin@03-01]",
                "bob included 0 0.00 [reviewer@03-02]",
                "cleo person 1 99.00 [reviewer@03-03]",
            ],
            id="reviewer Pro: the 2 included seats cover the first holders, the third is billed",
        ),
        pytest.param(
            line("seats", 1, "99.00"),
            ["ana admin 03-01.."],
            2,
            ["ana included 0 0.00 [admin@03-01]", "unassigned unassigned 1 99.00 []"],
            id="reviewer Pro: 3 seats, 1 holder: included covers her, the billed seat is unused",
        ),
        pytest.param(
            line("seats", 2, "20.00"),
            [
                "ana owner 03-01..",
                "bob member 03-01..04-01",
                "cleo member 04-01..",
                "dan member 04-02..",
                "erin free:viewer 03-01..",
            ],
            0,
            ["ana person 1 10.00 [owner@03-01]", "cleo person 1 10.00 [member@04-01]"],
            id="half-open at the period start: bob left at it, cleo came at it, dan later",
        ),
        pytest.param(
            line("seats", 1, "10.00"),
            ["ana owner 03-01..", "ana/ws2 admin 03-10..04-15"],
            0,
            ["ana person 1 10.00 [owner@03-01,admin@03-10]"],
            id="bundle: one person, one seat, every holding shown",
        ),
        pytest.param(
            line("seats", 1, "10.00"),
            ["ana owner 03-01..", "bob owner 03-02..", "cleo owner 03-03.."],
            0,
            ["ana person 1 10.00 [owner@03-01]"],
            id="more holders than seats billed: the longest-seated are named",
        ),
        pytest.param(
            line("proration_charge", 2, "49.50", "04-16"),
            [
                "ana owner 03-01..",
                "bob admin 03-01..04-16",
                "bob member 04-16..",
                "cleo member 04-16..",
            ],
            0,
            ["cleo person 1 24.75 [member@04-16]", "unassigned unassigned 1 24.75 []"],
            id="charge: cleo's seat began then; bob only changed role; one seat bought ahead",
        ),
        pytest.param(
            line("proration_charge", 1, "49.50", "04-16"),
            ["cleo member 04-16..", "dan member 04-16.."],
            0,
            ["cleo person 1 49.50 [member@04-16]"],
            id="charge: a seat already paid was refilled free, one is billed",
        ),
        pytest.param(
            line("proration_credit", 2, "-30.00", "04-16"),
            ["ana owner 03-01..", "bob member 03-01..04-16", "cleo free:viewer 03-01..04-16"],
            0,
            ["bob person 1 -15.00 [member@03-01]", "unassigned unassigned 1 -15.00 []"],
            id="credit: bob's seat ended then, one unused seat removed",
        ),
        pytest.param(
            line("proration_credit", 1, "-30.00", "04-16"),
            ["bob admin 03-01..04-16", "bob member 04-16.."],
            0,
            ["unassigned unassigned 1 -30.00 []"],
            id="credit: a role change is no seat ending",
        ),
        pytest.param(
            line("base", 1, "29.00"),
            ["ana owner 03-01.."],
            0,
            ["charge charge 1 29.00 []"],
            id="base fee: explains itself",
        ),
        pytest.param(
            line("addon", 2, "40.00"),
            [],
            0,
            ["charge charge 2 40.00 []"],
            id="add-on packs: explain themselves",
        ),
        pytest.param(
            line("credit_applied", 1, "-12.00"),
            [],
            0,
            ["charge charge 1 -12.00 []"],
            id="credit applied: explains itself",
        ),
    ],
)
def test_explain_line(
    the_line: InvoiceLine, intervals: list[str], included: int, expected: list[str]
) -> None:
    explanation = explain_line(
        the_line, [interval(spec) for spec in intervals], included_seats=included
    )
    assert entries_text(explanation) == expected
    assert explanation.quantity == the_line.quantity
    assert explanation.amount == the_line.amount


def test_explanation_of_a_line_in_another_currency_adds_up() -> None:
    """JPY has no minor digits: 1000 over 3 seats is 334, 333, 333 (no yen lost or made)."""
    money = Money.of("1000", "JPY")
    the_line = InvoiceLine(LineKind.SEATS, "Seat", 3, money, money, APRIL)
    explanation = explain_line(the_line, [interval("ana owner 03-01..")])
    assert [e.amount.format() for e in explanation.entries] == ["334", "333", "333"]
    assert explanation.amount == money


def test_interval_bounds() -> None:
    held = replace(interval("ana owner 04-01..04-16"))
    assert held.covers(day("04-01")) and not held.covers(day("04-16"))
    assert held.held_before(day("04-16")) and not held.held_before(day("04-01"))
    assert held.overlaps(Period(day("04-15"), day("05-01")))
    assert not held.overlaps(Period(day("04-16"), day("05-01")))


# --- members left alone -----------------------------------------------------------------------

_EMAILS = st.sampled_from(["ana@x.test", "bob@x.test", "cy@x.test", "dan@x.test"])
_WHEN = st.sampled_from([None, day("04-05"), day("04-10"), day("04-20")])
_GRANTS = st.frozensets(
    st.builds(
        RoleGrant,
        role=st.sampled_from(["admin", "member", "viewer", "guest"]),
        scope=st.sampled_from([None, "p1"]),
        expires_at=_WHEN,
    ),
    max_size=3,
)
_MEMBERS = st.builds(
    Member,
    email=_EMAILS,
    workspace=st.sampled_from(["main", "other"]),
    status=st.sampled_from(list(MemberStatus)),
    grants=_GRANTS,
)


# Plaky's counting rules: pending invites count, deactivated members do not, five free viewers
# per paid seat.
_PLAKY = policy_from_mapping(
    {
        "billable_roles": ["admin", "member"],
        "free_roles": ["viewer", "guest"],
        "currency": "EUR",
        "interval": "month",
        "seat_price": "10.00",
        "count_pending_invites": True,
        "owner_role": "admin",
        "free_allowance": {"role": "viewer", "per_paid_seat": 5},
    }
)


def _rosters(members: list[Member]) -> Roster:
    # One member per (e-mail, workspace), as the store keeps them.
    unique = {(m.email, m.workspace): m for m in members}
    return Roster(tuple(unique.values()))


def _changes_of_every_member(
    before: Roster, after: Roster, policy: Policy, at: datetime, reason: IntervalReason
) -> IntervalChanges:
    """interval_changes' rules applied to every member, none left out (the reference)."""
    was = _held(before, policy)
    now = holdings(after, policy, at)
    closed = [
        HoldingChange(h, e, IntervalReason.EXPIRY) for h, e in was.items() if e and e <= at
    ] + [
        HoldingChange(h, at, reason) for h, e in was.items() if not (e and e <= at) and h not in now
    ]
    opened = [HoldingChange(h, at, reason) for h, e in was.items() if e and e <= at and h in now]
    opened += [HoldingChange(h, at, reason) for h in now if h not in was]
    return IntervalChanges(
        closed=tuple(sorted(closed, key=lambda c: c.holding._key())),
        opened=tuple(sorted(opened, key=lambda c: c.holding._key())),
    )


@given(
    shared=st.lists(_MEMBERS, max_size=4),
    gone=st.lists(_MEMBERS, max_size=3),
    new=st.lists(_MEMBERS, max_size=3),
    at=st.sampled_from([day("04-01"), day("04-10"), day("04-15"), day("04-25")]),
)
def test_members_equal_on_both_sides_change_nothing_whatever_else_changes(
    shared: list[Member], gone: list[Member], new: list[Member], at: datetime
) -> None:
    """Regression guard: interval_changes leaves out members equal in both rosters; the changes
    must be exactly those of the rules applied to every member (an equal member whose grant
    expired by ``at`` still closes at its expiry)."""
    policy = _PLAKY
    before = _rosters([*shared, *gone])
    after = _rosters([*shared, *new])

    found = interval_changes(before, after, policy, at, IntervalReason.ROLE_CHANGE)

    assert found == _changes_of_every_member(before, after, policy, at, IntervalReason.ROLE_CHANGE)


def test_members_sharing_a_grant_set_are_judged_each_as_the_rules_say() -> None:
    """The store builds each distinct grant set once, so members share them: interval_changes
    judges a shared set once, and must still close the expired grants of every member holding it
    and leave the others' alone. Rebuilt copies (equal, not the same objects) change nothing."""
    policy = _PLAKY
    lasting = frozenset({RoleGrant("viewer")})
    expired = frozenset({RoleGrant("admin", expires_at=day("04-12"))})
    people = [
        Member(email(name), "main", MemberStatus.ACTIVE, grants)
        for name, grants in [("ana", lasting), ("bob", lasting), ("cy", expired), ("dan", expired)]
    ]
    before = Roster(tuple(people))
    eve = Member(email("eve"), "main", MemberStatus.ACTIVE, frozenset({RoleGrant("admin")}))
    rebuilt = [Member(m.email, m.workspace, m.status, frozenset(m.grants)) for m in people[:1]]
    after = Roster((*rebuilt, *people[1:], eve))
    at = day("04-15")

    found = interval_changes(before, after, policy, at, IntervalReason.ROLE_CHANGE)

    assert found == _changes_of_every_member(before, after, policy, at, IntervalReason.ROLE_CHANGE)
    assert changes_text(found.closed) == [
        "cy main admin seat 04-12 expiry",
        "dan main admin seat 04-12 expiry",
    ]
    assert changes_text(found.opened) == ["eve main admin seat 04-15 role_change"]
