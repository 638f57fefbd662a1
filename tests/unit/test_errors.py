"""Domain errors: stable codes, titles, typed fields, and messages built from those fields."""

from __future__ import annotations

import re

import pytest

from seatledger.domain import errors
from seatledger.domain.errors import (
    AboveMaximumSeats,
    BelowMinimumSeats,
    BelowUsedSeats,
    Conflict,
    FreeAllowanceReached,
    InvalidInput,
    NotFound,
    NotPermitted,
    RequiredRole,
    SeatCountRefused,
    SeatLedgerError,
    SeatLimitReached,
)

# The stable codes of SCENARIOS.md, each raised by exactly one class.
SCENARIO_CODES = {
    "seat_limit_reached",
    "free_allowance_reached",
    "below_used_seats",
    "below_minimum_seats",
    "above_maximum_seats",
    "not_permitted",
    "not_found",
    "invalid_input",
    "conflict",
    "required_role",
}


def _all_errors() -> list[type[SeatLedgerError]]:
    found: list[type[SeatLedgerError]] = []
    pending: list[type[SeatLedgerError]] = [SeatLedgerError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_scenario_code_has_exactly_one_class() -> None:
    # A subclass may refine a refusal under its parent's code (the auto-purchase cap is a seat
    # limit); each code is introduced by exactly one class.
    codes = [
        cls.code
        for cls in _all_errors()
        if cls.code in SCENARIO_CODES
        and not any(getattr(base, "code", None) == cls.code for base in cls.__bases__)
    ]

    assert sorted(codes) == sorted(SCENARIO_CODES)


def test_the_module_docstring_draws_the_whole_tree() -> None:
    doc = errors.__doc__ or ""
    for cls in _all_errors():
        if cls.__module__ != errors.__name__:
            continue  # subclasses defined elsewhere are not part of this tree
        line = next((ln for ln in doc.splitlines() if re.search(rf"\b{cls.__name__}\b", ln)), "")
        assert line, f"{cls.__name__} is missing from the tree"
        if cls.code in SCENARIO_CODES:
            assert cls.code in line.split(), f"{cls.__name__}'s line lacks its code {cls.code}"


@pytest.mark.parametrize(
    ("error", "code", "title", "message", "fields"),
    [
        pytest.param(
            SeatLimitReached(used=10, total=10, requested=1),
            "seat_limit_reached",
            "No seats available",
            "No seats available. You're using all 10 of your 10 seats. "
            "Upgrade your plan or remove a team member to free a seat.",
            {"used": 10, "total": 10, "requested": 1},
            id="seat limit: all seats used (upcoach's wording)",
        ),
        pytest.param(
            SeatLimitReached(used=8, total=10, requested=3),
            "seat_limit_reached",
            "No seats available",
            "No seats available. You're using 8 of your 10 seats and this needs 3 more. "
            "Upgrade your plan or remove a team member to free a seat.",
            {"used": 8, "total": 10, "requested": 3},
            id="seat limit: a batch larger than the free seats",
        ),
        pytest.param(
            FreeAllowanceReached(role="viewer", used=50, allowed=50, requested=1),
            "free_allowance_reached",
            "No free seats left for this role",
            "No free viewer places available. You're using 50 of your 50 free viewer places "
            "and this needs 1 more. Buy a seat to invite more.",
            {"role": "viewer", "used": 50, "allowed": 50, "requested": 1},
            id="free allowance: Plaky's viewers",
        ),
        pytest.param(
            BelowUsedSeats(requested=2, used=3),
            "below_used_seats",
            "Fewer seats than members",
            "You cannot reduce seats to 2: 3 seats are in use. "
            "Remove members first, then adjust seats.",
            {"requested": 2, "limit": 3},
            id="below used seats",
        ),
        pytest.param(
            BelowMinimumSeats(requested=1, minimum=2),
            "below_minimum_seats",
            "Below the plan's minimum",
            "You cannot have 1 seats: this plan's minimum is 2.",
            {"requested": 1, "limit": 2},
            id="below the minimum",
        ),
        pytest.param(
            AboveMaximumSeats(requested=2, maximum=1),
            "above_maximum_seats",
            "Above the plan's maximum",
            "You cannot have 2 seats: this plan's maximum is 1. Upgrade your plan for more.",
            {"requested": 2, "limit": 1},
            id="above the maximum",
        ),
        pytest.param(
            NotPermitted(action="change seats", allowed_roles=("owner",)),
            "not_permitted",
            "Not permitted",
            "Only owner may change seats.",
            {"action": "change seats", "allowed_roles": ["owner"]},
            id="not permitted: one role",
        ),
        pytest.param(
            NotPermitted(action="change seats", allowed_roles=("owner", "admin")),
            "not_permitted",
            "Not permitted",
            "Only owner, admin may change seats.",
            {"action": "change seats", "allowed_roles": ["owner", "admin"]},
            id="not permitted: several roles",
        ),
        pytest.param(
            NotPermitted(action="invite members", allowed_roles=()),
            "not_permitted",
            "Not permitted",
            "Only nobody may invite members.",
            {"action": "invite members", "allowed_roles": []},
            id="not permitted: no role may",
        ),
        pytest.param(
            NotFound(kind="preset", key="reviewer-max"),
            "not_found",
            "Not found",
            "No preset 'reviewer-max'.",
            {"kind": "preset", "key": "reviewer-max"},
            id="not found",
        ),
        pytest.param(
            InvalidInput("proration.unit", "must be one of second, day, month, none; got 'hour'"),
            "invalid_input",
            "Invalid input",
            "proration.unit: must be one of second, day, month, none; got 'hour'",
            {
                "field": "proration.unit",
                "rule": "must be one of second, day, month, none; got 'hour'",
            },
            id="invalid input names the field and the rule",
        ),
        pytest.param(
            Conflict("The invoice for this period was issued by another run."),
            "conflict",
            "Conflict",
            "The invoice for this period was issued by another run.",
            {},
            id="conflict carries only its message",
        ),
        pytest.param(
            RequiredRole(role="admin"),
            "required_role",
            "A required role must keep a holder",
            "The admin role must always have a holder: transfer it to someone else first.",
            {"role": "admin"},
            id="required role",
        ),
    ],
)
def test_error_codes_titles_messages_and_fields(
    error: SeatLedgerError, code: str, title: str, message: str, fields: dict[str, object]
) -> None:
    assert (error.code, error.title) == (code, title)
    assert error.message == message
    assert str(error) == message
    assert error.fields() == fields
    for name, value in fields.items():
        if name not in ("limit", "allowed_roles"):
            assert getattr(error, name) == value


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(BelowUsedSeats(requested=2, used=3), id="below used"),
        pytest.param(BelowMinimumSeats(requested=1, minimum=2), id="below minimum"),
        pytest.param(AboveMaximumSeats(requested=2, maximum=1), id="above maximum"),
    ],
)
def test_seat_count_refusals_share_a_parent(error: SeatLedgerError) -> None:
    # The API maps statuses along the hierarchy: one handler for SeatCountRefused covers all three.
    assert isinstance(error, SeatCountRefused)
    assert isinstance(error, SeatLedgerError)
    with pytest.raises(SeatCountRefused):
        raise error


def test_the_base_error_is_generic() -> None:
    error = SeatLedgerError("Request refused for a reason.")

    assert (error.code, error.title) == ("error", "Request refused")
    assert error.fields() == {}
    assert error.message == "Request refused for a reason."
