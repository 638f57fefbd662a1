"""An issued invoice as an HTML document and as a terminal table.

Every line shows its own period, quantity, unit amount (per full period) and amount; the footer
shows the subtotal of the charges, the credit applied from (or carried to) the balance, and the
total, which is the sum of all lines. Nothing is recomputed here: the amounts are the invoice's.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from seatledger.render.formatting import LINE_KIND_LABELS, day, money, span, title
from seatledger.service.billing import InvoiceDocument


@cache
def _environment() -> Environment:
    # Autoescaped everywhere: descriptions and account names are user data.
    return Environment(
        loader=PackageLoader("seatledger.render", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def invoice_context(doc: InvoiceDocument, explain_href: str | None = None) -> dict[str, Any]:
    """The values the template shows, already formatted. With ``explain_href`` each line links
    to its explanation, ``explain_href#line-N`` (N from 1)."""
    invoice = doc.invoice
    return {
        "title": title(invoice.kind),
        "account": doc.account,
        "subscription_id": doc.subscription_id,
        "invoice": invoice,
        "issued": day(invoice.issued_at),
        "period": span(invoice.period),
        "reason": invoice.reason.value.replace("_", " ").capitalize(),
        "explain_href": explain_href,
        "lines": [
            {
                "number": number,
                "kind": line.kind.value,
                "kind_label": LINE_KIND_LABELS[line.kind],
                "description": line.description,
                "start": line.period.start.isoformat(),
                "span": span(line.period),
                "quantity": line.quantity,
                "unit_amount": money(line.unit_amount),
                "amount": money(line.amount),
            }
            for number, line in enumerate(invoice.lines, start=1)
        ],
        "subtotal": money(doc.subtotal),
        "has_credit": bool(doc.credit_lines),
        "credit": money(doc.credit),
        "total": money(invoice.total),
    }


def invoice_html(doc: InvoiceDocument, *, explain_href: str | None = None) -> str:
    """The invoice as a standalone, print-friendly HTML page (autoescaped); with
    ``explain_href``, each line links to its explanation there."""
    context = invoice_context(doc, explain_href)
    return _environment().get_template("invoice.html.j2").render(context)


def invoice_renderable(doc: InvoiceDocument) -> RenderableType:
    """The invoice for a Rich console: a heading, one row per line, then the totals."""
    context = invoice_context(doc)
    invoice = doc.invoice
    heading = Text.assemble(
        (f"{context['title']} {invoice.number}", "bold"),
        f"  [{invoice.status}]\n",
        f"Billed to {doc.account.name} ({doc.account.id}), subscription {doc.subscription_id}\n",
        f"Issued {context['issued']} · period {context['period']} · {context['reason']}",
    )
    table = Table(expand=False)
    table.add_column("Description")
    table.add_column("Period", no_wrap=True)
    table.add_column("Qty", justify="right")
    table.add_column("Unit amount", justify="right", no_wrap=True)
    table.add_column("Amount", justify="right", no_wrap=True)
    for line in context["lines"]:
        # Text, not str: a description is data, never Rich markup.
        table.add_row(
            Text(line["description"]),
            Text(line["span"]),
            Text(str(line["quantity"])),
            Text(line["unit_amount"]),
            Text(line["amount"]),
        )
    totals = Table.grid(padding=(0, 2))
    totals.add_column(justify="right")
    totals.add_column(justify="right", no_wrap=True)
    totals.add_row("Subtotal", Text(context["subtotal"]))
    if context["has_credit"]:
        totals.add_row("Credit", Text(context["credit"]))
    totals.add_row(Text("Total", style="bold"), Text(context["total"], style="bold"))
    return Group(heading, table, totals)
