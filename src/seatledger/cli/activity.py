"""``seatledger member activity``: report that a member used the product (fair billing).

Under a plan with ``inactive_after`` a report keeps the member's seat billed, and brings back a
member fair billing had stopped billing, charged from the report's instant on
(``service/activity.py``); under any other plan it is accepted and changes nothing. The command
acts as the member (``--as`` names someone else, who needs a role of ``member_managers``).
Exit status: 0, or 2 with one line naming the refusal or the option.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from seatledger.cli.billing import (
    AccountOption,
    DatabaseOption,
    _invoices_table,
    _services,
    parse_instant,
)
from seatledger.render.formatting import instant, money
from seatledger.service import activity
from seatledger.service.activity import ActivityOutcome

member_app = typer.Typer(help="Members of a workspace.", no_args_is_help=True)

out = Console(highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the ``member`` commands to the ``seatledger`` app."""
    app.add_typer(member_app, name="member")


@member_app.command("activity")
def member_activity(
    account: AccountOption,
    workspace: Annotated[str, typer.Option("--workspace", help="The workspace's name.")],
    email: Annotated[str, typer.Option("--email", help="The member who was active.")],
    at: Annotated[
        str | None,
        typer.Option("--at", help="When (ISO 8601, UTC; not later than now). Default: now."),
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option("--as", help="Who reports it (default: the member themselves)."),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Report a member's activity; prints what it did to their billing."""
    active_at = parse_instant(at, "--at") if at is not None else None
    with _services(database) as runtime:
        result = activity.record_activity(
            runtime,
            account_id=account,
            workspace=workspace,
            actor=actor or email,
            email=email,
            active_at=active_at,
        )
    for outcome in result.outcomes:
        out.print(outcome_line(outcome), markup=False)
    for credit in result.credited.values():
        out.print(f"Credited {money(credit)}", markup=False)
    if result.invoices:
        out.print(_invoices_table(result.invoices))


def outcome_line(outcome: ActivityOutcome) -> str:
    """One report's outcome in a sentence, e.g. ``ana@x.test in main: last active 2026-04-20
    00:00 UTC, billed again from 2026-04-20 00:00 UTC``."""
    who = f"{outcome.email} in {outcome.workspace}"
    if not outcome.tracked:
        kept = "billed" if outcome.billed else "holds no seat"
        return f"{who}: not tracked (the plan has no inactive_after, or no seat is held); {kept}"
    assert outcome.last_active_at is not None  # a tracked report has its record
    last = f"last active {instant(outcome.last_active_at)}"
    if outcome.back:
        return f"{who}: {last}, billed again from {instant(outcome.at)}"
    if outcome.billed:
        return f"{who}: {last}, billed"
    return f"{who}: {last}, still inactive (not billed)"
