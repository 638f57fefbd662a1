"""Named proration styles: each style is a complete, valid set of proration keys; explicit keys win
over the style's; an unknown style is refused naming ``proration.style``; a policy written back
holds the expanded keys and reads back equal; the docs' table is the code's table."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from seatledger.domain.errors import InvalidInput
from seatledger.domain.money import Rounding
from seatledger.domain.periods import Interval
from seatledger.domain.policy import policy_from_mapping, policy_to_mapping
from seatledger.domain.proration_policy import (
    PRORATION_KEYS,
    ProrationUnit,
    proration_from_mapping,
    proration_to_mapping,
)
from seatledger.domain.proration_styles import (
    STYLES,
    expand_proration_style,
    with_proration_style,
)

DOCS = Path(__file__).parents[2] / "docs" / "proration-styles.md"
ENGINES = ("stripe", "killbill", "lago", "zulip", "chargebee", "slack")


def policy(**proration: Any) -> dict[str, Any]:
    """A minimal monthly USD policy with ``proration`` as given."""
    return {
        "billable_roles": ["owner", "member"],
        "free_roles": [],
        "currency": "USD",
        "interval": "month",
        "seat_price": "10.00",
        "proration": proration,
    }


def test_the_styles_are_the_six_engines_of_issue_9() -> None:
    assert sorted(STYLES) == sorted(ENGINES)


@pytest.mark.parametrize("name", ENGINES)
def test_a_style_sets_every_proration_key_but_the_accounts_time_zone(name: str) -> None:
    assert set(STYLES[name]) == PRORATION_KEYS - {"timezone"}


@pytest.mark.parametrize("interval", ["month", "year"])
@pytest.mark.parametrize("name", ENGINES)
def test_a_style_is_a_valid_proration_table_that_reads_back_as_written(
    name: str, interval: str
) -> None:
    style = dict(STYLES[name])
    parsed = proration_from_mapping(style, Interval.parse(interval))

    written = proration_to_mapping(parsed)

    assert written == {k: v for k, v in style.items() if k != "rounding"} | {"timezone": "UTC"}


@pytest.mark.parametrize("name", ENGINES)
def test_expanding_a_style_gives_its_keys_and_drops_style(name: str) -> None:
    assert expand_proration_style({"style": name}) == dict(STYLES[name])


def test_keys_written_next_to_the_style_win_one_by_one() -> None:
    table = expand_proration_style(
        {"style": "killbill", "day_count": 30, "timezone": "Europe/Paris"}
    )

    assert table == dict(STYLES["killbill"]) | {"day_count": 30, "timezone": "Europe/Paris"}
    assert table["fraction_scale"] == 9  # still Kill Bill's


def test_a_table_without_style_comes_back_as_a_copy() -> None:
    given = {"unit": "day"}

    table = expand_proration_style(given)
    table["unit"] = "second"

    assert given == {"unit": "day"}


def test_expanding_leaves_the_given_table_untouched() -> None:
    given = {"style": "lago", "unit": "second"}

    expand_proration_style(given)

    assert given == {"style": "lago", "unit": "second"}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("paddle", id="unknown-name"),
        pytest.param("Stripe", id="names-are-lowercase"),
        pytest.param(None, id="null"),
        pytest.param(["stripe"], id="a-list"),
        pytest.param(1, id="a-number"),
    ],
)
def test_an_unknown_style_is_refused_naming_the_key_and_the_allowed_names(name: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        expand_proration_style({"style": name})

    assert refused.value.fields()["field"] == "proration.style"
    assert "chargebee, killbill, lago, slack, stripe, zulip" in refused.value.message
    assert repr(name) in refused.value.message


def test_a_policy_with_an_unknown_style_is_refused_before_anything_else() -> None:
    with pytest.raises(InvalidInput) as refused:
        policy_from_mapping(policy(style="recurly", unit="fortnight"))

    assert refused.value.fields()["field"] == "proration.style"


def test_a_policy_without_a_styled_proration_is_passed_through_as_it_is() -> None:
    plain = policy(unit="day")
    bare = {k: v for k, v in plain.items() if k != "proration"}
    odd = {**plain, "proration": "killbill"}

    assert with_proration_style(plain) is plain
    assert with_proration_style(bare) is bare
    assert with_proration_style(odd) is odd


def test_a_proration_that_is_not_a_mapping_is_still_refused_by_the_policy() -> None:
    with pytest.raises(InvalidInput) as refused:
        policy_from_mapping({**policy(), "proration": "killbill"})

    assert refused.value.fields()["field"] == "proration"


def test_a_styled_policy_is_expanded_and_its_other_keys_kept() -> None:
    given = policy(style="zulip", on_increase="charge_now")

    expanded = with_proration_style(given)

    assert expanded["proration"] == dict(STYLES["zulip"]) | {"on_increase": "charge_now"}
    assert {k: v for k, v in expanded.items() if k != "proration"} == {
        k: v for k, v in given.items() if k != "proration"
    }
    assert given["proration"] == {"style": "zulip", "on_increase": "charge_now"}


@pytest.mark.parametrize("name", ENGINES)
def test_a_styled_policy_parses_to_the_styles_keys(name: str) -> None:
    parsed = policy_from_mapping(policy(style=name))

    assert proration_to_mapping(parsed.proration) == proration_to_mapping(
        proration_from_mapping(dict(STYLES[name]), Interval.parse("month"))
    )
    assert parsed.rounding is Rounding(STYLES[name]["rounding"])


@pytest.mark.parametrize("name", ENGINES)
def test_a_styled_policy_is_written_as_its_expanded_keys_and_reads_back_equal(name: str) -> None:
    parsed = policy_from_mapping(policy(style=name, timezone="America/New_York"))

    written = policy_to_mapping(parsed)

    assert "style" not in written["proration"]
    assert written["proration"]["timezone"] == "America/New_York"
    assert written["proration"]["unit"] == STYLES[name]["unit"]
    assert policy_from_mapping(json.loads(json.dumps(written))) == parsed


def test_the_styles_rounding_wins_over_the_top_level_key_unless_written_next_to_it() -> None:
    top_level_even = {**policy(style="stripe"), "rounding": "half_even"}
    explicit_even = {**policy(style="stripe", rounding="half_even"), "rounding": "half_up"}

    assert policy_from_mapping(top_level_even).rounding is Rounding.HALF_UP
    assert policy_from_mapping(explicit_even).rounding is Rounding.HALF_EVEN


def test_a_styles_key_that_does_not_fit_the_interval_is_refused_by_the_usual_rule() -> None:
    weekly_zulip = {**policy(style="zulip"), "interval": "week"}

    with pytest.raises(InvalidInput) as refused:
        policy_from_mapping(weekly_zulip)

    assert refused.value.fields()["field"] == "proration.on_increase"


def test_overriding_the_unit_of_a_day_style_keeps_the_rest() -> None:
    parsed = policy_from_mapping(policy(style="killbill", unit="second"))

    assert parsed.proration.unit is ProrationUnit.SECOND
    assert parsed.proration.fraction_scale == 9


def _docs_table() -> dict[str, dict[str, str]]:
    """The "styles at a glance" table of docs/proration-styles.md: key -> style -> value."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## The styles at a glance", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    header = next(line for line in section.splitlines() if line.startswith("| key"))
    names = [cell.strip() for cell in header.strip("|").split("|")][1:]
    table: dict[str, dict[str, str]] = {}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        for key in re.findall(r"`([a-z_]+)`", cells[0]):
            table[key] = dict(zip(names, cells[1:], strict=True))
    return table


def test_the_docs_table_is_the_code_table() -> None:
    table = _docs_table()

    assert set(table) == PRORATION_KEYS - {"timezone"}
    for key, values in table.items():
        for name, shown in values.items():
            value = STYLES[name][key]
            assert shown == ("null" if value is None else str(value)), f"{name}.{key}"
