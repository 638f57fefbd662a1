"""Fair billing (``inactive_after``): the key, and when seat holders go idle and come back.

Slack's Fair Billing Policy is the model: inactive after a stretch without activity, credited
from that instant, billed again from the moment they are active again. The billing itself is the
engine's (tests/service/test_fair_billing.py); here are the rules that feed it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from seatledger.domain.errors import InvalidInput
from seatledger.domain.fair_billing import (
    ActivityBook,
    MemberActivity,
    going_inactive,
    inactive_seat_count,
    mark_inactive,
    next_inactive_at,
    report_activity,
    track_holders,
)
from seatledger.domain.inactivity_policy import (
    inactive_after_from_mapping,
    inactive_after_to_mapping,
)
from seatledger.domain.policy import Policy, policy_from_mapping, policy_to_mapping
from seatledger.domain.seats import Member, MemberStatus, RoleGrant, Roster

BASE: dict[str, Any] = {
    "billable_roles": ["owner", "member"],
    "free_roles": ["viewer"],
    "currency": "USD",
    "interval": "month",
    "seat_price": "10.00",
    "seat_mode": "automatic",
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def policy(**overrides: Any) -> Policy:
    return policy_from_mapping({**BASE, "inactive_after": "P14D", **overrides})


def member(name: str, role: str = "member", expires: str | None = None) -> Member:
    grant = RoleGrant(role, None, at(expires) if expires else None)
    return Member(f"{name}@x.test", "main", MemberStatus.ACTIVE, frozenset({grant}))


ROSTER = Roster((member("ana", "owner"), member("bob"), member("cleo"), member("vic", "viewer")))


def book(**last: str) -> ActivityBook:
    return ActivityBook.loaded(
        {f"{n}@x.test": MemberActivity(last_active_at=at(t)) for n, t in last.items()}
    )


# --- the key -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("P14D", timedelta(days=14), id="fourteen-days"),
        pytest.param("P2W", timedelta(weeks=2), id="two-weeks"),
        pytest.param("PT12H", timedelta(hours=12), id="twelve-hours"),
        pytest.param(None, None, id="null-is-off"),
    ],
)
def test_inactive_after_reads_an_iso_duration(text: str | None, expected: timedelta | None) -> None:
    read = policy(inactive_after=text)

    assert read.inactive_after == expected
    assert policy_from_mapping(policy_to_mapping(read)) == read


def test_fair_billing_is_off_without_the_key() -> None:
    assert policy_from_mapping(BASE).inactive_after is None
    assert inactive_after_to_mapping(None) == {"inactive_after": None}
    assert inactive_after_to_mapping(timedelta(days=14)) == {"inactive_after": "P14D"}


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        pytest.param({"inactive_after": "P1M"}, "ISO 8601 duration", id="months-have-no-length"),
        pytest.param({"inactive_after": "14 days"}, "ISO 8601 duration", id="not-iso"),
        pytest.param({"inactive_after": 14}, "ISO 8601 duration", id="a-number"),
        pytest.param({"inactive_after": "PT0S"}, "longer than zero", id="zero"),
        pytest.param({"seat_mode": "manual"}, "seat_mode: automatic", id="manual-mode"),
        pytest.param(
            {"proration": {"on_decrease": "none"}}, "on_decrease", id="no-credit-on-decrease"
        ),
    ],
)
def test_bad_inactive_after_is_refused_naming_the_key(overrides: dict[str, Any], rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        policy(**overrides)

    assert caught.value.field == "inactive_after"
    assert rule in str(caught.value)


def test_manual_is_the_default_mode_and_is_refused() -> None:
    data = {k: v for k, v in BASE.items() if k != "seat_mode"}
    with pytest.raises(InvalidInput, match="seat_mode: automatic"):
        inactive_after_from_mapping({**data, "inactive_after": "P14D"})


@pytest.mark.parametrize(
    "proration",
    [
        pytest.param({"on_decrease": "credit_next_invoice"}, id="credit-next-invoice"),
        pytest.param({"unit": "day"}, id="default-credit-now"),
        pytest.param(None, id="no-proration-table"),
    ],
)
def test_crediting_decreases_allow_the_key(proration: dict[str, str] | None) -> None:
    data = {**BASE, "inactive_after": "P14D", "proration": proration}

    assert inactive_after_from_mapping(data) == timedelta(days=14)


# --- tracking seat holders -----------------------------------------------------------------------


def test_joining_starts_activity_and_leaving_drops_it() -> None:
    start = book(ana="2026-04-01", bob="2026-04-02")

    tracked = track_holders(start, {"ana@x.test", "cleo@x.test"}, at("2026-04-10"))

    assert dict(tracked.entries) == {
        "ana@x.test": MemberActivity(at("2026-04-01")),
        "cleo@x.test": MemberActivity(at("2026-04-10")),
    }
    assert tracked.changes() == (
        {"cleo@x.test": MemberActivity(at("2026-04-10"))},
        ("bob@x.test",),
    )
    assert tracked.saved().changes() == ({}, ())


def test_tracking_the_same_holders_changes_nothing() -> None:
    start = book(ana="2026-04-01")

    assert track_holders(start, {"ana@x.test"}, at("2026-04-10")) is start


def test_a_book_not_loaded_writes_every_entry() -> None:
    fresh = track_holders(ActivityBook(), {"ana@x.test"}, at("2026-04-01"))

    assert fresh.stored is None
    assert fresh.changes() == ({"ana@x.test": MemberActivity(at("2026-04-01"))}, ())


def test_naive_instants_are_refused() -> None:
    with pytest.raises(InvalidInput):
        track_holders(ActivityBook(), {"ana@x.test"}, datetime(2026, 4, 1))  # noqa: DTZ001


# --- going inactive ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        pytest.param(
            {"ana": "2026-04-01T09:00", "bob": "2026-04-03"}, "2026-04-15T09:00", id="earliest"
        ),
        pytest.param({"vic": "2026-04-01"}, None, id="free-role-holders-are-not-billed"),
        pytest.param({}, None, id="nobody-tracked"),
    ],
)
def test_next_inactive_at_is_the_earliest_idle_holder(
    last: dict[str, str], expected: str | None
) -> None:
    due = next_inactive_at(book(**last), ROSTER, policy())

    assert due == (at(expected) if expected else None)


def test_a_holder_whose_role_expires_first_is_never_due() -> None:
    roster = Roster((member("ana", "owner"), member("bob", expires="2026-04-10")))

    due = next_inactive_at(book(bob="2026-04-01", ana="2026-04-05"), roster, policy())

    assert due == at("2026-04-19")


def test_inactive_holders_are_not_due_again() -> None:
    marked = mark_inactive(book(ana="2026-04-01"), ["ana@x.test"], at("2026-04-15"))

    assert next_inactive_at(marked, ROSTER, policy()) is None
    assert going_inactive(marked, ROSTER, policy(), at("2026-05-01")) == ()


def test_without_the_key_nobody_goes_inactive() -> None:
    off = policy(inactive_after=None)
    marked = mark_inactive(book(ana="2026-04-01"), ["ana@x.test"], at("2026-04-15"))

    assert next_inactive_at(book(ana="2026-04-01"), ROSTER, off) is None
    assert going_inactive(book(ana="2026-04-01"), ROSTER, off, at("2026-05-01")) == ()
    assert inactive_seat_count(marked, ROSTER, off, at("2026-04-20")) == 0


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        pytest.param("2026-04-14T23:59:59", (), id="one-second-before"),
        pytest.param("2026-04-15", ("ana@x.test",), id="at-the-instant-half-open"),
        pytest.param("2026-04-17", ("ana@x.test", "bob@x.test"), id="both-sorted"),
    ],
)
def test_going_inactive_at_last_activity_plus_the_duration(
    instant: str, expected: tuple[str, ...]
) -> None:
    idle = book(bob="2026-04-03", ana="2026-04-01", vic="2026-04-01")

    assert going_inactive(idle, ROSTER, policy(), at(instant)) == expected


def test_inactive_holders_are_not_billed_but_keep_their_seat() -> None:
    marked = mark_inactive(
        book(ana="2026-04-01", bob="2026-04-01"), ["bob@x.test"], at("2026-04-15")
    )

    assert marked.entries["bob@x.test"] == MemberActivity(at("2026-04-01"), at("2026-04-15"))
    assert inactive_seat_count(marked, ROSTER, policy(), at("2026-04-20")) == 1
    gone = Roster((member("ana", "owner"),))
    assert inactive_seat_count(marked, gone, policy(), at("2026-04-20")) == 0


# --- coming back ---------------------------------------------------------------------------------

INACTIVE = mark_inactive(book(ana="2026-04-01"), ["ana@x.test"], at("2026-04-15"))


@pytest.mark.parametrize(
    ("reported", "now", "back", "last", "inactive_at"),
    [
        pytest.param(
            "2026-04-20", "2026-04-20", True, "2026-04-20", None, id="recent-activity-brings-back"
        ),
        pytest.param(
            "2026-04-10", "2026-04-20", True, "2026-04-10", None, id="late-report-still-recent"
        ),
        pytest.param(
            "2026-04-02", "2026-04-20", False, "2026-04-02", "2026-04-15", id="too-old-to-count"
        ),
    ],
)
def test_activity_of_an_inactive_holder(
    reported: str, now: str, back: bool, last: str, inactive_at: str | None
) -> None:
    result = report_activity(
        INACTIVE,
        "ana@x.test",
        active_at=at(reported),
        now=at(now),
        inactive_after=timedelta(days=14),
    )

    assert result.back is back
    assert result.book.entries["ana@x.test"] == MemberActivity(
        at(last), at(inactive_at) if inactive_at else None
    )


@pytest.mark.parametrize(
    ("reported", "last"),
    [
        pytest.param("2026-04-09", "2026-04-09", id="later-moves-it"),
        pytest.param("2026-03-30", "2026-04-01", id="earlier-keeps-the-later"),
    ],
)
def test_activity_of_a_billed_holder_only_moves_forward(reported: str, last: str) -> None:
    start = book(ana="2026-04-01")

    result = report_activity(
        start,
        "ana@x.test",
        active_at=at(reported),
        now=at("2026-04-10"),
        inactive_after=timedelta(days=14),
    )

    assert result.back is False
    assert result.book.entries["ana@x.test"] == MemberActivity(at(last))
    assert (result.book is start) is (reported < "2026-04-01")


def test_activity_of_someone_untracked_starts_their_record() -> None:
    result = report_activity(
        ActivityBook(),
        "ana@x.test",
        active_at=at("2026-04-03"),
        now=at("2026-04-10"),
        inactive_after=timedelta(days=14),
    )

    assert result.back is False
    assert dict(result.book.entries) == {"ana@x.test": MemberActivity(at("2026-04-03"))}
