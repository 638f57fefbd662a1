"""The eight presets encode their seed articles; policy files are read strictly, in three formats."""

from __future__ import annotations

import json
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from seatledger.domain.errors import InvalidInput, NotFound
from seatledger.domain.money import Money, Rounding
from seatledger.domain.policy import (
    POLICY_KEYS,
    Policy,
    policy_from_mapping,
    policy_to_mapping,
)
from seatledger.policy_files import load_policy_file, resolve_policy
from seatledger.presets import load_preset, preset_names, preset_policy, preset_text

# SCENARIOS.md: "Preset names: `rallly-pro`, `reviewer-free`, `reviewer-pro`, `reviewer-pro-annual`,
# `voltasis-pro`, `voltasis-pro-annual`, `upcoach`, `plaky`."
SCENARIO_PRESETS = [
    "rallly-pro",
    "reviewer-free",
    "reviewer-pro",
    "reviewer-pro-annual",
    "voltasis-pro",
    "voltasis-pro-annual",
    "upcoach",
    "plaky",
]
# SCENARIOS.md: "Role names are snake_case as the seeds name them".
SCENARIO_ROLES = {
    "owner",
    "admin",
    "member",
    "reviewer",
    "manager",
    "employee",
    "contractor",
    "program_admin",
    "program_facilitator",
    "program_sponsor",
    "participant",
    "implementation_admin",
    "viewer",
}
# The seed article each preset encodes (the seeds' README table).
SEED_FILES = {
    "rallly-pro": "rallly-managing-seats.md",
    "reviewer-free": "reviewer-seats.txt",
    "reviewer-pro": "reviewer-seats.txt",
    "reviewer-pro-annual": "reviewer-seats.txt",
    "voltasis-pro": "voltasis-seat-management-and-proration.txt",
    "voltasis-pro-annual": "voltasis-seat-management-and-proration.txt",
    "upcoach": "upcoach-seats-and-roles.txt",
    "plaky": "plaky-user-seats.md",
}
PRESETS = [pytest.param(name, id=name) for name in SCENARIO_PRESETS]


def knob(policy: Policy, path: str) -> Any:
    """``"proration.unit"`` -> ``policy.proration.unit``, enums and money as their plain values."""
    value: Any = policy
    for part in path.split("."):
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    if isinstance(value, Money):
        return value.format()
    if isinstance(value, tuple):
        return list(value)
    return getattr(value, "value", value)


# --- every preset --------------------------------------------------------------------------------


def test_the_names_are_scenarios_mds_list() -> None:
    assert preset_names() == sorted(SCENARIO_PRESETS)


@pytest.mark.parametrize("name", PRESETS)
def test_each_preset_is_a_complete_valid_policy(name: str) -> None:
    raw = load_preset(name)

    assert set(raw) == POLICY_KEYS, "a preset writes out every knob"
    assert set(raw["proration"]) == {"unit", "on_increase", "on_decrease"}
    policy = policy_from_mapping(raw)
    assert preset_policy(name) == policy == resolve_policy(name, None)
    assert set(policy.roles) <= SCENARIO_ROLES
    assert policy_from_mapping(policy_to_mapping(policy)) == policy


@pytest.mark.parametrize("name", PRESETS)
def test_each_preset_names_its_seed_article_first(name: str) -> None:
    first = preset_text(name).splitlines()[0]

    assert first.startswith("# Seed: ")
    assert SEED_FILES[name] in preset_text(name).split("\n\n")[0]


@pytest.mark.parametrize("name", PRESETS)
def test_each_preset_writes_prices_as_quoted_decimals(name: str) -> None:
    raw = load_preset(name)
    prices = [raw["seat_price"], raw["base_price"]]
    prices += [addon["price"] for addon in raw["addons"].values()]

    assert all(isinstance(price, str) for price in prices)


@pytest.mark.parametrize("name", PRESETS)
def test_the_strict_file_reader_reads_each_preset_alike(name: str) -> None:
    # load_policy_file refuses keys written twice, which the preset loader would silently accept.
    path = Path(str(files("seatledger.presets").joinpath(f"{name}.yaml")))

    assert load_policy_file(path) == load_preset(name)


def test_the_presets_together_use_every_role_of_scenarios_md() -> None:
    used = set().union(*(preset_policy(name).roles for name in SCENARIO_PRESETS))

    assert used == SCENARIO_ROLES


def test_load_preset_hands_out_a_fresh_mapping() -> None:
    load_preset("plaky")["seat_price"] = "0.00"

    assert load_preset("plaky")["seat_price"] != "0.00"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("reviewer-enterprise", id="unknown"),
        pytest.param("../policy_files", id="outside the package"),
        pytest.param("__init__", id="the loader itself"),
        pytest.param("", id="empty"),
    ],
)
def test_unknown_presets_are_not_found(name: str) -> None:
    for load in (load_preset, preset_text, preset_policy, lambda n: resolve_policy(n, {})):
        with pytest.raises(NotFound) as caught:
            load(name)
        assert (caught.value.kind, caught.value.key) == ("preset", name)


# --- the seeds' rules, knob by knob --------------------------------------------------------------

SEED_RULES = [
    # Rallly
    (
        "rallly-pro",
        "billable_roles",
        ["owner", "admin", "member"],
        "every space member uses a seat",
    ),
    ("rallly-pro", "seat_mode", "manual", "seats are bought before inviting"),
    ("rallly-pro", "seat_managers", ["owner"], "only the owner manages seats"),
    ("rallly-pro", "required_roles", ["owner"], "a space keeps its owner"),
    ("rallly-pro", "proration.unit", "day", "remaining days"),
    ("rallly-pro", "proration.on_increase", "charge_now", "charged immediately"),
    ("rallly-pro", "proration.on_decrease", "credit_now", "credit for unused days"),
    ("rallly-pro", "decrease_release", "immediate", "seat count reduced immediately"),
    ("rallly-pro", "remove_only_unused", True, "not below the member count"),
    ("rallly-pro", "max_seats", None, "no upper limit"),
    # reviewer
    ("reviewer-free", "max_seats", 1, "Free: one seat"),
    ("reviewer-free", "seat_price", "0.00", "Free: no seat price"),
    ("reviewer-free", "base_price", "0.00", "Free: no base price"),
    ("reviewer-pro", "billable_roles", ["admin", "reviewer"], "only Reviewers are billed"),
    ("reviewer-pro", "free_roles", ["member"], "Members are free"),
    ("reviewer-pro", "owner_role", "admin", "the creator is the Admin"),
    ("reviewer-pro", "required_roles", ["admin"], "the Admin seat cannot be removed"),
    ("reviewer-pro", "base_price", "99.00", "Pro base EUR 99"),
    ("reviewer-pro", "included_seats", 2, "two seats in the base price"),
    ("reviewer-pro", "min_seats", 2, "minimum two seats"),
    ("reviewer-pro", "max_seats", None, "no maximum"),
    ("reviewer-pro", "seat_price", "99.00", "EUR 99 per extra seat"),
    ("reviewer-pro", "proration.on_increase", "charge_now", "prorated charge on increase"),
    ("reviewer-pro", "proration.on_decrease", "none", "no refund on decrease"),
    ("reviewer-pro", "decrease_release", "period_end", "seat kept until period end"),
    ("reviewer-pro", "refill_paid_seat_free", True, "a freed seat is re-filled free"),
    ("reviewer-pro-annual", "proration.on_decrease", "none", "annual: no refund either"),
    # Voltasis
    ("voltasis-pro", "seat_mode", "automatic", "seats follow membership"),
    (
        "voltasis-pro",
        "billable_roles",
        ["owner", "admin", "manager", "employee", "contractor"],
        "every active member is a seat",
    ),
    ("voltasis-pro", "count_deactivated", False, "deactivated members are no seat"),
    ("voltasis-pro", "proration.unit", "day", "day-based proration"),
    ("voltasis-pro", "proration.on_increase", "next_invoice", "charge on the next invoice"),
    ("voltasis-pro", "proration.on_decrease", "credit_next_invoice", "credit on the next invoice"),
    ("voltasis-pro", "decrease_release", "period_end", "released at cycle end"),
    ("voltasis-pro-annual", "proration.unit", "month", "annual: by remaining months"),
    ("voltasis-pro-annual", "seat_mode", "automatic", "annual: seats follow membership"),
    # upcoach
    (
        "upcoach",
        "billable_roles",
        ["owner", "admin", "program_admin", "program_facilitator", "program_sponsor"],
        "five seat-consuming roles",
    ),
    ("upcoach", "free_roles", ["participant", "implementation_admin"], "two free roles"),
    ("upcoach", "batch_atomic", True, "a batch past the limit is rejected whole"),
    ("upcoach", "count_deactivated", False, "deactivating frees the seat"),
    ("upcoach", "seat_mode", "manual", "blocked at the seat limit"),
    ("upcoach", "addons.additional_admin_seat.seats", 1, "the additional admin seat add-on"),
    # Plaky
    ("plaky", "billable_roles", ["admin", "member"], "Admins and Members use seats"),
    ("plaky", "free_roles", ["viewer"], "Viewers do not"),
    ("plaky", "count_pending_invites", True, "pending invites use seats"),
    ("plaky", "free_allowance.role", "viewer", "free Viewers"),
    ("plaky", "free_allowance.per_paid_seat", 5, "five per paid seat"),
    ("plaky", "seat_managers", ["admin"], "all Admins manage seats"),
    ("plaky", "remove_only_unused", True, "only unused seats can be removed"),
    ("plaky", "proration.on_decrease", "none", "no refunds"),
]


@pytest.mark.parametrize(
    ("name", "path", "expected"),
    [
        pytest.param(name, path, expected, id=f"{name}: {why}")
        for name, path, expected, why in SEED_RULES
    ],
)
def test_seed_rules(name: str, path: str, expected: object) -> None:
    assert knob(preset_policy(name), path) == expected


@pytest.mark.parametrize(
    ("name", "interval"),
    [
        pytest.param(name, "year" if "annual" in name else "month", id=name)
        for name in SCENARIO_PRESETS
    ],
)
def test_annual_presets_bill_yearly_and_the_others_monthly(name: str, interval: str) -> None:
    assert str(preset_policy(name).interval) == interval


def test_reviewer_annual_is_twelve_months_at_twenty_percent_off() -> None:
    monthly, annual = preset_policy("reviewer-pro"), preset_policy("reviewer-pro-annual")
    discounted = Decimal(1) - Decimal("0.20")

    for price in ("seat_price", "base_price"):
        yearly = (getattr(monthly, price) * 12 * discounted).settle(Rounding.HALF_UP)
        assert getattr(annual, price) == yearly
        assert yearly == Money.of("950.40", "EUR")


def test_reviewer_annual_differs_from_monthly_only_in_interval_and_prices() -> None:
    monthly, annual = load_preset("reviewer-pro"), load_preset("reviewer-pro-annual")
    differing = {key for key in POLICY_KEYS if monthly[key] != annual[key]}

    assert differing == {"interval", "seat_price", "base_price"}


def test_voltasis_annual_charges_each_month_at_the_monthly_rate() -> None:
    monthly, annual = preset_policy("voltasis-pro"), preset_policy("voltasis-pro-annual")

    assert annual.seat_price == monthly.seat_price * 12
    assert load_preset("voltasis-pro-annual") | {
        "interval": "month",
        "seat_price": load_preset("voltasis-pro")["seat_price"],
        "proration": load_preset("voltasis-pro")["proration"],
    } == load_preset("voltasis-pro")


def test_upcoach_implementation_admins_expire_and_use_no_seat() -> None:
    policy = preset_policy("upcoach")

    assert set(policy.expiring_roles) == {"implementation_admin"}
    assert policy.expiring_roles["implementation_admin"].total_seconds() > 0
    assert not policy.is_billable("implementation_admin")


# --- policy files --------------------------------------------------------------------------------

OVERRIDES_YAML = "seat_price: '12.50'\nproration:\n  unit: second\n"
OVERRIDES_TOML = 'seat_price = "12.50"\n[proration]\nunit = "second"\n'
OVERRIDES_JSON = '{"seat_price": "12.50", "proration": {"unit": "second"}}'
OVERRIDES = {"seat_price": "12.50", "proration": {"unit": "second"}}


@pytest.mark.parametrize(
    ("filename", "text"),
    [
        pytest.param("plan.yaml", OVERRIDES_YAML, id="yaml"),
        pytest.param("plan.yml", OVERRIDES_YAML, id="yml"),
        pytest.param("PLAN.YAML", OVERRIDES_YAML, id="upper-case suffix"),
        pytest.param("plan.toml", OVERRIDES_TOML, id="toml"),
        pytest.param("plan.json", OVERRIDES_JSON, id="json"),
    ],
)
def test_policy_files_in_each_format(tmp_path: Path, filename: str, text: str) -> None:
    path = tmp_path / filename
    path.write_text(text, encoding="utf-8")

    overrides = load_policy_file(path)
    policy = resolve_policy("plaky", overrides)

    assert overrides == OVERRIDES
    assert load_policy_file(str(path)) == OVERRIDES
    assert policy.seat_price == Money.of("12.50", "USD")
    assert policy.proration.unit.value == "second"
    assert policy.proration.on_decrease.value == "none", "the preset's other proration keys stay"


@pytest.mark.parametrize(
    ("filename", "text", "shown"),
    [
        pytest.param("plan.yaml", "seat_price: 12.50\n", "got 12.5", id="yaml float"),
        pytest.param("plan.toml", "seat_price = 12.50\n", "got 12.5", id="toml float"),
        pytest.param("plan.json", '{"seat_price": 12.50}', "got 12.5", id="json float"),
    ],
)
def test_an_unquoted_price_reaches_the_domain_as_it_was_parsed(
    tmp_path: Path, filename: str, text: str, shown: str
) -> None:
    path = tmp_path / filename
    path.write_text(text, encoding="utf-8")

    with pytest.raises(InvalidInput) as caught:
        resolve_policy("plaky", load_policy_file(path))

    assert caught.value.field == "seat_price"
    assert shown in caught.value.rule


@pytest.mark.parametrize(
    ("filename", "content", "rule"),
    [
        pytest.param("p.yaml", "seat_price: [1\n", "is not valid YAML: ", id="yaml syntax"),
        pytest.param("p.yaml", "a: 1\n b: 2\n", "(line 2, column 3)", id="yaml where"),
        pytest.param("p.yaml", "a: 1\na: 2\n", "'a' is written twice (line 2", id="yaml duplicate"),
        pytest.param(
            "p.yaml", "x:\n  a: 1\n  a: 2\n", "'a' is written twice", id="yaml nested dup"
        ),
        pytest.param("p.yaml", "? [a]\n: 1\n", "unhashable", id="yaml unhashable key"),
        pytest.param(
            "p.yaml", "- seat_price\n", "mapping of policy keys, not a list", id="yaml list"
        ),
        pytest.param(
            "p.yaml", "!!python/object:os.system {}\n", "is not valid YAML", id="yaml unsafe"
        ),
        pytest.param("p.yaml", "a: \x07\n", "unacceptable character", id="yaml control char"),
        pytest.param("p.toml", "seat_price = \n", "is not valid TOML: ", id="toml syntax"),
        pytest.param("p.toml", "a = 1\na = 2\n", "is not valid TOML", id="toml duplicate"),
        pytest.param("p.json", '{"a": 1,}', "is not valid JSON: ", id="json syntax"),
        pytest.param(
            "p.json", '{\n "a": 1,\n "a": 2}', "'a' is written twice", id="json duplicate"
        ),
        pytest.param("p.json", '\n\n  {"a" 1}', "(line 3, column 8)", id="json where"),
        pytest.param("p.json", "", "is not valid JSON", id="json empty"),
        pytest.param("p.json", '"x"', "not a str", id="json text"),
        pytest.param("p.txt", "a: 1\n", "must be a .yaml, .yml, .toml or .json file", id="suffix"),
        pytest.param("p.yaml", b"a: \xff\n", "not UTF-8 text", id="not utf-8"),
    ],
)
def test_bad_policy_files_name_the_file_and_the_problem(
    tmp_path: Path, filename: str, content: str | bytes, rule: str
) -> None:
    path = tmp_path / filename
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")

    with pytest.raises(InvalidInput) as caught:
        load_policy_file(path)

    assert caught.value.field == str(path)
    assert rule in caught.value.rule
    assert str(caught.value).startswith(f"{path}: ")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda tmp: tmp / "missing.yaml", id="missing file"),
        pytest.param(lambda tmp: (tmp / "dir.yaml").mkdir() or tmp / "dir.yaml", id="a directory"),
    ],
)
def test_unreadable_policy_files(tmp_path: Path, make: Any) -> None:
    path = make(tmp_path)

    with pytest.raises(InvalidInput) as caught:
        load_policy_file(path)

    assert caught.value.field == str(path)
    assert caught.value.rule.startswith("cannot be read: ")


def test_an_empty_yaml_file_means_no_overrides(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing overridden\n", encoding="utf-8")

    assert load_policy_file(path) == {}
    assert resolve_policy("upcoach", load_policy_file(path)) == preset_policy("upcoach")


def test_yaml_merge_keys_may_override_what_they_merge(tmp_path: Path) -> None:
    path = tmp_path / "anchors.yaml"
    path.write_text(
        "base: &base {unit: day, on_increase: charge_now}\n"
        "proration:\n  <<: *base\n  unit: second\n",
        encoding="utf-8",
    )

    assert load_policy_file(path)["proration"] == {"unit": "second", "on_increase": "charge_now"}


def test_a_complete_policy_file_needs_no_preset(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy_to_mapping(preset_policy("reviewer-pro"))), encoding="utf-8")

    assert resolve_policy(None, load_policy_file(path)) == preset_policy("reviewer-pro")


@pytest.mark.parametrize(
    ("preset", "overrides", "field"),
    [
        pytest.param(None, None, "billable_roles", id="no preset, nothing given"),
        pytest.param(None, {"currency": "EUR"}, "billable_roles", id="no preset, partial policy"),
        pytest.param("plaky", {"seat_mode": "auto"}, "seat_mode", id="bad override"),
        pytest.param("plaky", {"proration": {"unit": "hour"}}, "proration.unit", id="bad nested"),
        pytest.param("plaky", ["seat_mode"], "policy", id="overrides not a mapping"),
    ],
)
def test_resolve_policy_refusals(preset: str | None, overrides: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        resolve_policy(preset, overrides)

    assert caught.value.field == field


def test_overrides_replace_single_keys_and_keep_the_rest() -> None:
    policy = resolve_policy(
        "reviewer-pro", {"min_seats": 3, "proration": {"unit": "second"}, "free_allowance": None}
    )
    preset = preset_policy("reviewer-pro")

    assert policy.min_seats == 3
    assert policy.proration.unit.value == "second"
    assert policy.proration.on_decrease == preset.proration.on_decrease
    assert (policy.seat_price, policy.included_seats) == (preset.seat_price, preset.included_seats)
