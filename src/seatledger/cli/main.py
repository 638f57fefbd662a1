"""The ``seatledger`` command line: presets, migrations, scenarios, billing, the HTTP server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.table import Table

from seatledger import bootstrap, presets
from seatledger.cli.activity import register as register_activity
from seatledger.cli.billing import register as register_billing
from seatledger.cli.errors import fail, refusals_exit
from seatledger.cli.explain import register as register_explain
from seatledger.cli.serve import register as register_serve
from seatledger.cli.simulate import register as register_simulate
from seatledger.scenarios.format import ScenarioFileError, load_scenario, scenario_files
from seatledger.scenarios.report import outcome_text, summary_text
from seatledger.scenarios.runner import ScenarioOutcome, outcome_json, run_scenario
from seatledger.service import subscriptions
from seatledger.service.demo import DEMO_OWNER, DEMO_WORKSPACE, seed_demo

app = typer.Typer(
    name="seatledger",
    help="Seat management and exact seat-based billing.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
presets_app = typer.Typer(
    help="The built-in seat policies, one per seed product.", invoke_without_command=True
)
scenario_app = typer.Typer(
    help="Run scenario files (timelines of seat and billing events).", no_args_is_help=True
)
app.add_typer(presets_app, name="presets")
app.add_typer(scenario_app, name="scenario")
register_activity(app)
register_billing(app)
register_explain(app)
register_serve(app)
register_simulate(app)

out = Console(highlight=False, soft_wrap=True)

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        envvar="SEATLEDGER_DATABASE_URL",
        help="Database URL (default: the embedded SQLite file).",
    ),
]


@presets_app.callback()
def presets_list(ctx: typer.Context) -> None:
    """List the presets."""
    if ctx.invoked_subcommand is not None:
        return
    table = Table("preset", "currency", "interval", "seat mode", "seat price", "base price")
    table.columns[0].no_wrap = True
    for name in presets.preset_names():
        policy = presets.preset_policy(name)
        table.add_row(
            name,
            policy.currency,
            str(policy.interval),
            policy.seat_mode.value,
            policy.seat_price.format(),
            policy.base_price.format(),
        )
    out.print(table)


@presets_app.command("show")
def presets_show(name: str) -> None:
    """Print one preset as YAML."""
    with refusals_exit():
        out.print(presets.preset_text(name), markup=False, end="")


@app.command()
def migrate(database: DatabaseOption = None) -> None:
    """Apply the database migrations (creating the SQLite file when needed)."""
    with refusals_exit(bootstrap.STORE_ERRORS):
        url = bootstrap.migrate_database(database)
    out.print(f"Migrated {url}", markup=False)


@app.command()
def demo(database: DatabaseOption = None) -> None:
    """Create the demo account (once) in the database and show its seat usage."""
    with refusals_exit(bootstrap.STORE_ERRORS):
        runtime = bootstrap.bootstrap(database, migrate_first=True)
        try:
            account_id, created = seed_demo(runtime)
            usage = subscriptions.seat_usage_of(
                runtime, account_id=account_id, workspace=DEMO_WORKSPACE
            )
        finally:
            runtime.dispose()
    verb = "Created" if created else "Found"
    out.print(f"{verb} the demo account {account_id} in {runtime.database_url}", markup=False)
    out.print(
        f"Workspace {DEMO_WORKSPACE!r} (reviewer-pro): {usage.used} / {usage.total} seats used, "
        f"{usage.available} available. Owner: {DEMO_OWNER}",
        markup=False,
    )


@scenario_app.command("run")
def scenario_run(
    files: Annotated[
        list[Path], typer.Argument(help="Scenario files, or folders of *.yaml / *.json files.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    database: Annotated[
        str | None,
        typer.Option(
            "--database", help="Run against this database instead of a temporary SQLite file."
        ),
    ] = None,
) -> None:
    """Run scenario files. Exit 0 when every expectation holds, 1 when one fails, 2 for a bad file."""
    paths = scenario_files(files)
    if not paths:
        fail("no scenario files found in " + ", ".join(map(str, files)))
    try:
        scenarios = [load_scenario(path) for path in paths]
    except ScenarioFileError as exc:
        fail(str(exc))
    outcomes: list[ScenarioOutcome] = []
    for scenario in scenarios:
        with refusals_exit(bootstrap.STORE_ERRORS):
            outcome = run_scenario(scenario, database)
        outcomes.append(outcome)
        if not as_json:
            out.print(outcome_text(outcome))
    if as_json:
        print(json.dumps({"scenarios": [outcome_json(o) for o in outcomes]}, indent=2))
    else:
        out.print(summary_text(outcomes))
    raise typer.Exit(0 if all(o.ok for o in outcomes) else 1)


def _yaml_dump(data: object) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


if __name__ == "__main__":  # pragma: no cover
    app()
