"""An invoice's explanation (``service/explain.py``) as values to show and as a terminal table.

Every line of the invoice comes with its entries: who (a person, an unassigned purchased seat, or
the line itself), how many of the line's units and how much of its amount, and the seat intervals
behind it in words ("member in main, 3 Apr 2026 (invite) – 8 Apr 2026 (deletion)"). The entries
of a line add up to the line; nothing is recomputed here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from seatledger.domain.seat_intervals import SeatInterval
from seatledger.render.formatting import LINE_KIND_LABELS, day, money, span, title
from seatledger.service.explain import InvoiceExplanation


@cache
def _environment() -> Environment:
    # Autoescaped: e-mails, descriptions and workspace names are user data.
    return Environment(
        loader=PackageLoader("seatledger.render", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def _reason(value: object) -> str:
    return str(value).replace("_", " ")


def interval_text(explanation: InvoiceExplanation, interval: SeatInterval) -> str:
    """``"member in main, 3 Apr 2026 (invite) – 8 Apr 2026 (deletion)"``; an interval that lasts
    reads ``"since 3 Apr 2026 (invite)"``."""
    started = f"{day(interval.started_at)} ({_reason(interval.start_reason)})"
    if interval.ended_at is None:
        return f"{explanation.holding(interval)}, since {started}"
    ended = f"{day(interval.ended_at)} ({_reason(interval.end_reason)})"
    return f"{explanation.holding(interval)}, {started} – {ended}"


def explanation_context(explanation: InvoiceExplanation) -> dict[str, Any]:
    """The values a page or a table shows, already formatted; ``lines`` in invoice order, each
    numbered from 1 (the anchor ``line-N`` links to)."""
    invoice = explanation.invoice
    return {
        "title": f"{title(invoice.kind)} {invoice.number}",
        "invoice": invoice,
        "period": span(invoice.period),
        "total": money(invoice.total),
        "lines": [
            {
                "number": index,
                "kind": line.line.kind.value,
                "kind_label": LINE_KIND_LABELS.get(line.line.kind, line.line.kind.value),
                "description": line.line.description,
                "span": span(line.line.period),
                "quantity": line.line.quantity,
                "amount": money(line.line.amount),
                "entries": [
                    {
                        "kind": entry.kind.value,
                        "who": explanation.who(entry),
                        "note": explanation.note(entry),
                        "quantity": entry.quantity,
                        "amount": money(entry.amount),
                        "intervals": [interval_text(explanation, i) for i in entry.intervals],
                    }
                    for entry in line.entries
                ],
            }
            for index, line in enumerate(explanation.lines, start=1)
        ],
    }


def explanation_renderable(explanation: InvoiceExplanation) -> RenderableType:
    """The explanation for a Rich console: a heading, then each line and the entries under it."""
    context = explanation_context(explanation)
    invoice = explanation.invoice
    heading = Text.assemble(
        (f"Explanation of {context['title']}", "bold"),
        f"  ({invoice.id})\n",
        f"Subscription {explanation.subscription_id} · period {context['period']} · "
        f"total {context['total']}",
    )
    table = Table(expand=False)
    table.add_column("#", justify="right")
    table.add_column("Line / who")
    table.add_column("Seat intervals")
    table.add_column("Qty", justify="right")
    table.add_column("Amount", justify="right")
    for line in context["lines"]:
        table.add_row(
            str(line["number"]),
            Text(line["description"], style="bold"),
            "",
            Text(str(line["quantity"]), style="bold"),
            Text(line["amount"], style="bold"),
            end_section=False,
        )
        for entry in line["entries"]:
            who = entry["who"] + (f" ({entry['note']})" if entry["note"] else "")
            table.add_row(
                "",
                Text(f"  {who}"),
                Text("\n".join(entry["intervals"])),
                str(entry["quantity"]),
                entry["amount"],
            )
        table.add_section()
    return Group(heading, table)


def explanation_html(explanation: InvoiceExplanation, *, invoice_href: str | None = None) -> str:
    """The explanation as a standalone HTML page (autoescaped): a section per line, with the id
    ``line-N`` (N from 1) an invoice links each line to; ``invoice_href`` links back."""
    context = explanation_context(explanation)
    template = _environment().get_template("explanation.html.j2")
    return template.render({**context, "invoice_href": invoice_href})
