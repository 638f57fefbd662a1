"""The ``activity`` step (fair billing's activity report), an extension of SCENARIOS.md: how a
file spells it, how a bad one is refused, and who reports it when the step runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from seatledger.scenarios.format import ScenarioFileError, parse_scenario
from seatledger.scenarios.runner import run_scenario

FILE = "activity.yaml"


def doc(*steps: Any) -> dict[str, Any]:
    return {
        "preset": "voltasis-pro",
        "policy": {"inactive_after": "P14D"},
        "start": "2026-04-01T00:00:00Z",
        "steps": [{"subscribe": {"seats": 1}}, *steps],
    }


@pytest.mark.parametrize(
    ("argument", "parsed"),
    [
        ({"email": "a@x.test"}, {"email": "a@x.test", "at": None}),
        (
            {"email": "a@x.test", "at": "2026-04-02T10:00:00+02:00"},
            {"email": "a@x.test", "at": datetime(2026, 4, 2, 8, tzinfo=UTC)},
        ),
    ],
    ids=["now", "at"],
)
def test_an_activity_step_names_the_member_and_when(argument: object, parsed: object) -> None:
    scenario = parse_scenario(doc({"activity": argument}), FILE)
    step = scenario.steps[1]
    assert (step.action, step.argument) == ("activity", parsed)


@pytest.mark.parametrize(
    ("argument", "field", "words"),
    [
        ({}, "activity.email", "is required"),
        ({"email": ""}, "activity.email", "must be a non-empty string"),
        ({"email": "a@x.test", "when": "2026-04-02"}, "activity.when", "is not a key"),
        ({"email": "a@x.test", "at": "soon"}, "activity.at", "must be an ISO 8601 instant"),
        ("a@x.test", "activity", "must be a mapping"),
    ],
    ids=["no-email", "empty-email", "unknown-key", "bad-at", "not-a-mapping"],
)
def test_a_bad_activity_step_names_the_field(argument: object, field: str, words: str) -> None:
    with pytest.raises(ScenarioFileError) as caught:
        parse_scenario(doc({"activity": argument}), FILE)
    assert (caught.value.step, caught.value.field) == (2, field)
    assert words in caught.value.rule


def test_a_member_reports_their_own_activity_unless_as_names_someone(database_url: str) -> None:
    scenario = parse_scenario(
        doc(
            {"invite": {"emails": ["ana@main.test", "bo@main.test"], "role": "employee"}},
            {"at": "2026-04-05", "activity": {"email": "ana@main.test"}},
            {"activity": {"email": "bo@main.test"}, "as": "ana@main.test"},
            {"activity": {"email": "bo@main.test"}, "as": "owner@main.test"},
        ),
        FILE,
    )
    outcome = run_scenario(scenario, database_url)
    assert [(s.action, s.error) for s in outcome.steps] == [
        ("subscribe", None),
        ("invite", None),
        ("activity", None),
        ("activity", "not_permitted"),
        ("activity", None),
    ]
    assert outcome.steps[2].seats is not None and outcome.steps[2].seats.used == 3
