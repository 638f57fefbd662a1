"""``seatledger serve``: the HTTP API with uvicorn, on any database, migrations applied first."""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from seatledger import bootstrap
from seatledger.api import create_app
from seatledger.cli.errors import refusals_exit
from seatledger.service.api_keys import issue_operator_key
from seatledger.service.collector import tune_for_serving
from seatledger.service.demo import DEMO_OWNER, DEMO_WORKSPACE, seed_demo
from seatledger.web import demo_sign_in_link, session_secret

out = Console(highlight=False, soft_wrap=True)

WORKER_START_SECONDS = 60

# Each worker process of ``--workers N`` builds its own app from the environment.
APP_FACTORY = "seatledger.api.app:app_from_environment"


def serve(
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port to listen on.", min=1, max=65535)] = 8000,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            envvar="SEATLEDGER_DATABASE_URL",
            help="Database URL (default: the embedded SQLite file).",
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(help="Worker processes (each stateless).", min=1, max=64)
    ] = 1,
    demo: Annotated[
        bool, typer.Option("--demo", help="Create the demo account and print an API key for it.")
    ] = False,
) -> None:
    """Serve the REST API (docs at /docs), applying the database migrations first."""
    url = bootstrap.resolve_url(database)
    with refusals_exit(bootstrap.STORE_ERRORS):
        runtime = bootstrap.bootstrap(url, migrate_first=True)
    # One secret signs the admin pages' sessions; exported, so every worker process shares it.
    session_secret()
    if demo:
        with refusals_exit(bootstrap.STORE_ERRORS):
            account_id, _ = seed_demo(runtime)
            issued = issue_operator_key(
                runtime, account_id=account_id, email=DEMO_OWNER, name="serve --demo"
            )
        out.print(
            f"Demo account {account_id}, workspace {DEMO_WORKSPACE!r}, acting as {DEMO_OWNER}.",
            markup=False,
        )
        out.print(f"API key (shown once): {issued.token}", markup=False)
        out.print(
            f'Try: curl -H "Authorization: Bearer {issued.token}" '
            f"http://{host}:{port}/v1/workspaces",
            markup=False,
        )
        link = demo_sign_in_link(runtime, base_url=f"http://{host}:{port}")
        out.print(f"Admin pages, signed in as {DEMO_OWNER}: {link}", markup=False)
    out.print(f"Serving {runtime.database_url} on http://{host}:{port} (docs: /docs)", markup=False)
    if workers == 1:
        try:
            app = create_app(runtime)
            tune_for_serving()
            uvicorn.run(app, host=host, port=port)
        finally:
            runtime.dispose()
        return
    # Several processes: each builds its own app (and engine) from the environment.
    runtime.dispose()
    os.environ["SEATLEDGER_DATABASE_URL"] = url
    # A worker imports the whole app before it answers its first health check; on a loaded 2-core
    # machine that takes several seconds, longer than uvicorn's default wait of 5.
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_worker_healthcheck=WORKER_START_SECONDS,
    )


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ``seatledger`` app."""
    app.command()(serve)
