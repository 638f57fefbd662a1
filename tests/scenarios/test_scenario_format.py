"""Scenario files are read and checked whole before anything runs; a bad one names its file, the
step and the field (SCENARIOS.md: "2 a file is invalid (the message names the file, the step and
the field)")."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from seatledger.scenarios.format import (
    ACTIONS,
    ERROR_CODES,
    LINE_KINDS,
    ExpectedLine,
    ScenarioFileError,
    load_scenario,
    parse_scenario,
    scenario_files,
)

FILE = "bad.yaml"


def doc(*steps: Any, **top: Any) -> dict[str, Any]:
    """A valid scenario document around ``steps`` (default: one subscribe), with ``top`` keys
    replacing or adding file keys (a value of ``...`` drops the key)."""
    data: dict[str, Any] = {
        "preset": "reviewer-pro",
        "start": "2026-04-01T00:00:00Z",
        "steps": list(steps) or [{"subscribe": {"seats": 2}}],
    }
    data.update(top)
    return {k: v for k, v in data.items() if v is not ...}


def refusal(data: Any) -> ScenarioFileError:
    with pytest.raises(ScenarioFileError) as caught:
        parse_scenario(data, FILE)
    return caught.value


# --- what a valid file becomes -------------------------------------------------------------------


def test_contract_lists_match_scenarios_md() -> None:
    assert set(ACTIONS) >= {
        "subscribe",
        "set_seats",
        "add_seats",
        "remove_seats",
        "preview_seats",
        "invite",
        "accept",
        "assign_role",
        "remove_role",
        "deactivate",
        "reactivate",
        "delete",
        "transfer_ownership",
        "add_addon",
        "cancel",
    }
    assert set(ERROR_CODES) == {
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
    assert set(LINE_KINDS) == {
        "base",
        "seats",
        "proration_charge",
        "proration_credit",
        "addon",
        "credit_applied",
    }


def test_a_valid_file_is_typed_step_by_step() -> None:
    scenario = parse_scenario(
        doc(
            {"at": "2026-04-01", "subscribe": {"seats": 2, "anchor": "2026-05-01"}},
            {
                "at": "2026-04-16T12:00:00+02:00",
                "as": "ana@x.test",
                "workspace": "main",
                "invite": {"emails": ["a@x.test"], "role": "reviewer", "scope": "p1"},
                "expect": {
                    "error": "seat_limit_reached",
                    "message": "No seats available.",
                    "seats": {"total": 3, "used": 1},
                    "charged": "49.50",
                    "credited": 0,
                    "balance": "0.00",
                    "invoice": {
                        "total": "49.50",
                        "lines": [{"kind": "proration_charge", "quantity": 1, "amount": "49.50"}],
                    },
                },
            },
            {"cancel": None},
        ),
        FILE,
    )

    first, second, third = scenario.steps
    assert (scenario.name, scenario.workspaces) == ("bad", ("main",))
    assert first.at == datetime(2026, 4, 1, tzinfo=UTC)
    assert first.argument == {
        "seats": 2,
        "anchor": datetime(2026, 5, 1, tzinfo=UTC),
        "workspaces": None,
    }
    assert second.at == datetime(2026, 4, 16, 10, tzinfo=UTC), "converted to UTC"
    assert (second.index, second.action, second.actor, second.workspace) == (
        2,
        "invite",
        "ana@x.test",
        "main",
    )
    assert second.argument == {"emails": ("a@x.test",), "role": "reviewer", "scope": "p1"}
    expect = second.expect
    assert (expect.error, expect.message) == ("seat_limit_reached", "No seats available.")
    assert expect.seats == {"total": 3, "used": 1}
    assert (expect.charged, expect.credited, expect.balance) == (
        Decimal("49.50"),
        Decimal(0),
        Decimal("0.00"),
    )
    assert expect.invoice is not None
    assert expect.invoice.total == Decimal("49.50")
    assert expect.invoice.lines == (ExpectedLine("proration_charge", 1, Decimal("49.50")),)
    assert (third.action, third.argument, third.at) == ("cancel", {"at_period_end": False}, None)


def test_a_step_without_an_action_only_moves_the_clock() -> None:
    scenario = parse_scenario(doc({"subscribe": {"seats": 2}}, {"at": "2026-05-01"}), FILE)

    step = scenario.steps[1]
    assert (step.action, step.argument, step.expect.error) == (None, None, None)


@pytest.mark.parametrize(
    ("action", "argument", "parsed"),
    [
        pytest.param("set_seats", 0, 0, id="set_seats"),
        pytest.param("add_seats", 2, 2, id="add_seats"),
        pytest.param("remove_seats", 1, 1, id="remove_seats"),
        pytest.param("preview_seats", 5, 5, id="preview_seats"),
        pytest.param("accept", "a@x.test", "a@x.test", id="accept"),
        pytest.param("deactivate", "a@x.test", "a@x.test", id="deactivate"),
        pytest.param("reactivate", "a@x.test", "a@x.test", id="reactivate"),
        pytest.param("delete", "a@x.test", "a@x.test", id="delete"),
        pytest.param("transfer_ownership", "a@x.test", "a@x.test", id="transfer_ownership"),
        pytest.param(
            "assign_role",
            {"email": "a@x.test", "role": "reviewer"},
            {"email": "a@x.test", "role": "reviewer", "scope": None},
            id="assign_role",
        ),
        pytest.param(
            "remove_role",
            {"email": "a@x.test", "role": "reviewer", "scope": "p1"},
            {"email": "a@x.test", "role": "reviewer", "scope": "p1"},
            id="remove_role",
        ),
        pytest.param(
            "add_addon",
            {"name": "extra", "seats": 2},
            {"name": "extra", "seats": 2, "count": None},
            id="add_addon seats",
        ),
        pytest.param(
            "remove_addon",
            {"name": "extra", "count": 1},
            {"name": "extra", "seats": None, "count": 1},
            id="remove_addon count",
        ),
        pytest.param(
            "subscribe",
            {"seats": 3, "workspaces": ["a", "b"]},
            {"seats": 3, "anchor": None, "workspaces": ("a", "b")},
            id="subscribe bundle",
        ),
        pytest.param("cancel", {"at_period_end": True}, {"at_period_end": True}, id="cancel"),
    ],
)
def test_each_actions_argument(action: str, argument: object, parsed: object) -> None:
    scenario = parse_scenario(doc({action: argument}, workspaces=["main", "a", "b"]), FILE)

    assert (scenario.steps[0].action, scenario.steps[0].argument) == (action, parsed)


def test_a_bare_date_is_midnight_utc_and_a_name_defaults_to_the_file_stem() -> None:
    scenario = parse_scenario(doc(start="2026-04-01"), "some/dir/add-a-seat.yaml")

    assert scenario.start == datetime(2026, 4, 1, tzinfo=UTC)
    assert scenario.name == "add-a-seat"


# --- refusals: the file, the step, the field ------------------------------------------------------

BAD_FILES = [
    # (document, step, field, words of the rule)
    ([], None, "file", "must be a mapping"),
    (doc(title="x"), None, "title", "is not a scenario key"),
    (doc(preset=7), None, "preset", "must be a preset name"),
    (doc(preset=..., policy=...), None, "preset", "give a preset name, or a full policy"),
    (doc(policy=["seat_mode"]), None, "policy", "must be a mapping"),
    (doc(start=...), None, "start", "is required"),
    (doc(start="April 1st"), None, "start", "must be an ISO 8601 instant"),
    (doc(start=12), None, "start", "must be an ISO 8601 instant"),
    (doc(workspaces="main"), None, "workspaces", "must be a list"),
    (doc(steps=[]), None, "steps", "must be a non-empty list"),
    (doc("subscribe"), 1, "step", "must be a mapping"),
    (doc({"subscribe": {"seats": 2}, "wait": 3}), 1, "wait", "is not an action or step key"),
    (doc({"subscribe": {"seats": 2}, "add_seats": 1}), 1, "add_seats", "a step has one action"),
    (doc({"at": "2026-03-31", "subscribe": {"seats": 2}}), 1, "at", "moves the clock backwards"),
    (doc({"at": "soon", "subscribe": {"seats": 2}}), 1, "at", "must be an ISO 8601 instant"),
    (doc({"workspace": "other", "subscribe": {"seats": 2}}), 1, "workspace", "must be one of"),
    (doc({"as": "", "subscribe": {"seats": 2}}), 1, "as", "must be a non-empty string"),
    (doc({"subscribe": {}}), 1, "subscribe.seats", "is required"),
    (doc({"subscribe": {"seats": -1}}), 1, "subscribe.seats", "must be a whole number >= 0"),
    (doc({"subscribe": {"seats": True}}), 1, "subscribe.seats", "must be a whole number"),
    (doc({"subscribe": {"seats": 2, "plan": "pro"}}), 1, "subscribe.plan", "is not a key"),
    (doc({"subscribe": {"seats": 2, "anchor": "x"}}), 1, "subscribe.anchor", "ISO 8601"),
    (doc({"subscribe": {"seats": 2, "workspaces": []}}), 1, "subscribe.workspaces", "non-empty"),
    (doc({"subscribe": 2}), 1, "subscribe", "must be a mapping"),
    (doc({"add_seats": 0}), 1, "add_seats", "must be a whole number >= 1, got 0"),
    (doc({"remove_seats": "1"}), 1, "remove_seats", "must be a whole number >= 1"),
    (doc({"set_seats": 2.5}), 1, "set_seats", "must be a whole number >= 0"),
    (doc({"preview_seats": None}), 1, "preview_seats", "must be a whole number"),
    (doc({"invite": {"role": "reviewer"}}), 1, "invite.emails", "is required"),
    (doc({"invite": {"emails": "a@x.test", "role": "reviewer"}}), 1, "invite.emails", "list"),
    (doc({"invite": {"emails": ["a@x.test"]}}), 1, "invite.role", "is required"),
    (doc({"invite": {"emails": ["a@x.test"], "role": ""}}), 1, "invite.role", "non-empty"),
    (doc({"accept": ""}), 1, "accept", "must be a non-empty string"),
    (doc({"deactivate": ["a@x.test"]}), 1, "deactivate", "must be a non-empty string"),
    (doc({"assign_role": {"email": "a@x.test"}}), 1, "assign_role.role", "is required"),
    (doc({"remove_role": {"role": "reviewer"}}), 1, "remove_role.email", "is required"),
    (doc({"add_addon": {"name": "x"}}), 1, "add_addon.seats", "give seats or count"),
    (doc({"add_addon": {"name": "x", "seats": 0}}), 1, "add_addon.seats", ">= 1"),
    (doc({"cancel": {"at_period_end": "yes"}}), 1, "cancel.at_period_end", "true or false"),
    (doc({"cancel": {"now": True}}), 1, "cancel.now", "is not a key of cancel"),
    (doc({"add_seats": 1, "expect": {"paid": "1.00"}}), 1, "expect.paid", "is not a key"),
    (doc({"add_seats": 1, "expect": ["error"]}), 1, "expect", "must be a mapping"),
    (doc({"add_seats": 1, "expect": {"error": "nope"}}), 1, "expect.error", "must be one of"),
    (doc({"add_seats": 1, "expect": {"message": "x"}}), 1, "expect.message", "needs expect.error"),
    (
        doc({"add_seats": 1, "expect": {"seats": {"spare": 1}}}),
        1,
        "expect.seats.spare",
        "not a key",
    ),
    (doc({"add_seats": 1, "expect": {"seats": {"used": "1"}}}), 1, "expect.seats.used", "whole"),
    (doc({"add_seats": 1, "expect": {"charged": 49.5}}), 1, "expect.charged", "as a string"),
    (doc({"add_seats": 1, "expect": {"credited": "ten"}}), 1, "expect.credited", "decimal"),
    (doc({"add_seats": 1, "expect": {"balance": "NaN"}}), 1, "expect.balance", "finite"),
    (doc({"add_seats": 1, "expect": {"invoice": {"sum": "1"}}}), 1, "expect.invoice.sum", "key"),
    (
        doc({"add_seats": 1, "expect": {"invoice": {"total": 1.5}}}),
        1,
        "expect.invoice.total",
        "str",
    ),
    (
        doc({"add_seats": 1, "expect": {"invoice": {"lines": "x"}}}),
        1,
        "expect.invoice.lines",
        "list",
    ),
    (
        doc({"add_seats": 1, "expect": {"invoice": {"lines": [{"kind": "tax"}]}}}),
        1,
        "expect.invoice.lines[1].kind",
        "must be one of",
    ),
    (
        doc({"add_seats": 1, "expect": {"invoice": {"lines": [{"amount": "1.00"}]}}}),
        1,
        "expect.invoice.lines[1].kind",
        "is required",
    ),
]


@pytest.mark.parametrize(
    ("data", "step", "field", "words"),
    [pytest.param(d, s, f, w, id=f"step {s}: {f}: {w}") for d, s, f, w in BAD_FILES],
)
def test_a_bad_file_names_the_file_the_step_and_the_field(
    data: Any, step: int | None, field: str, words: str
) -> None:
    error = refusal(data)

    assert (error.file, error.step, error.field) == (FILE, step, field)
    assert words in error.rule
    where = f"{FILE}: step {step}: " if step is not None else f"{FILE}: "
    assert str(error) == f"{where}{field}: {error.rule}"


def test_the_step_number_counts_from_one_in_file_order() -> None:
    error = refusal(doc({"subscribe": {"seats": 2}}, {"at": "2026-05-01"}, {"add_seats": -3}))

    assert (error.step, error.field) == (3, "add_seats")


# --- files on disk -------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_json_files_are_read_too(tmp_path: Path) -> None:
    path = write(tmp_path, "s.json", json.dumps(doc()))

    assert load_scenario(path).steps[0].action == "subscribe"


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        pytest.param("steps: [\n", "file", "is not valid YAML or JSON at line 2", id="yaml syntax"),
        pytest.param("", "file", "must be a mapping", id="empty"),
        pytest.param(
            "preset: reviewer-pro\nstart: 2026-04-01\npolicy: {seat_mode: auto}\n"
            "steps: [{subscribe: {seats: 2}}]\n",
            "policy.seat_mode",
            "must be one of manual, automatic",
            id="bad policy override",
        ),
        pytest.param(
            "preset: reviewer-enterprise\nstart: 2026-04-01\nsteps: [{subscribe: {seats: 2}}]\n",
            "preset",
            "No preset 'reviewer-enterprise'",
            id="unknown preset",
        ),
        pytest.param(
            "policy: {currency: EUR}\nstart: 2026-04-01\nsteps: [{subscribe: {seats: 2}}]\n",
            "policy.billable_roles",
            "is required",
            id="incomplete policy without preset",
        ),
    ],
)
def test_a_file_on_disk_is_refused_with_its_path(
    tmp_path: Path, text: str, field: str, words: str
) -> None:
    path = write(tmp_path, "s.yaml", text)

    with pytest.raises(ScenarioFileError) as caught:
        load_scenario(path)

    assert (caught.value.file, caught.value.step, caught.value.field) == (str(path), None, field)
    assert words in caught.value.rule


def test_a_missing_file_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(ScenarioFileError) as caught:
        load_scenario(tmp_path / "missing.yaml")

    assert str(caught.value).startswith(f"{tmp_path / 'missing.yaml'}: file: cannot be read")


def test_folders_give_every_yaml_yml_and_json_file_below_them_sorted(tmp_path: Path) -> None:
    b = write(tmp_path, "d/b.yaml", "x")
    a = write(tmp_path, "d/a.json", "x")
    c = write(tmp_path, "d/sub/c.yml", "x")
    write(tmp_path, "d/notes.md", "x")
    single = write(tmp_path, "single.txt", "x")

    assert scenario_files([tmp_path / "d", single]) == [a, b, c, single]
