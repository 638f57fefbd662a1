"""The seat policy: validation that names the key and what is allowed, merging, and round trips."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatledger.domain.errors import InvalidInput
from seatledger.domain.money import Money, Rounding
from seatledger.domain.periods import Interval, IntervalUnit
from seatledger.domain.policy import (
    POLICY_KEYS,
    PRORATION_KEYS,
    REQUIRED_KEYS,
    Addon,
    DecreaseRelease,
    FreeAllowance,
    OnDecrease,
    OnIncrease,
    Policy,
    ProrationPolicy,
    ProrationUnit,
    SeatMode,
    format_duration,
    merge_policy,
    parse_duration,
    policy_from_mapping,
    policy_to_mapping,
)

# The smallest valid policy: only the required keys, the rest defaulted.
MINIMAL: dict[str, Any] = {
    "billable_roles": ["owner", "admin", "member"],
    "free_roles": ["viewer"],
    "currency": "EUR",
    "interval": "month",
    "seat_price": "10.00",
}


def build(**overrides: Any) -> Policy:
    return policy_from_mapping(merge_policy(MINIMAL, overrides))


# --- defaults and the Policy type ----------------------------------------------------------------


def test_minimal_policy_takes_the_documented_defaults() -> None:
    policy = policy_from_mapping(MINIMAL)

    assert policy == Policy(
        billable_roles=("owner", "admin", "member"),
        free_roles=("viewer",),
        currency="EUR",
        interval=Interval(IntervalUnit.MONTH),
        seat_price=Money.of("10.00", "EUR"),
        base_price=Money.zero("EUR"),
    )
    assert policy.proration == ProrationPolicy(
        ProrationUnit.SECOND, OnIncrease.CHARGE_NOW, OnDecrease.CREDIT_NOW
    )
    assert (policy.seat_mode, policy.decrease_release, policy.rounding) == (
        SeatMode.MANUAL,
        DecreaseRelease.IMMEDIATE,
        Rounding.HALF_UP,
    )
    assert (policy.remove_only_unused, policy.batch_atomic) == (True, True)
    assert (policy.count_pending_invites, policy.count_deactivated) == (False, False)
    assert (policy.seat_managers, policy.member_managers, policy.owner_role) == (
        ("owner",),
        ("owner", "admin"),
        "owner",
    )


@pytest.mark.parametrize(
    ("overrides", "seat_managers", "member_managers"),
    [
        pytest.param(
            {}, ("owner",), ("owner", "admin"), id="owner and admin roles: both manage members"
        ),
        pytest.param(
            {"billable_roles": ["owner", "member"]},
            ("owner",),
            ("owner",),
            id="no admin role: the owner alone",
        ),
        pytest.param(
            {
                "billable_roles": ["admin", "reviewer"],
                "free_roles": ["member"],
                "owner_role": "admin",
            },
            ("admin",),
            ("admin",),
            id="the admin is the owner role: listed once",
        ),
        pytest.param(
            {"seat_managers": ["owner", "admin"], "member_managers": ["admin"]},
            ("owner", "admin"),
            ("admin",),
            id="given explicitly",
        ),
    ],
)
def test_manager_defaults_follow_the_policys_roles(
    overrides: dict[str, Any], seat_managers: tuple[str, ...], member_managers: tuple[str, ...]
) -> None:
    policy = build(**overrides)

    assert (policy.seat_managers, policy.member_managers) == (seat_managers, member_managers)


@pytest.mark.parametrize(
    ("included", "total", "billed"),
    [
        pytest.param(2, 5, 3, id="three beyond two included"),
        pytest.param(2, 2, 0, id="all included"),
        pytest.param(2, 1, 0, id="never negative"),
        pytest.param(0, 4, 4, id="none included"),
    ],
)
def test_billed_seats_are_those_beyond_the_included(included: int, total: int, billed: int) -> None:
    assert build(included_seats=included).billed_seats(total) == billed


def test_roles_and_billable() -> None:
    policy = build()

    assert policy.roles == frozenset({"owner", "admin", "member", "viewer"})
    assert policy.is_billable("admin")
    assert not policy.is_billable("viewer")
    assert not policy.is_billable("stranger")


def test_every_knob_is_read() -> None:
    policy = build(
        count_pending_invites=True,
        count_deactivated=True,
        seat_mode="automatic",
        included_seats=2,
        min_seats=2,
        max_seats=9,
        interval="year",
        seat_price="950.40",
        base_price="950.40",
        free_allowance={"role": "viewer", "per_paid_seat": 5},
        proration={"unit": "day", "on_increase": "next_invoice", "on_decrease": "none"},
        decrease_release="period_end",
        refill_paid_seat_free=True,
        remove_only_unused=False,
        batch_atomic=False,
        seat_managers=["admin"],
        member_managers=["owner", "admin"],
        owner_role="admin",
        required_roles=["admin"],
        expiring_roles={"viewer": "P30D"},
        addons={"additional_admin_seat": {"seats": 1, "price": "10.00"}},
        rounding="half_even",
    )

    assert policy.count_pending_invites and policy.count_deactivated
    assert policy.seat_mode is SeatMode.AUTOMATIC
    assert (policy.included_seats, policy.min_seats, policy.max_seats) == (2, 2, 9)
    assert policy.interval == Interval(IntervalUnit.YEAR)
    assert policy.seat_price == policy.base_price == Money.of("950.40", "EUR")
    assert policy.free_allowance == FreeAllowance("viewer", 5)
    assert policy.proration == ProrationPolicy(
        ProrationUnit.DAY, OnIncrease.NEXT_INVOICE, OnDecrease.NONE
    )
    assert policy.decrease_release is DecreaseRelease.PERIOD_END
    assert policy.refill_paid_seat_free
    assert not policy.remove_only_unused and not policy.batch_atomic
    assert (policy.seat_managers, policy.member_managers) == (("admin",), ("owner", "admin"))
    assert (policy.owner_role, policy.required_roles) == ("admin", ("admin",))
    assert policy.expiring_roles == {"viewer": timedelta(days=30)}
    assert policy.addons == {
        "additional_admin_seat": Addon("additional_admin_seat", 1, Money.of("10.00", "EUR"))
    }
    assert policy.rounding is Rounding.HALF_EVEN


@pytest.mark.parametrize(
    ("overrides", "field", "value"),
    [
        pytest.param({"seat_price": 99}, "seat_price", "99.00", id="whole number price"),
        pytest.param({"seat_price": "0"}, "seat_price", "0.00", id="free seats"),
        pytest.param({"currency": "JPY", "seat_price": "1200"}, "seat_price", "1200", id="JPY"),
        pytest.param({"currency": "KWD", "seat_price": "3.125"}, "seat_price", "3.125", id="KWD"),
        pytest.param({"base_price": "99.0"}, "base_price", "99.00", id="base price, short"),
    ],
)
def test_prices_are_read_exactly(overrides: dict[str, Any], field: str, value: str) -> None:
    assert getattr(build(**overrides), field).format() == value


@pytest.mark.parametrize(
    ("overrides", "count"),
    [
        pytest.param({"included_seats": None}, 0, id="null included seats means none"),
        pytest.param({"min_seats": None, "max_seats": None}, 0, id="no limits"),
        pytest.param({"min_seats": 2, "max_seats": 2}, 0, id="min equal to max"),
        pytest.param({"expiring_roles": None, "addons": None}, 0, id="null tables mean empty"),
        pytest.param({"free_allowance": None}, 0, id="null allowance"),
        pytest.param({"billable_roles": ("owner", "admin")}, 0, id="roles as a tuple"),
    ],
)
def test_nulls_and_empties_are_accepted(overrides: dict[str, Any], count: int) -> None:
    policy = build(**overrides)

    assert policy.included_seats == count
    assert not policy.expiring_roles and not policy.addons


# --- refusals ------------------------------------------------------------------------------------

ALLOWED_KEYS = ", ".join(sorted(POLICY_KEYS))
VIEWERS = {"role": "viewer", "per_paid_seat": 5}

# (case, overrides laid over MINIMAL, the key the error names, a fragment of its rule)
REFUSALS: list[tuple[str, dict[Any, Any], str, str]] = [
    ("unknown key lists the keys", {"seats_price": "1"}, "seats_price", ALLOWED_KEYS),
    ("non-text key", {1: "x", "zzz": 1}, "1", "is not a policy key"),
    ("currency lower case", {"currency": "eur"}, "currency", "ISO 4217"),
    ("currency empty", {"currency": ""}, "currency", "non-empty string"),
    ("currency as a number", {"currency": 978}, "currency", "non-empty string"),
    ("roles as text", {"billable_roles": "owner"}, "billable_roles", "list of role names"),
    ("role not text", {"free_roles": ["viewer", 3]}, "free_roles", "list of role names"),
    ("capitalized role", {"billable_roles": ["Owner"]}, "billable_roles", "snake_case"),
    ("role with a space", {"free_roles": ["view er"]}, "free_roles", "snake_case"),
    ("trailing newline", {"billable_roles": ["owner\n"]}, "billable_roles", "snake_case"),
    ("duplicate role", {"billable_roles": ["owner"] * 2}, "billable_roles", "twice"),
    ("billable and free", {"free_roles": ["admin"]}, "free_roles", "'admin' cannot be both"),
    ("unknown manager", {"seat_managers": ["root"]}, "seat_managers", "(admin, member, owner,"),
    ("unknown member manager", {"member_managers": ["x"]}, "member_managers", "'x' is not one"),
    ("unknown required role", {"required_roles": ["x"]}, "required_roles", "'x' is not one"),
    ("free owner role", {"owner_role": "viewer"}, "owner_role", "(owner, admin, member), got"),
    ("owner role defaults to owner", {"billable_roles": ["admin"]}, "owner_role", "got 'owner'"),
    ("no billable role", {"billable_roles": []}, "owner_role", "billable roles (none)"),
    ("interval unknown", {"interval": "monthly"}, "interval", "day, week, month, quarter, year"),
    ("interval a number", {"interval": 1}, "interval", "such as month or year"),
    ("float price", {"seat_price": 9.99}, "seat_price", 'such as "99.00", got 9.99'),
    ("bool price", {"seat_price": True}, "seat_price", "decimal string"),
    ("null price", {"seat_price": None}, "seat_price", "decimal string"),
    ("comma price", {"seat_price": "9,99"}, "seat_price", "decimal string"),
    ("negative price", {"seat_price": "-1.00"}, "seat_price", "non-negative"),
    ("infinite price", {"seat_price": "Infinity"}, "seat_price", "non-negative"),
    ("NaN price", {"seat_price": "NaN"}, "seat_price", "non-negative"),
    ("sub-cent price", {"seat_price": "9.999"}, "seat_price", "than EUR allows (2)"),
    ("JPY with decimals", {"currency": "JPY", "seat_price": "1.5"}, "seat_price", "(0)"),
    ("float base price", {"base_price": 99.0}, "base_price", "decimal string"),
    ("bool as text", {"count_deactivated": "yes"}, "count_deactivated", "true or false, got"),
    ("bool as number", {"batch_atomic": 1}, "batch_atomic", "true or false"),
    ("negative count", {"min_seats": -1}, "min_seats", "whole number >= 0 or null, got -1"),
    ("bool count", {"max_seats": True}, "max_seats", "whole number"),
    ("fractional count", {"included_seats": 1.5}, "included_seats", "whole number"),
    ("min above max", {"min_seats": 3, "max_seats": 2}, "min_seats", "exceed max_seats (2)"),
    ("seat mode", {"seat_mode": "auto"}, "seat_mode", "one of manual, automatic; got 'auto'"),
    ("decrease release", {"decrease_release": "x"}, "decrease_release", "immediate, period_end"),
    ("rounding", {"rounding": "bankers"}, "rounding", "half_up, half_even"),
    ("rounding null", {"rounding": None}, "rounding", "got None"),
    ("proration not a table", {"proration": "day"}, "proration", "mapping of unit"),
    ("proration unit", {"proration": {"unit": "hour"}}, "proration.unit", "none; got 'hour'"),
    ("on increase", {"proration": {"on_increase": "x"}}, "proration.on_increase", "next_invoice"),
    ("on decrease", {"proration": {"on_decrease": "x"}}, "proration.on_decrease", "credit_now"),
    ("proration key", {"proration": {"units": "day"}}, "proration.units", "timezone, unit"),
    ("allowance a number", {"free_allowance": 5}, "free_allowance", "{role, per_paid_seat}"),
    ("allowance missing key", {"free_allowance": {"role": "x"}}, "free_allowance", "{role,"),
    (
        "allowance of a billable role",
        {"free_allowance": VIEWERS | {"role": "member"}},
        "free_allowance.role",
        "one of the free roles, got 'member'",
    ),
    (
        "allowance negative",
        {"free_allowance": VIEWERS | {"per_paid_seat": -5}},
        "free_allowance.per_paid_seat",
        "whole number",
    ),
    (
        "allowance null",
        {"free_allowance": VIEWERS | {"per_paid_seat": None}},
        "free_allowance.per_paid_seat",
        "whole number",
    ),
    ("expiring as a list", {"expiring_roles": ["x"]}, "expiring_roles", "ISO 8601 durations"),
    ("expiring unknown role", {"expiring_roles": {"x": "P1D"}}, "expiring_roles", "'x' is not"),
    ("expiring by months", {"expiring_roles": {"viewer": "P1M"}}, "expiring_roles.viewer", "P1M"),
    ("add-ons as a list", {"addons": ["extra"]}, "addons", "{seats, price}"),
    ("add-on a number", {"addons": {"extra": 5}}, "addons.extra", "{seats, price}"),
    ("add-on no price", {"addons": {"extra": {"seats": 1}}}, "addons.extra", "{seats, price}"),
    ("add-on of no seats", {"addons": {"x": {"seats": 0, "price": "1"}}}, "addons.x.seats", ">= 1"),
    ("add-on null seats", {"addons": {"x": {"seats": None, "price": "1"}}}, "addons.x.seats", "1"),
    ("add-on negative", {"addons": {"x": {"seats": -1, "price": "1"}}}, "addons.x.seats", ">= 0"),
    ("add-on float", {"addons": {"x": {"seats": 1, "price": 1.5}}}, "addons.x.price", "decimal"),
    ("add-on sub-cent", {"addons": {"x": {"seats": 1, "price": "1.005"}}}, "addons.x.price", "EUR"),
]


@pytest.mark.parametrize(
    ("overrides", "field", "rule"), [pytest.param(*row[1:], id=row[0]) for row in REFUSALS]
)
def test_refusals_name_the_key_and_the_rule(
    overrides: dict[Any, Any], field: str, rule: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        policy_from_mapping(merge_policy(MINIMAL, overrides))

    assert caught.value.field == field
    assert rule in caught.value.rule
    assert str(caught.value) == f"{field}: {caught.value.rule}"


@pytest.mark.parametrize("key", [pytest.param(k, id=f"without {k}") for k in REQUIRED_KEYS])
def test_required_keys(key: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        policy_from_mapping({k: v for k, v in MINIMAL.items() if k != key})

    assert (caught.value.field, caught.value.rule) == (key, "is required")


@pytest.mark.parametrize(
    "data",
    [pytest.param(["billable_roles"], id="a list"), pytest.param(None, id="nothing")],
)
def test_a_policy_must_be_a_mapping(data: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        policy_from_mapping(data)  # type: ignore[arg-type]

    assert caught.value.field == "policy"


def test_policy_keys_are_design_tables_knobs() -> None:
    # DESIGN.md's table, plus member_managers and owner_role.
    assert {
        "billable_roles",
        "free_roles",
        "count_pending_invites",
        "count_deactivated",
        "seat_mode",
        "included_seats",
        "min_seats",
        "max_seats",
        "currency",
        "interval",
        "seat_price",
        "base_price",
        "free_allowance",
        "proration",
        "decrease_release",
        "refill_paid_seat_free",
        "remove_only_unused",
        "batch_atomic",
        "seat_managers",
        "required_roles",
        "expiring_roles",
        "addons",
        "rounding",
        "member_managers",
        "owner_role",
        # Fair billing of idle members (DESIGN.md, "The seat policy").
        "inactive_after",
        # Issue 10's fair-billing keys (DESIGN.md, "The seat policy").
        "billing_basis",
        "true_up_months",
        "auto_purchase",
    } == POLICY_KEYS
    # Issue 9's proration keys (DESIGN.md, "The seat policy").
    assert {
        "unit",
        "on_increase",
        "on_decrease",
        "day_count",
        "change_day",
        "partial_period_basis",
        "rounding",
        "credit_rounding",
        "rounding_stage",
        "fraction_scale",
        "credit_basis",
        "timezone",
    } == PRORATION_KEYS


# --- merge_policy --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "overrides", "merged"),
    [
        pytest.param(
            {"proration": {"unit": "day", "on_increase": "charge_now", "on_decrease": "none"}},
            {"proration": {"unit": "second"}},
            {"proration": {"unit": "second", "on_increase": "charge_now", "on_decrease": "none"}},
            id="one proration key overridden, the others kept",
        ),
        pytest.param(
            {"addons": {"a": {"seats": 1, "price": "1.00"}}},
            {"addons": {"a": {"price": "2.00"}, "b": {"seats": 5, "price": "9.00"}}},
            {"addons": {"a": {"seats": 1, "price": "2.00"}, "b": {"seats": 5, "price": "9.00"}}},
            id="nested two levels and a new entry",
        ),
        pytest.param(
            {"free_allowance": {"role": "viewer", "per_paid_seat": 5}},
            {"free_allowance": None},
            {"free_allowance": None},
            id="null replaces a table",
        ),
        pytest.param(
            {"free_allowance": None},
            {"free_allowance": {"role": "viewer", "per_paid_seat": 5}},
            {"free_allowance": {"role": "viewer", "per_paid_seat": 5}},
            id="a table replaces null",
        ),
        pytest.param(
            {"billable_roles": ["owner", "member"]},
            {"billable_roles": ["owner"]},
            {"billable_roles": ["owner"]},
            id="lists are replaced, not merged",
        ),
        pytest.param({"seat_price": "1.00"}, {}, {"seat_price": "1.00"}, id="no overrides"),
    ],
)
def test_merge_policy(
    base: dict[str, Any], overrides: dict[str, Any], merged: dict[str, Any]
) -> None:
    before = repr(base)

    assert merge_policy(base, overrides) == merged
    assert repr(base) == before, "the base must not be changed in place"


def test_a_nested_override_reaches_the_policy() -> None:
    base = merge_policy(MINIMAL, {"proration": {"unit": "day", "on_decrease": "none"}})

    policy = policy_from_mapping(merge_policy(base, {"proration": {"unit": "second"}}))

    assert policy.proration == ProrationPolicy(
        ProrationUnit.SECOND, OnIncrease.CHARGE_NOW, OnDecrease.NONE
    )


# --- durations -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "formatted"),
    [
        pytest.param("P30D", timedelta(days=30), "P30D", id="thirty days"),
        pytest.param("PT12H", timedelta(hours=12), "PT12H", id="twelve hours"),
        pytest.param("P2W", timedelta(weeks=2), "P14D", id="two weeks, written as days"),
        pytest.param(
            "P1DT30M", timedelta(days=1, minutes=30), "P1DT30M", id="a day and a half hour"
        ),
        pytest.param("PT90S", timedelta(seconds=90), "PT1M30S", id="seconds carry into minutes"),
        pytest.param("PT36H", timedelta(hours=36), "P1DT12H", id="hours carry into days"),
        pytest.param("P0D", timedelta(0), "PT0S", id="zero"),
    ],
)
def test_durations(text: str, value: timedelta, formatted: str) -> None:
    assert parse_duration(text, "expiring_roles.x") == value
    assert format_duration(value) == formatted
    assert parse_duration(format_duration(value), "k") == value


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("P", id="P alone"),
        pytest.param("PT", id="PT alone"),
        pytest.param("P1DT", id="T without a time"),
        pytest.param("P1M", id="months have no fixed length"),
        pytest.param("P1Y", id="years have no fixed length"),
        pytest.param("P1W2D", id="weeks mixed with days"),
        pytest.param("30D", id="no P"),
        pytest.param("p30d", id="lower case"),
        pytest.param("P30D\n", id="trailing newline"),
        pytest.param("P1.5D", id="decimal"),
        pytest.param("", id="empty"),
        pytest.param(30, id="a number"),
    ],
)
def test_bad_durations_name_the_key(text: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_duration(text, "expiring_roles.implementation_admin")  # type: ignore[arg-type]

    assert caught.value.field == "expiring_roles.implementation_admin"
    assert "ISO 8601 duration such as P30D or PT12H" in caught.value.rule


# --- round trip ----------------------------------------------------------------------------------


def test_round_trip_of_a_full_policy() -> None:
    policy = build(
        seat_mode="automatic",
        included_seats=2,
        min_seats=2,
        max_seats=None,
        base_price="99",
        free_allowance={"role": "viewer", "per_paid_seat": 5},
        proration={"unit": "month", "on_increase": "next_invoice"},
        owner_role="admin",
        required_roles=["admin"],
        expiring_roles={"viewer": "PT12H"},
        addons={"extra": {"seats": 5, "price": "40"}},
    )

    mapping = policy_to_mapping(policy)

    assert set(mapping) == POLICY_KEYS
    assert mapping["base_price"] == "99.00"
    assert mapping["expiring_roles"] == {"viewer": "PT12H"}
    assert mapping["addons"] == {"extra": {"seats": 5, "price": "40.00"}}
    assert policy_from_mapping(mapping) == policy


ROLE_POOL = ["owner", "admin", "member", "reviewer", "viewer", "participant", "guest_2"]


@st.composite
def proration_tables(draw: st.DrawFn, interval: str) -> dict[str, Any]:
    """A valid ``proration`` table for ``interval``: keys that need months or day units only
    where they are allowed."""
    by_months = interval in ("month", "quarter", "year")
    unit = draw(st.sampled_from([u.value for u in ProrationUnit]))
    increases = [u.value for u in OnIncrease if by_months or u is not OnIncrease.MONTHLY]
    table: dict[str, Any] = {
        "unit": unit,
        "on_increase": draw(st.sampled_from(increases)),
        "on_decrease": draw(st.sampled_from([u.value for u in OnDecrease])),
        "partial_period_basis": draw(st.sampled_from(["anchor_period", "start_period"])),
        "credit_rounding": draw(st.none() | st.sampled_from([r.value for r in Rounding])),
        "rounding_stage": draw(st.sampled_from(["line", "unit"])),
        "fraction_scale": draw(st.none() | st.integers(0, 30)),
        "credit_basis": draw(st.sampled_from(["price", "invoiced"])),
        "timezone": draw(st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"])),
    }
    if unit == "day":
        table["change_day"] = draw(st.sampled_from(["remaining", "used"]))
        if by_months:
            table["day_count"] = draw(st.sampled_from(["actual", 28, 30, 31]))
    return table


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    roles = draw(st.permutations(ROLE_POOL))
    split = draw(st.integers(1, len(roles)))
    billable, free = roles[:split], roles[split:]
    known = billable + free
    currency = draw(st.sampled_from(["EUR", "JPY", "KWD", "USD"]))
    digits = {"EUR": 2, "JPY": 0, "KWD": 3, "USD": 2}[currency]

    def price() -> str:
        minor = draw(st.integers(0, 10**9))
        return str(Decimal(minor).scaleb(-digits))

    low = draw(st.none() | st.integers(0, 20))
    high = draw(st.none() | st.integers(low or 0, 40))
    interval = draw(st.sampled_from(["day", "2 week", "month", "quarter", "year"]))
    data: dict[str, Any] = {
        "billable_roles": billable,
        "free_roles": free,
        "currency": currency,
        "interval": interval,
        "seat_price": price(),
        "base_price": price(),
        "count_pending_invites": draw(st.booleans()),
        "count_deactivated": draw(st.booleans()),
        "seat_mode": draw(st.sampled_from(["manual", "automatic"])),
        "included_seats": draw(st.integers(0, 10)),
        "min_seats": low,
        "max_seats": high,
        "proration": draw(proration_tables(interval)),
        "decrease_release": draw(st.sampled_from([u.value for u in DecreaseRelease])),
        "refill_paid_seat_free": draw(st.booleans()),
        "seat_managers": draw(st.lists(st.sampled_from(known), unique=True)),
        "member_managers": draw(st.lists(st.sampled_from(known), unique=True)),
        "owner_role": draw(st.sampled_from(billable)),
        "required_roles": draw(st.lists(st.sampled_from(known), unique=True)),
        "expiring_roles": {
            role: format_duration(timedelta(seconds=draw(st.integers(0, 10**8))))
            for role in draw(st.lists(st.sampled_from(known), unique=True))
        },
        "addons": {
            name: {"seats": draw(st.integers(1, 50)), "price": price()}
            for name in draw(st.lists(st.sampled_from(["extra", "pack_10"]), unique=True))
        },
        "rounding": draw(st.sampled_from([r.value for r in Rounding])),
    }
    with_allowance = draw(st.booleans())
    if free and with_allowance:
        data["free_allowance"] = {"role": free[0], "per_paid_seat": draw(st.integers(0, 9))}
    return policy_from_mapping(data)


@given(policy=policies())
def test_round_trip_property(policy: Policy) -> None:
    assert policy_from_mapping(policy_to_mapping(policy)) == policy
