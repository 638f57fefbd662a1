"""auto_purchase: the policy table, and how many seats an action that lacks them buys.

Rosters are written one line a member (tests/unit/conftest.py); seats are counted at ``AT``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from seatledger.domain.auto_purchase import (
    auto_purchase_applies,
    cap_refusal,
    purchase_cap,
    seats_to_buy,
)
from seatledger.domain.errors import AutoPurchaseCapReached, InvalidInput, SeatLimitReached
from seatledger.domain.fair_policy import AutoPurchase
from seatledger.domain.policy import Policy, policy_from_mapping, policy_to_mapping
from seatledger.domain.seats import Roster

PolicyOf = Callable[..., Policy]
RosterOf = Callable[..., Roster]
AT = datetime(2026, 4, 1, tzinfo=UTC)
THREE = "ana active owner; bob active member; cy active member"


# --- the policy table ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, AutoPurchase(), id="null is off"),
        pytest.param({}, AutoPurchase(enabled=True), id="a table turns it on"),
        pytest.param({"enabled": False}, AutoPurchase(), id="enabled false"),
        pytest.param({"up_to_seats": 12}, AutoPurchase(True, 12), id="a cap"),
        pytest.param({"enabled": True, "up_to_seats": None}, AutoPurchase(True), id="no cap"),
        pytest.param({"up_to_seats": 20}, AutoPurchase(True, 20), id="the cap at max_seats"),
    ],
)
def test_the_auto_purchase_table_reads(
    seed_policy: PolicyOf, value: Any, expected: AutoPurchase
) -> None:
    policy = seed_policy("rallly max_seats=20", auto_purchase=value)

    assert policy.auto_purchase == expected
    assert policy_from_mapping(policy_to_mapping(policy)) == policy


@pytest.mark.parametrize(
    ("value", "field", "rule"),
    [
        pytest.param("yes", "auto_purchase", "must be {enabled, up_to_seats} or null", id="text"),
        pytest.param({"up_to": 3}, "auto_purchase.up_to", "is not an auto_purchase key", id="key"),
        pytest.param({"enabled": "yes"}, "auto_purchase.enabled", "must be true or false", id="b"),
        pytest.param({"up_to_seats": 0}, "auto_purchase.up_to_seats", ">= 1 or null", id="zero"),
        pytest.param({"up_to_seats": True}, "auto_purchase.up_to_seats", ">= 1", id="bool"),
        pytest.param({"up_to_seats": "5"}, "auto_purchase.up_to_seats", ">= 1", id="string"),
        pytest.param(
            {"up_to_seats": 21},
            "auto_purchase.up_to_seats",
            "must not exceed max_seats (20)",
            id="above max_seats",
        ),
    ],
)
def test_a_bad_auto_purchase_table_is_refused_naming_the_key(
    seed_policy: PolicyOf, value: Any, field: str, rule: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        seed_policy("rallly max_seats=20", auto_purchase=value)

    assert caught.value.field == field
    assert rule in caught.value.rule


@pytest.mark.parametrize(
    ("spec", "cap"),
    [
        pytest.param("rallly", None, id="neither: no cap"),
        pytest.param("rallly max_seats=9", 9, id="max_seats"),
        pytest.param('rallly auto_purchase={"up_to_seats":4}', 4, id="up_to_seats"),
        pytest.param('rallly max_seats=9 auto_purchase={"up_to_seats":4}', 4, id="the lower"),
    ],
)
def test_the_cap_is_the_lower_of_up_to_seats_and_max_seats(
    seed_policy: PolicyOf, spec: str, cap: int | None
) -> None:
    assert purchase_cap(seed_policy(spec)) == cap


@pytest.mark.parametrize(
    ("spec", "applies"),
    [
        pytest.param("rallly", False, id="off"),
        pytest.param('rallly auto_purchase={"enabled":true}', True, id="manual, on"),
        pytest.param('voltasis auto_purchase={"enabled":true}', False, id="automatic mode"),
    ],
)
def test_it_applies_in_manual_seat_mode_only(
    seed_policy: PolicyOf, spec: str, applies: bool
) -> None:
    assert auto_purchase_applies(seed_policy(spec)) is applies


# --- how many seats an action buys ---------------------------------------------------------------

# name: (policy spec, roster before, roster after, seats bought, capacity, partial, seats to buy)
BUYS = {
    "off: nothing, the seat rule refuses": (
        "rallly",
        THREE,
        THREE + "; dan active member",
        3,
        3,
        False,
        0,
    ),
    "one more reviewer, one seat": (
        "rallly AP",
        THREE,
        THREE + "; dan active member",
        3,
        3,
        False,
        1,
    ),
    "a batch of two, two seats": (
        "rallly AP",
        THREE,
        THREE + "; dan active member; eve active member",
        3,
        3,
        False,
        2,
    ),
    "a free seat is used first": (
        "rallly AP",
        THREE,
        THREE + "; dan active member",
        4,
        4,
        False,
        0,
    ),
    "add-on seats count in the capacity": (
        "rallly AP",
        THREE,
        THREE + "; dan active member; eve active member",
        3,
        4,
        False,
        1,
    ),
    "nobody moves in: nothing, even above": (
        "rallly AP",
        THREE,
        "ana active owner; bob active member",
        1,
        1,
        False,
        0,
    ),
    "exactly up to the cap": ("rallly AP4", THREE, THREE + "; dan active member", 3, 3, False, 1),
    "partial: what the cap leaves": (
        "rallly AP4",
        THREE,
        THREE + "; dan active member; eve active member",
        3,
        3,
        True,
        1,
    ),
    "partial: no room left": (
        "rallly AP4",
        THREE + "; dan active member",
        THREE + "; dan active member; eve active member",
        4,
        4,
        True,
        0,
    ),
    "partial: bought above the cap already": (
        "rallly AP4",
        THREE + "; dan active member",
        THREE + "; dan active member; eve active member",
        4,
        4,
        True,
        0,
    ),
    "automatic mode never buys here": (
        "voltasis AP",
        THREE,
        THREE + "; dan active member",
        3,
        3,
        False,
        0,
    ),
}
SPECS = {
    "AP": 'auto_purchase={"enabled":true}',
    "AP4": 'auto_purchase={"up_to_seats":4}',
}


def _policy(seed_policy: PolicyOf, spec: str) -> Policy:
    name, *flags = spec.split()
    return seed_policy(" ".join([name, *(SPECS[f] for f in flags)]))


@pytest.mark.parametrize(
    ("spec", "before", "after", "bought", "capacity", "partial", "expected"),
    [pytest.param(*row, id=name) for name, row in BUYS.items()],
)
def test_seats_to_buy(
    seed_policy: PolicyOf,
    roster_of: RosterOf,
    spec: str,
    before: str,
    after: str,
    bought: int,
    capacity: int,
    partial: bool,
    expected: int,
) -> None:
    policy = _policy(seed_policy, spec)

    seats = seats_to_buy(
        roster_of(before),
        roster_of(after),
        policy,
        seats_total=bought,
        capacity=capacity,
        at=AT,
        partial=partial,
    )

    assert seats == expected


def test_past_the_cap_the_action_is_refused_naming_the_cap(
    seed_policy: PolicyOf, roster_of: RosterOf
) -> None:
    policy = _policy(seed_policy, "rallly AP4")
    after = THREE + "; dan active member; eve active member"

    with pytest.raises(AutoPurchaseCapReached) as caught:
        seats_to_buy(roster_of(THREE), roster_of(after), policy, seats_total=3, capacity=3, at=AT)

    refusal = caught.value
    assert isinstance(refusal, SeatLimitReached)
    assert refusal.code == "seat_limit_reached"
    assert refusal.fields() == {"used": 3, "total": 3, "requested": 2, "cap": 4}
    assert refusal.message == (
        "No seats available. You're using 3 of your 3 seats and this needs 2 more, but automatic "
        "seat purchases stop at 4 seats (the auto-purchase cap was reached). Buy seats or remove "
        "a team member to free one."
    )


def test_a_naive_instant_is_refused(seed_policy: PolicyOf, roster_of: RosterOf) -> None:
    with pytest.raises(InvalidInput):
        seats_to_buy(
            roster_of(THREE),
            roster_of(THREE),
            _policy(seed_policy, "rallly AP"),
            seats_total=3,
            capacity=3,
            at=datetime(2026, 4, 1),  # noqa: DTZ001 - the refusal is the point
        )


@pytest.mark.parametrize(
    ("spec", "restated"),
    [
        pytest.param("rallly", False, id="off: kept"),
        pytest.param("rallly AP", False, id="no cap: kept"),
        pytest.param("voltasis AP", False, id="automatic: kept"),
        pytest.param("rallly AP4", True, id="a cap: restated"),
    ],
)
def test_a_seat_limit_is_restated_as_the_cap_where_one_applies(
    seed_policy: PolicyOf, spec: str, restated: bool
) -> None:
    refusal = SeatLimitReached(used=4, total=4, requested=1)

    result = cap_refusal(refusal, _policy(seed_policy, spec))

    assert isinstance(result, AutoPurchaseCapReached) is restated
    assert (result is refusal) is not restated
    assert (result.used, result.total, result.requested) == (4, 4, 1)
