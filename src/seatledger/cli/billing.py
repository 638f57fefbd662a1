"""Billing commands: ``billing run``, ``invoice show``, ``clock create / attach / advance``.

``billing run`` issues every renewal that is due. With ``--workers N`` it starts N processes that
share the work (on PostgreSQL each claims its own batches with ``FOR UPDATE SKIP LOCKED``; on
SQLite they take turns). A run killed at any point can simply be started again: nothing is billed
twice and no invoice number is skipped (see ``service/billing_run.py``).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from seatledger import bootstrap
from seatledger.bootstrap import Runtime
from seatledger.cli.errors import fail, refusals_exit
from seatledger.render.formatting import instant, money
from seatledger.render.invoices import invoice_html, invoice_renderable
from seatledger.service import billing, billing_run, test_clocks
from seatledger.service.billing_run import BillingRunSummary
from seatledger.service.results import InvoiceView

billing_app = typer.Typer(
    help="Bill what is due: renewals of every subscription.", no_args_is_help=True
)
invoice_app = typer.Typer(help="Issued invoices.", no_args_is_help=True)
clock_app = typer.Typer(
    help="Test clocks: move an account's subscriptions through time.", no_args_is_help=True
)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        envvar="SEATLEDGER_DATABASE_URL",
        help="Database URL (default: the embedded SQLite file).",
    ),
]
AccountOption = Annotated[str, typer.Option("--account", help="The account id (acc_...).")]


def register(app: typer.Typer) -> None:
    """Add the billing, invoice and clock commands to the ``seatledger`` app."""
    app.add_typer(billing_app, name="billing")
    app.add_typer(invoice_app, name="invoice")
    app.add_typer(clock_app, name="clock")


def parse_instant(text: str, option: str) -> datetime:
    """An ISO 8601 instant in UTC: ``2026-05-01`` (00:00Z), ``2026-05-01T12:00:00Z``, or with an
    offset (converted to UTC); no offset means UTC. Anything else exits 2 naming the option."""
    value = text.strip()
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        fail(f"{option}: must be an ISO 8601 instant such as 2026-05-01T00:00:00Z, got {text!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@contextmanager
def _services(database: str | None) -> Iterator[Runtime]:
    with refusals_exit(bootstrap.STORE_ERRORS):
        runtime = bootstrap.bootstrap(database)
    try:
        with refusals_exit(bootstrap.STORE_ERRORS):
            yield runtime
    finally:
        runtime.dispose()


# ---------------------------------------------------------------------------------------------
# billing run


@billing_app.command("run")
def billing_run_command(
    until: Annotated[
        str | None,
        typer.Option(help="Bill renewals due up to this instant (ISO 8601, UTC; default now)."),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Processes sharing the work.")] = 1,
    batch_size: Annotated[
        int,
        typer.Option(min=1, help="Subscriptions per transaction."),
    ] = billing_run.DEFAULT_BATCH_SIZE,
    database: DatabaseOption = None,
) -> None:
    """Issue every renewal that is due, then print what was billed.

    Exit 0 when everything due was billed, 1 when some subscriptions could not be (listed on
    stderr; they stay due), 2 for bad options or an unusable database."""
    until_at = parse_instant(until, "--until") if until is not None else None
    with _services(database) as runtime:
        until_at = billing_run.due_until(runtime, until_at)
        due = billing_run.count_due(runtime, until=until_at)
        with _progress(due) as advance:
            if workers == 1:
                summary = billing_run.run_billing(
                    runtime,
                    until=until_at,
                    batch_size=batch_size,
                    on_batch=lambda done: advance(done.subscriptions_billed),
                )
            else:
                url = bootstrap.resolve_url(database)
                summary = _run_workers(url, until_at, workers, batch_size, advance)
    out.print(_summary_table(summary))
    for failure in summary.failures:
        err.print(
            f"seatledger: not billed: {failure.account_id}/{failure.subscription_id}: "
            f"{failure.code}: {failure.message}",
            markup=False,
        )
    raise typer.Exit(1 if summary.failures else 0)


@contextmanager
def _progress(total: int) -> Iterator[Any]:
    # On stderr, so the summary on stdout stays clean; Rich turns it off when stderr is no TTY.
    progress = Progress(
        TextColumn("Billing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    task = progress.add_task("billing", total=total)
    with progress:
        yield lambda n: progress.advance(task, n)


def _summary_table(summary: BillingRunSummary) -> Table:
    table = Table(title=f"Billing run up to {instant(summary.until)}", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("Subscriptions billed", str(summary.subscriptions_billed))
    table.add_row("Invoices issued", str(summary.invoices_issued))
    for currency, amount in summary.totals.items():
        table.add_row(f"Total {currency}", money(amount))
    if summary.failures:
        table.add_row("Not billed", str(len(summary.failures)))
    return table


def _run_workers(
    url: str, until: datetime, workers: int, batch_size: int, advance: Any
) -> BillingRunSummary:
    """Start ``workers`` processes on ``url`` and add up what they bill."""
    context = multiprocessing.get_context("spawn")
    reports: Any = context.Queue()
    processes = [
        context.Process(
            target=_worker,
            args=(url, until, batch_size, reports, os.getpid()),
            name=f"seatledger-billing-{n}",
        )
        for n in range(1, workers + 1)
    ]
    for process in processes:
        process.start()
    summary = BillingRunSummary(until=until)
    problems: list[str] = []
    reported: set[str] = set()
    while len(reported) < workers:
        try:
            name, kind, payload = reports.get(timeout=0.5)
        except queue.Empty:
            reported |= _dead_without_report(processes, reported, problems)
            continue
        if kind == "batch":
            advance(payload)
        elif kind == "done":
            summary = summary.merged(payload)
            reported.add(name)
        else:
            problems.append(f"{name}: {payload}")
            reported.add(name)
    for process in processes:
        process.join()
    if problems:
        fail("a billing worker stopped: " + "; ".join(problems) + " (run again to finish)")
    return summary


def _dead_without_report(
    processes: Sequence[BaseProcess], reported: set[str], problems: list[str]
) -> set[str]:
    dead = set()
    for process in processes:
        if process.name not in reported and process.exitcode not in (None, 0):
            problems.append(f"{process.name}: exited with status {process.exitcode}")
            dead.add(process.name)
    return dead


def _worker(url: str, until: datetime, batch_size: int, reports: Any, parent: int) -> None:
    """One worker process: bill batches until nothing due is left, reporting each batch."""
    name = multiprocessing.current_process().name

    def on_batch(done: BillingRunSummary) -> None:
        reports.put((name, "batch", done.subscriptions_billed))
        if os.getppid() != parent:
            # The command that started us is gone: stop between batches, nothing is half-done.
            raise SystemExit(3)

    try:
        runtime = bootstrap.bootstrap(url)
        try:
            summary = billing_run.run_billing(
                runtime, until=until, batch_size=batch_size, on_batch=on_batch
            )
        finally:
            runtime.dispose()
    except Exception as exc:
        reports.put((name, "error", f"{type(exc).__name__}: {exc}"))
        raise SystemExit(1) from None
    reports.put((name, "done", summary))


# ---------------------------------------------------------------------------------------------
# invoice show


@invoice_app.command("show")
def invoice_show(
    number: Annotated[str, typer.Argument(help="The invoice number (000012 or 12).")],
    account: Annotated[
        str | None,
        typer.Option("--account", help="The account id; needed when several have this number."),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Also write the invoice as an HTML page to this file."),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Print an issued invoice: every line with its period, quantity, unit amount and amount."""
    with _services(database) as runtime:
        doc = billing.find_invoice(
            runtime, number=billing.parse_invoice_number(number), account_id=account
        )
    out.print(invoice_renderable(doc))
    if html is not None:
        html.write_text(invoice_html(doc), encoding="utf-8")
        out.print(f"Wrote {html}", markup=False)


# ---------------------------------------------------------------------------------------------
# clock create / attach / advance


@clock_app.command("create")
def clock_create(
    account: AccountOption,
    at: Annotated[str, typer.Option("--at", help="The clock's first instant (ISO 8601, UTC).")],
    name: Annotated[str, typer.Option(help="A name to recognize the clock by.")] = "",
    database: DatabaseOption = None,
) -> None:
    """Create a test clock for an account; prints its id."""
    start = parse_instant(at, "--at")
    with _services(database) as runtime:
        clock = test_clocks.create_test_clock(runtime, account_id=account, at=start, name=name)
    out.print(f"{clock.id}  {clock.name}  at {instant(clock.now_at)}", markup=False)


@clock_app.command("attach")
def clock_attach(
    clock_id: Annotated[str, typer.Argument(help="The test clock (clk_...).")],
    account: AccountOption,
    subscription: Annotated[
        str | None,
        typer.Option(help="Only this subscription (default: all of the account's active ones)."),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Put the account's subscriptions on the test clock (bringing them up to its time)."""
    with _services(database) as runtime:
        issued = test_clocks.attach_test_clock(
            runtime, account_id=account, clock_id=clock_id, subscription_id=subscription
        )
    out.print(f"Attached to {clock_id}", markup=False)
    if issued:
        out.print(_invoices_table(issued))


@clock_app.command("advance")
def clock_advance(
    clock_id: Annotated[str, typer.Argument(help="The test clock (clk_...).")],
    account: AccountOption,
    to: Annotated[str, typer.Option("--to", help="The instant to move to (ISO 8601, UTC).")],
    database: DatabaseOption = None,
) -> None:
    """Move a test clock forward; renewals and expiries due on the way run in order."""
    target = parse_instant(to, "--to")
    with _services(database) as runtime:
        moved = test_clocks.advance_test_clock(
            runtime, account_id=account, clock_id=clock_id, to=target
        )
    out.print(f"{moved.clock.id} now at {instant(moved.clock.now_at)}", markup=False)
    out.print(_invoices_table(moved.invoices))


def _invoices_table(invoices: tuple[InvoiceView, ...]) -> Table:
    table = Table(title=f"{len(invoices)} invoices issued")
    table.add_column("Number")
    table.add_column("Issued")
    table.add_column("Reason")
    table.add_column("Total", justify="right")
    for invoice in invoices:
        table.add_row(
            invoice.number,
            instant(invoice.issued_at),
            Text(invoice.reason.value),
            money(invoice.total),
        )
    return table
