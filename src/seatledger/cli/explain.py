"""``seatledger invoice explain NUMBER``: the people and seat intervals behind each invoice line."""

from __future__ import annotations

from typing import Annotated

import typer

from seatledger.cli.billing import DatabaseOption, _services, invoice_app, out
from seatledger.render.explanations import explanation_renderable
from seatledger.service.explain import explain_invoice


def invoice_explain(
    number: Annotated[str, typer.Argument(help="The invoice number (000012 or 12) or id.")],
    account: Annotated[
        str | None,
        typer.Option("--account", help="The account id; needed when several have this number."),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Explain an invoice: for each line, who held the seats it bills and from when to when.

    The people of a line add up to its quantity and amount; seats bought and held by nobody
    show as unassigned purchased seats. Exit 2 with a one-line message for an unknown invoice."""
    with _services(database) as runtime:
        explanation = explain_invoice(runtime, account, number)
    out.print(explanation_renderable(explanation))


def register(app: typer.Typer) -> None:
    """Add ``invoice explain`` to the ``invoice`` commands (``app`` is the ``seatledger`` app)."""
    invoice_app.command("explain")(invoice_explain)
