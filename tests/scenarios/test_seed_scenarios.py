"""Every scenario file in tests/scenarios/ runs green on SQLite and on PostgreSQL.

The files in tests/scenarios/<preset>/ are the seeds' statements as acceptance tests
(docs/seeds-coverage.md maps each seed statement to its file); the files in the policy folders
(``POLICY_FOLDERS``: one per group of policy keys, such as ``proration/``) show what each key does
and carry no seed quote. Each runs through the real service layer and store, as
``seatledger scenario run --database URL`` does, on the ``database_url`` fixture's database.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from seatledger.presets import preset_names
from seatledger.scenarios.format import load_scenario, scenario_files
from seatledger.scenarios.runner import ScenarioOutcome, outcome_json, run_scenario

HERE = Path(__file__).parent
COVERAGE = HERE.parents[1] / "docs" / "seeds-coverage.md"
FILES = scenario_files([HERE])
# Folders of scenarios about policy keys rather than seed statements: run like every file, but not
# held to quoting a seed nor listed in the seed coverage table.
POLICY_FOLDERS = frozenset({"proration", "styles", "fair"})
SEED_FILES = [p for p in FILES if p.relative_to(HERE).parts[0] not in POLICY_FOLDERS]
# The seed article each preset's scenarios quote (the seeds' README table).
SEEDS = {
    "rallly-pro": "rallly-managing-seats.md",
    "reviewer-free": "reviewer-seats.txt",
    "reviewer-pro": "reviewer-seats.txt",
    "reviewer-pro-annual": "reviewer-seats.txt",
    "voltasis-pro": "voltasis-seat-management-and-proration.txt",
    "voltasis-pro-annual": "voltasis-seat-management-and-proration.txt",
    "upcoach": "upcoach-seats-and-roles.txt",
    "plaky": "plaky-user-seats.md",
}
# A quoted amount other than zero: "49.50", "-5.16".
AMOUNT = re.compile(r'"-?[0-9]+\.[0-9]+"')


def _id(path: Path) -> str:
    return str(path.relative_to(HERE))


def failures_of(outcome: ScenarioOutcome) -> str:
    """Every failed expectation, one per line, saying where: for the assertion message."""
    return "\n".join(
        f"  step {step.index} ({step.action or 'time passes'} at {step.at:%Y-%m-%d %H:%M:%S}): "
        f"{failure}"
        for step in outcome.steps
        for failure in step.failures
    )


@pytest.mark.parametrize("path", [pytest.param(p, id=_id(p)) for p in FILES])
def test_seed_scenario(path: Path, database_url: str) -> None:
    outcome = run_scenario(load_scenario(path), database_url)

    assert outcome.ok, f"{_id(path)} ({outcome.name}) failed:\n{failures_of(outcome)}"
    assert [s.index for s in outcome.steps] == list(range(1, len(outcome.steps) + 1))


# --- the files themselves ------------------------------------------------------------------------


def test_every_preset_has_a_folder_of_scenarios() -> None:
    folders = {p.parent.name for p in SEED_FILES}

    assert folders == set(preset_names())
    assert {p.parent for p in SEED_FILES} == {HERE / name for name in preset_names()}


@pytest.mark.parametrize("path", [pytest.param(p, id=_id(p)) for p in SEED_FILES])
def test_each_file_quotes_its_seed_and_runs_its_folders_preset(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    preset = path.parent.name

    assert data["preset"] == preset
    assert isinstance(data.get("name"), str), "a name"
    quoted = data["name"].split('"')[1::2]
    assert quoted and all(q.strip() for q in quoted), "the name quotes the seed briefly"
    assert text.startswith(f"# {SEEDS[preset]}"), "the first line names the seed article"
    assert '"' in text.split("\n\n")[0] or "“" in text, "the header quotes the seed"


@pytest.mark.parametrize("path", [pytest.param(p, id=_id(p)) for p in FILES])
def test_each_amount_carries_its_arithmetic(path: Path) -> None:
    # "Exact cents ... computed by hand from the preset's prices (the arithmetic in a YAML comment
    # next to each amount)": every non-zero amount has a comment on its own line.
    bare = [
        f"line {number}: {line.strip()}"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if any(m.group() not in ('"0.00"', '"-0.00"') for m in AMOUNT.finditer(line.split("#")[0]))
        and "#" not in line
        and "message:" not in line
    ]

    assert bare == []


def test_the_coverage_table_names_every_scenario_file_and_only_existing_ones() -> None:
    table = COVERAGE.read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z0-9-]+/[a-z0-9-]+\.yaml)`", table))

    assert named == {_id(p) for p in SEED_FILES}


# --- isolation: scenarios sharing one database ---------------------------------------------------


def _comparable(outcome: ScenarioOutcome) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = outcome_json(outcome)["steps"]
    return steps


def test_runs_on_one_database_do_not_see_each_other(database_url: str) -> None:
    """Each run creates its own account: a second run of the same file on the same database finds
    none of the first run's workspaces, members, invoices or credits. Were they shared, its
    ``subscribe`` would meet the first run's workspace, its invoice numbers would go on from the
    first run's, and its credit balance would start at the first run's."""
    leaves = load_scenario(HERE / "rallly-pro" / "team-member-leaves.yaml")
    bundle = load_scenario(HERE / "plaky" / "bundle-one-seat-across-apps.yaml")

    first = run_scenario(leaves, database_url)
    between = run_scenario(bundle, database_url)
    second = run_scenario(leaves, database_url)

    assert first.ok and between.ok and second.ok, failures_of(second) or failures_of(between)
    assert _comparable(second) == _comparable(first)
    numbers = [invoice["number"] for step in _comparable(second) for invoice in step["invoices"]]
    assert numbers[:2] == ["000001", "000002"]


@pytest.mark.postgres
def test_concurrent_runs_on_one_postgres_database_do_not_see_each_other(
    postgres_database_url: str,
) -> None:
    """Four runs at once on one PostgreSQL database (as several ``scenario run --database`` at
    once): each keeps to its own account, so each gives exactly what it gives alone."""
    paths = [
        HERE / "rallly-pro" / "seasonal-team-changes.yaml",
        HERE / "rallly-pro" / "seasonal-team-changes.yaml",
        HERE / "voltasis-pro" / "credits-applied-to-next-invoice.yaml",
        HERE / "plaky" / "separate-subscriptions-count-twice.yaml",
    ]
    scenarios = [load_scenario(p) for p in paths]

    with ThreadPoolExecutor(max_workers=len(scenarios)) as pool:
        outcomes = list(pool.map(lambda s: run_scenario(s, postgres_database_url), scenarios))

    for outcome in outcomes:
        assert outcome.ok, failures_of(outcome)
    assert _comparable(outcomes[0]) == _comparable(outcomes[1])
