"""Running scenario files through the real service layer and store, with a test clock.

Each run creates its own account: in a temporary SQLite file, or in the database given (migrated
first when it is behind), where runs sharing the database never see each other's workspaces,
people, invoices or credits. Before each step the clock moves to the step's ``at`` and every
renewal and expiry that falls due on the way is issued in order; then the step's action runs and
its expectations are compared with what happened. See SCENARIOS.md for the contract.

Beyond SCENARIOS.md: ``expect.message`` (a refusal's exact text; ``message`` in ``--json``),
``remove_addon`` and add-on ``count``, each invoice's ``kind`` (``invoice`` / ``credit_note``)
in ``--json``, and ``activity: {email, at?}`` (fair billing: the member was active at ``at``,
default the step's instant; reported by the member unless ``as`` names someone else). A step acts, unless ``as`` says otherwise, as the owner of the subscription covering
its workspace: ``owner@<workspace>.test``, or for a bundle ``owner@<first covered workspace>.test``,
who owns every workspace of the bundle.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from seatledger.bootstrap import Runtime, bootstrap
from seatledger.clock import ManualClock
from seatledger.domain.errors import InvalidInput, SeatLedgerError
from seatledger.domain.money import Money
from seatledger.domain.policy import Policy
from seatledger.domain.seats import SeatUsage
from seatledger.scenarios.format import Expect, Scenario, Step, scenario_policy
from seatledger.service import accounts, activity, billing, members, subscriptions
from seatledger.service.context import Services
from seatledger.service.gateway import load_state
from seatledger.service.ports import DatabaseNotMigrated
from seatledger.service.results import ChangeResult, InvoiceView
from seatledger.service.state import InvoiceKind


@dataclass
class StepOutcome:
    """What one step did: its refusal (``error``, ``message``) or none, the seats after it, the
    money it moved (renewals while the clock moved included) and each expectation that failed."""

    index: int
    at: datetime
    action: str | None
    error: str | None
    seats: SeatUsage | None
    charged: Money
    credited: Money
    balance: Money
    invoices: list[InvoiceView]
    failures: list[str] = field(default_factory=list)
    message: str | None = None
    # What the step bought automatically (``auto_purchase``): the result's detail, or None.
    auto_purchase: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class ScenarioOutcome:
    """A scenario's steps, in file order; ``ok`` when every expectation of every step held."""

    file: str
    name: str
    steps: list[StepOutcome]

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)


class _Run:
    """The state of one scenario while it runs: the services, the account, who is who."""

    def __init__(
        self, scenario: Scenario, policy: Policy, svc: Services, clock: ManualClock
    ) -> None:
        self.scenario, self.policy, self.svc, self.clock = scenario, policy, svc, clock
        self.account_id = accounts.create_account(svc, name=scenario.name)
        # Workspace -> the owner of the subscription covering it. A bundle's owner is
        # owner@<first covered workspace>.test and owns every workspace of the bundle.
        self.owners: dict[str, str] = {}

    @property
    def subscribed(self) -> set[str]:
        return set(self.owners)

    def owner(self, workspace: str) -> str:
        return self.owners.get(workspace, f"owner@{workspace}.test")

    def step(self, step: Step) -> StepOutcome:
        invoices: list[InvoiceView] = []
        if step.at is not None:
            self.clock.move_to(step.at)
        if self.subscribed:
            invoices.extend(billing.bring_up_to_date(self.svc, account_id=self.account_id))
        workspace = step.workspace or self.scenario.workspaces[0]
        actor = step.actor or self.owner(workspace)
        currency = self.policy.currency
        error = message = None
        credited = Money.zero(currency)
        bought = None
        if step.action is not None:
            try:
                outcome = self.act(step, workspace, actor)
            except SeatLedgerError as exc:
                error, message = exc.code, exc.message
            else:
                # A preview reports what the change would charge and credit; nothing was issued.
                result = (
                    outcome.result
                    if isinstance(outcome, subscriptions.SeatChangePreview)
                    else outcome
                )
                invoices.extend(result.invoices)
                credited = result.credited
                purchase = result.detail.get("auto_purchase")
                bought = dict(purchase) if isinstance(purchase, dict) else None
        charged = Money.zero(currency)
        for invoice in invoices:
            if invoice.kind is InvoiceKind.INVOICE:
                charged = charged + invoice.total
        seats = None
        if workspace in self.subscribed:
            seats = subscriptions.seat_usage_of(
                self.svc, account_id=self.account_id, workspace=workspace
            )
        outcome_of_step = StepOutcome(
            index=step.index,
            at=self.clock.now(),
            action=step.action,
            error=error,
            seats=seats,
            charged=charged,
            credited=credited,
            balance=accounts.credit_balance(
                self.svc, account_id=self.account_id, currency=currency
            ),
            invoices=invoices,
            message=message,
            auto_purchase=bought,
        )
        outcome_of_step.failures = compare(step.expect, outcome_of_step)
        return outcome_of_step

    def act(
        self, step: Step, workspace: str, actor: str
    ) -> ChangeResult | subscriptions.SeatChangePreview:
        svc, account_id, arg = self.svc, self.account_id, step.argument
        common: dict[str, Any] = {"account_id": account_id, "workspace": workspace}
        action = step.action
        if action == "subscribe":
            covered = list(arg["workspaces"] or [workspace])
            owner = f"owner@{covered[0]}.test"
            result = subscriptions.subscribe(
                svc,
                account_id=account_id,
                policy=self.policy,
                preset=self.scenario.preset,
                workspaces=covered,
                owner_email=owner,
                seats=arg["seats"],
                anchor_at=arg["anchor"],
            )
            self.owners.update(dict.fromkeys(covered, owner))
            return result
        if action in ("set_seats", "add_seats", "remove_seats", "preview_seats"):
            current = self.seats_bought(workspace)
            target = {
                "set_seats": arg,
                "preview_seats": arg,
                "add_seats": current + arg if isinstance(arg, int) else 0,
                "remove_seats": current - arg if isinstance(arg, int) else 0,
            }[action]
            if action == "preview_seats":
                return subscriptions.preview_seat_change(svc, **common, actor=actor, seats=target)
            return subscriptions.change_seat_count(svc, **common, actor=actor, seats=target)
        if action == "invite":
            return members.invite_members(
                svc,
                **common,
                actor=actor,
                emails=arg["emails"],
                role=arg["role"],
                scope=arg["scope"],
            )
        if action == "accept":
            return members.accept_invite(svc, **common, email=arg)
        if action == "assign_role":
            return members.assign_role(
                svc, **common, actor=actor, email=arg["email"], role=arg["role"], scope=arg["scope"]
            )
        if action == "remove_role":
            return members.remove_role(
                svc, **common, actor=actor, email=arg["email"], role=arg["role"], scope=arg["scope"]
            )
        simple: dict[str, Callable[..., ChangeResult]] = {
            "deactivate": members.deactivate_member,
            "reactivate": members.reactivate_member,
            "delete": members.delete_member,
            "transfer_ownership": members.transfer_ownership,
        }
        if action in simple:
            return simple[action](svc, **common, actor=actor, email=arg)
        if action == "activity":
            return self.report_activity(workspace, step.actor or arg["email"], arg)
        if action in ("add_addon", "remove_addon"):
            name = arg["name"]
            addon = self.policy.addons.get(name)
            count = arg["count"]
            if count is None:
                pack = addon.seats if addon is not None else 1
                if arg["seats"] % pack:
                    raise InvalidInput(
                        f"{action}.seats", f"must be a multiple of the {name} pack size ({pack})"
                    )
                count = arg["seats"] // pack
            current = subscriptions.addon_count(
                svc, account_id=account_id, workspace=workspace, name=name
            )
            new = current + count if action == "add_addon" else current - count
            return subscriptions.set_addon(
                svc, **common, actor=actor, name=name, count=max(new, -1)
            )
        # cancel
        return subscriptions.cancel_subscription(
            svc, **common, actor=actor, at_period_end=arg["at_period_end"]
        )

    def report_activity(self, workspace: str, actor: str, arg: dict[str, Any]) -> ChangeResult:
        """A fair-billing activity report, answered like any other step: the seats after it,
        the invoices it issued (a member billed again) and the credit it created."""
        svc, currency = self.svc, self.policy.currency
        reported = activity.record_activity(
            svc,
            account_id=self.account_id,
            workspace=workspace,
            actor=actor,
            email=arg["email"],
            active_at=arg["at"],
        )
        return ChangeResult(
            seats=subscriptions.seat_usage_of(svc, account_id=self.account_id, workspace=workspace),
            invoices=reported.invoices,
            credited=reported.credited.get(currency, Money.zero(currency)),
            balance=accounts.credit_balance(svc, account_id=self.account_id, currency=currency),
        )

    def seats_bought(self, workspace: str) -> int:
        with self.svc.uow() as uow:
            return load_state(uow, self.account_id, workspace, lock=False).billing.seats_at_renewal


def compare(expect: Expect, outcome: StepOutcome) -> list[str]:
    """Each expectation that did not hold, as ``key: expected X, got Y``."""
    failures = []
    if expect.error != outcome.error:
        got = f"{outcome.error} ({outcome.message})" if outcome.error else "success"
        failures.append(f"error: expected {expect.error or 'success'}, got {got}")
    elif expect.message is not None and expect.message != outcome.message:
        failures.append(f"message: expected {expect.message!r}, got {outcome.message!r}")
    for key, expected in expect.seats.items():
        got_value = None if outcome.seats is None else _seat_value(outcome.seats, key)
        if got_value != expected:
            failures.append(f"seats.{key}: expected {expected}, got {got_value}")
    for key, expected_amount in (
        ("charged", expect.charged),
        ("credited", expect.credited),
        ("balance", expect.balance),
    ):
        if expected_amount is not None:
            got_money: Money = getattr(outcome, key)
            if got_money.amount != expected_amount:
                failures.append(f"{key}: expected {expected_amount}, got {got_money.format()}")
    if expect.invoice is not None:
        failures.extend(_compare_invoice(expect, outcome))
    if expect.auto_purchase is not None:
        bought = outcome.auto_purchase or {}
        for name, want in (
            ("seats", expect.auto_purchase.seats),
            ("amount", expect.auto_purchase.amount),
        ):
            found = bought.get(name)
            if want is not None and (found is None or Decimal(str(found)) != want):
                failures.append(f"auto_purchase.{name}: expected {want}, got {found}")
    return failures


def _seat_value(usage: SeatUsage, key: str) -> int | None:
    return {
        "total": usage.total,
        "used": usage.used,
        "available": usage.available,
        "free_used": usage.free_used,
        "free_available": usage.free_available,
    }[key]


def _compare_invoice(expect: Expect, outcome: StepOutcome) -> list[str]:
    assert expect.invoice is not None
    issued = [i for i in outcome.invoices if i.kind is InvoiceKind.INVOICE]
    if not issued:
        return ["invoice: expected an invoice, got none"]
    last = issued[-1]
    failures = []
    if expect.invoice.total is not None and last.total.amount != expect.invoice.total:
        failures.append(
            f"invoice.total: expected {expect.invoice.total}, got {last.total.format()}"
        )
    if expect.invoice.lines is not None:
        got = [(line.kind.value, line.quantity, line.amount.amount) for line in last.lines]
        want = expect.invoice.lines
        shown = ", ".join(f"{k} x{q} {a}" for k, q, a in got)
        if len(got) != len(want) or any(
            g[0] != w.kind
            or (w.quantity is not None and g[1] != w.quantity)
            or (w.amount is not None and g[2] != w.amount)
            for g, w in zip(got, want, strict=False)
        ):
            expected = ", ".join(f"{w.kind} x{w.quantity} {w.amount}" for w in want)
            failures.append(f"invoice.lines: expected [{expected}], got [{shown}]")
    return failures


def run_scenario(scenario: Scenario, database_url: str | None = None) -> ScenarioOutcome:
    """Run one checked scenario; ``database_url`` None means a temporary SQLite file."""
    policy = scenario_policy(scenario)
    clock = ManualClock(scenario.start)
    with tempfile.TemporaryDirectory(prefix="seatledger-scenario-") as folder:
        if database_url is None:
            svc = bootstrap(
                f"sqlite:///{Path(folder) / 'scenario.sqlite3'}", clock=clock, migrate_first=True
            )
        else:
            svc = _open(database_url, clock)
        try:
            run = _Run(scenario, policy, svc, clock)
            steps = [run.step(step) for step in scenario.steps]
        finally:
            svc.dispose()
    return ScenarioOutcome(file=scenario.file, name=scenario.name, steps=steps)


def _open(url: str, clock: ManualClock) -> Runtime:
    """Services on a database the caller gives, migrated first only when it is behind: runs that
    share a database (several at once, on one PostgreSQL) then never migrate side by side."""
    try:
        return bootstrap(url, clock=clock)
    except DatabaseNotMigrated as behind:
        if behind.unknown:
            raise
        return bootstrap(url, clock=clock, migrate_first=True)


def money_text(value: Money) -> str:
    return value.format()


def outcome_json(outcome: ScenarioOutcome) -> dict[str, Any]:
    """The ``--json`` shape of SCENARIOS.md."""
    return {
        "file": outcome.file,
        "name": outcome.name,
        "ok": outcome.ok,
        "steps": [_step_json(s) for s in outcome.steps],
    }


def _step_json(s: StepOutcome) -> dict[str, Any]:
    seats: dict[str, Any] | None = None
    if s.seats is not None:
        seats = {"total": s.seats.total, "used": s.seats.used, "available": s.seats.available}
        if s.seats.free_used is not None:
            seats |= {"free_used": s.seats.free_used, "free_available": s.seats.free_available}
    step: dict[str, Any] = {
        "index": s.index,
        "at": s.at.isoformat().replace("+00:00", "Z"),
        "action": s.action,
        "ok": s.ok,
        "error": s.error,
        "message": s.message,
        "seats": seats,
        "charged": money_text(s.charged),
        "credited": money_text(s.credited),
        "balance": money_text(s.balance),
        "invoices": [invoice_json(i) for i in s.invoices],
        "failures": s.failures,
    }
    if s.auto_purchase is not None:
        # An extension of the contract's shape: only on a step that bought seats.
        step["auto_purchase"] = s.auto_purchase
    return step


def _instant(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def invoice_json(invoice: InvoiceView) -> dict[str, Any]:
    return {
        "number": invoice.number,
        "kind": invoice.kind.value,
        "period_start": _instant(invoice.period.start),
        "period_end": _instant(invoice.period.end),
        "currency": invoice.currency,
        "total": invoice.total.format(),
        "lines": [
            {
                "kind": line.kind.value,
                "description": line.description,
                "quantity": line.quantity,
                "unit_amount": line.unit_amount.format(),
                "amount": line.amount.format(),
                "period_start": _instant(line.period.start),
                "period_end": _instant(line.period.end),
            }
            for line in invoice.lines
        ],
    }
