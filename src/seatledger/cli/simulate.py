"""``seatledger simulate``: what an account (or every account) would have paid under another policy.

The recorded history is replayed under the new policy without writing anything
(``service/simulation.py``), and the invoices are shown side by side: recorded, simulated, and
the difference per line and in total. ``--policy`` takes a preset name, or a policy file
(YAML, TOML or JSON) whose keys are laid over each subscription's recorded policy, or over the
preset it names with a ``preset:`` key. Exit status: 0, 1 when ``--all`` met accounts it could
not simulate (listed on stderr), 2 for bad options.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from seatledger import bootstrap, presets
from seatledger.bootstrap import Runtime
from seatledger.cli.billing import parse_instant
from seatledger.cli.errors import fail
from seatledger.domain.errors import InvalidInput, NotFound, SeatLedgerError
from seatledger.domain.invoices import InvoiceLine
from seatledger.domain.money import Money
from seatledger.domain.policy import POLICY_KEYS, merge_policy, policy_from_mapping
from seatledger.domain.simulation import InvoiceComparison
from seatledger.policy_files import load_policy_file
from seatledger.render.formatting import instant, money
from seatledger.service.simulation import (
    AccountSimulation,
    AllAccountsSimulation,
    PolicyChange,
    simulate_account,
    simulate_all_accounts,
)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

# The accounts with the largest changes shown by ``--all`` (the summary counts every account).
TOP_ACCOUNTS = 20


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to the ``seatledger`` app."""
    app.command("simulate")(simulate)


def policy_change(value: str) -> PolicyChange:
    """``--policy``: a preset name, or a policy file (a ``preset:`` key in it names the base;
    without one its keys are laid over each subscription's recorded policy). Exits 2 naming the
    option when it is neither."""
    if value in presets.preset_names():
        return PolicyChange(base=presets.load_preset(value), label=value)
    if Path(value).suffix.lower() not in (".yaml", ".yml", ".toml", ".json"):
        names = ", ".join(presets.preset_names())
        fail(f"--policy: must be a preset ({names}) or a policy file, got {value!r}")
    try:
        overrides = load_policy_file(value)
        preset = overrides.pop("preset", None)
        if preset is not None and not isinstance(preset, str):
            raise InvalidInput("preset", f"must be a preset name, got {preset!r}")
        base = presets.load_preset(preset) if preset is not None else None
        # Checked once here rather than refused by every account: a complete policy in full,
        # overrides of the recorded policies by their key names.
        if base is not None:
            policy_from_mapping(merge_policy(base, overrides))
        for key in sorted(set(overrides) - POLICY_KEYS):
            raise InvalidInput(
                key, f"is not a policy key; allowed: {', '.join(sorted(POLICY_KEYS))}"
            )
    except SeatLedgerError as error:
        fail(f"--policy: {error.message}")
    return PolicyChange(base=base, overrides=overrides, label=Path(value).name)


def simulate(
    policy: Annotated[
        str,
        typer.Option(
            "--policy",
            help="A preset name, or a policy file laid over the recorded policy "
            "(or over the preset its `preset:` key names).",
        ),
    ],
    account: Annotated[
        str | None, typer.Option("--account", help="The account id (acc_...).")
    ] = None,
    all_accounts: Annotated[
        bool, typer.Option("--all", help="Every account, with a summary.")
    ] = False,
    start: Annotated[
        str | None,
        typer.Option("--from", help="Compare invoices issued from this instant (ISO 8601, UTC)."),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--to", help="... up to before this instant (default: now)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            envvar="SEATLEDGER_DATABASE_URL",
            help="Database URL (default: the embedded SQLite file).",
        ),
    ] = None,
) -> None:
    """Replay recorded history under another policy, writing nothing, and compare the invoices."""
    if (account is None) == (not all_accounts):
        fail("--account / --all: give exactly one (an account id, or --all for every account)")
    change = policy_change(policy)
    start_at = parse_instant(start, "--from") if start is not None else None
    end_at = parse_instant(end, "--to") if end is not None else None
    if start_at is not None and end_at is not None and end_at <= start_at:
        fail(f"--to: must be after --from ({start}), got {end!r}")
    with _services(database) as runtime, _refusals(policy, account):
        if account is not None:
            result = simulate_account(
                runtime, account_id=account, change=change, start=start_at, end=end_at
            )
            if as_json:
                print(json.dumps(account_json(result), indent=2))
            else:
                out.print(account_view(result, change.label))
            return
        with _progress() as progress:
            everything = simulate_all_accounts(
                runtime, change=change, start=start_at, end=end_at, progress=progress
            )
    if as_json:
        print(json.dumps(all_json(everything), indent=2))
    else:
        out.print(summary_view(everything, change.label))
    for refused in everything.refused:
        err.print(
            f"seatledger: not simulated: {refused.account_id}: {refused.code}: {refused.message}",
            markup=False,
        )
    raise typer.Exit(1 if everything.refused else 0)


@contextmanager
def _services(database: str | None) -> Iterator[Runtime]:
    try:
        runtime = bootstrap.bootstrap(database)
    except bootstrap.STORE_ERRORS as error:
        fail(str(error))
    try:
        yield runtime
    finally:
        runtime.dispose()


@contextmanager
def _refusals(policy: str, account: str | None) -> Iterator[None]:
    """A refusal in one line naming the option it comes from."""
    try:
        yield
    except NotFound as error:
        fail(f"--account: no account {account!r}" if error.kind == "account" else error.message)
    except InvalidInput as error:
        option = {"from": "--from", "to": "--to", "account": "--account"}.get(error.field)
        fail(f"{option}: {error.rule}" if option else f"--policy {policy}: {error.message}")
    except SeatLedgerError as error:
        fail(f"{error.code}: {error.message}")
    except bootstrap.STORE_ERRORS as error:
        fail(str(error))


@contextmanager
def _progress() -> Iterator[Any]:
    # On stderr, so the summary on stdout stays clean; Rich turns it off when stderr is no TTY.
    progress = Progress(
        TextColumn("Simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    task = progress.add_task("simulate", total=None)
    with progress:
        yield lambda done, total: progress.update(task, completed=done, total=total)


# ---------------------------------------------------------------------------------------------
# Terminal views


def _signed(value: Money) -> str:
    return money(value) if value.is_negative or value.is_zero else "+" + money(value)


def _amount(line: InvoiceLine | None) -> str:
    return money(line.amount) if line is not None else "—"


def _window(result: AccountSimulation) -> str:
    start = f" from {instant(result.start)}" if result.start is not None else ""
    end = f" to before {instant(result.end)}" if result.end is not None else ""
    return f"invoices issued{start}{end}, replayed through {result.replayed_until.isoformat()}"


def account_view(result: AccountSimulation, label: str) -> Group:
    """The invoices side by side with the differences, then the totals."""
    header = [
        f"Account {result.account_id} ({result.account_name}): recorded vs {label or 'simulated'}, "
        f"{_window(result)}"
    ]
    table = Table("issued", "invoice", "line", "recorded", "simulated", "difference")
    for column in table.columns[3:]:
        column.justify = "right"
    for pair in result.invoices:
        _invoice_rows(table, pair)
    totals = result.totals
    table.add_section()
    table.add_row(
        "",
        "Billed",
        "",
        money(totals.recorded),
        money(totals.simulated),
        _signed(totals.difference),
    )
    table.add_row(
        "",
        "Credit balance",
        "",
        money(result.recorded_balance),
        money(result.simulated_balance),
        _signed(result.simulated_balance - result.recorded_balance),
    )
    verdict = {
        "pays_more": "would pay more",
        "pays_less": "would pay less",
        "pays_same": "would pay the same",
    }[totals.verdict.value]
    footer = f"The account {verdict}: {_signed(totals.difference)}."
    return Group(*header, table, footer)


def _invoice_rows(table: Table, pair: InvoiceComparison) -> None:
    facts = pair.either
    number = pair.recorded.number if pair.recorded is not None else "(not issued)"
    kind = "Credit note" if facts.kind == "credit_note" else "Invoice"
    table.add_row(
        instant(facts.issued_at),
        f"{kind} {number} ({facts.reason})",
        "",
        money(pair.recorded.total) if pair.recorded is not None else "—",
        money(pair.simulated.total) if pair.simulated is not None else "—",
        _signed(pair.difference),
    )
    for line in pair.lines:
        shown = line.simulated or line.recorded
        assert shown is not None  # a line difference always holds at least one side
        table.add_row(
            "",
            "",
            shown.description,
            _amount(line.recorded),
            _amount(line.simulated),
            _signed(line.difference),
        )


def summary_view(everything: AllAccountsSimulation, label: str) -> Group:
    """How many accounts pay more, less or the same; the revenue change per currency; the
    accounts with the largest changes."""
    summary = everything.summary
    counts = Table(title=f"Every account under {label or 'the new policy'}", show_header=False)
    counts.add_column("what")
    counts.add_column("accounts", justify="right")
    counts.add_row("Accounts", str(summary.accounts))
    counts.add_row("Pay more", str(summary.pays_more))
    counts.add_row("Pay less", str(summary.pays_less))
    counts.add_row("Pay the same", str(summary.pays_same))
    if summary.refused:
        counts.add_row("Not simulated", str(summary.refused))
    revenue = Table("currency", "recorded", "simulated", "change", title="Revenue")
    for column in revenue.columns[1:]:
        column.justify = "right"
    for currency, recorded in summary.recorded.items():
        revenue.add_row(
            currency,
            money(recorded),
            money(summary.simulated[currency]),
            _signed(summary.revenue_change(currency)),
        )
    largest = sorted(
        everything.accounts, key=lambda a: (-abs(a.totals.difference.amount), a.account_id)
    )[:TOP_ACCOUNTS]
    accounts = Table(
        "account", "name", "recorded", "simulated", "difference", title="Largest changes"
    )
    for column in accounts.columns[2:]:
        column.justify = "right"
    for result in largest:
        totals = result.totals
        accounts.add_row(
            result.account_id,
            result.account_name,
            money(totals.recorded),
            money(totals.simulated),
            _signed(totals.difference),
        )
    return Group(counts, revenue, accounts)


# ---------------------------------------------------------------------------------------------
# JSON


def _text(value: Money) -> str:
    return value.format()


def _when(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _line_json(line: InvoiceLine | None) -> dict[str, Any] | None:
    if line is None:
        return None
    return {
        "kind": line.kind.value,
        "description": line.description,
        "quantity": line.quantity,
        "unit_amount": _text(line.unit_amount),
        "amount": _text(line.amount),
    }


def account_json(result: AccountSimulation) -> dict[str, Any]:
    """The result with amounts as strings, instants in ISO 8601."""
    return {
        "account_id": result.account_id,
        "currency": result.currency,
        "from": _when(result.start),
        "to": _when(result.end),
        "replayed_until": _when(result.replayed_until),
        "invoices": [
            {
                "subscription_id": pair.either.subscription_id,
                "kind": pair.either.kind,
                "reason": pair.either.reason,
                "issued_at": _when(pair.either.issued_at),
                "number": pair.recorded.number if pair.recorded is not None else None,
                "recorded_total": _text(pair.recorded.total) if pair.recorded else None,
                "simulated_total": _text(pair.simulated.total) if pair.simulated else None,
                "difference": _text(pair.difference),
                "lines": [
                    {
                        "kind": line.kind.value,
                        "recorded": _line_json(line.recorded),
                        "simulated": _line_json(line.simulated),
                        "difference": _text(line.difference),
                    }
                    for line in pair.lines
                ],
            }
            for pair in result.invoices
        ],
        "totals": {
            "recorded": _text(result.totals.recorded),
            "simulated": _text(result.totals.simulated),
            "difference": _text(result.totals.difference),
            "verdict": result.totals.verdict.value,
        },
        "credit_balance": {
            "recorded": _text(result.recorded_balance),
            "simulated": _text(result.simulated_balance),
        },
    }


def all_json(everything: AllAccountsSimulation) -> dict[str, Any]:
    summary = everything.summary
    return {
        "summary": {
            "accounts": summary.accounts,
            "pays_more": summary.pays_more,
            "pays_less": summary.pays_less,
            "pays_same": summary.pays_same,
            "refused": summary.refused,
            "revenue": {
                currency: {
                    "recorded": _text(recorded),
                    "simulated": _text(summary.simulated[currency]),
                    "change": _text(summary.revenue_change(currency)),
                }
                for currency, recorded in summary.recorded.items()
            },
        },
        "accounts": [
            {
                "account_id": a.account_id,
                "currency": a.currency,
                "recorded": _text(a.totals.recorded),
                "simulated": _text(a.totals.simulated),
                "difference": _text(a.totals.difference),
                "verdict": a.totals.verdict.value,
            }
            for a in everything.accounts
        ],
        "refused": [
            {"account_id": r.account_id, "code": r.code, "message": r.message}
            for r in everything.refused
        ],
    }
