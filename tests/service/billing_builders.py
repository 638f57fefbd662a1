"""Builders for the billing tests: a runtime on a manual clock, invoices flattened to comparable
rows, and many due subscriptions seeded with set-based inserts (fast enough for crash tests)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, func, insert, select

from seatledger.bootstrap import Runtime, bootstrap
from seatledger.clock import ManualClock
from seatledger.domain.invoices import InvoiceLine
from seatledger.domain.periods import period_n
from seatledger.domain.policy import Policy, policy_to_mapping
from seatledger.policy_files import resolve_policy
from seatledger.service import accounts, subscriptions
from seatledger.service.ports import Invoice
from seatledger.service.results import ChangeResult
from seatledger.store import make_engine
from seatledger.store.engine import READ_ONLY
from seatledger.store.tables import (
    accounts as accounts_table,
)
from seatledger.store.tables import (
    invoices as invoices_table,
)
from seatledger.store.tables import (
    subscription_workspaces,
    workspaces,
)
from seatledger.store.tables import (
    subscriptions as subscriptions_table,
)

WORKSPACE = "main"
OWNER = "owner@main.test"


def at(text: str) -> datetime:
    """``"2026-04-16"`` or ``"2026-04-16T12:00"`` as an aware UTC instant."""
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@contextmanager
def runtime_at(url: str, start: datetime) -> Iterator[tuple[Runtime, ManualClock]]:
    clock = ManualClock(start)
    runtime = bootstrap(url, clock=clock)
    try:
        yield runtime, clock
    finally:
        runtime.dispose()


def subscribe(
    runtime: Runtime,
    preset: str,
    seats: int,
    *,
    anchor_at: datetime | None = None,
    test_clock_id: str | None = None,
    account_id: str | None = None,
    workspace: str = WORKSPACE,
) -> tuple[str, ChangeResult]:
    """A new account (unless given) subscribed to ``preset``; returns the account id."""
    if account_id is None:
        account_id = accounts.create_account(runtime, name=f"{preset} customer")
    result = subscriptions.subscribe(
        runtime,
        account_id=account_id,
        policy=resolve_policy(preset, None),
        preset=preset,
        workspaces=[workspace],
        owner_email=f"owner@{workspace}.test",
        seats=seats,
        anchor_at=anchor_at,
        test_clock_id=test_clock_id,
    )
    return account_id, result


# What an invoice line looks like in the expectations: kind, quantity, unit amount, amount, and
# the line's own period as two dates (instants at midnight UTC) or full ISO instants.
Line = tuple[str, int, str, str, str, str]


@dataclass(frozen=True)
class Inv:
    """An expected invoice: number, kind, reason, period, total and every line."""

    number: str
    kind: str
    reason: str
    start: str
    end: str
    total: str
    lines: tuple[Line, ...]


def _when(instant: datetime) -> str:
    return (
        instant.date().isoformat()
        if instant.time() == datetime.min.time()
        else (instant.strftime("%Y-%m-%dT%H:%M"))
    )


def line_row(line: InvoiceLine) -> Line:
    return (
        line.kind.value,
        line.quantity,
        line.unit_amount.format(),
        line.amount.format(),
        _when(line.period.start),
        _when(line.period.end),
    )


def invoice_row(invoice: Invoice) -> Inv:
    return Inv(
        number=f"{invoice.number:06d}",
        kind=invoice.kind.value,
        reason=invoice.reason,
        start=_when(invoice.period.start),
        end=_when(invoice.period.end),
        total=invoice.total.format(),
        lines=tuple(line_row(line) for line in invoice.lines),
    )


def stored_invoices(runtime: Runtime, account_id: str) -> list[Invoice]:
    with runtime.uow() as uow:
        return list(uow.invoices.for_account(account_id))


# ---------------------------------------------------------------------------------------------
# Many due subscriptions, written straight into the tables (one statement per table).


@dataclass(frozen=True)
class Seeded:
    """What ``seed_due`` wrote: ``accounts`` x ``per_account`` subscriptions of ``policy``,
    anchored at ``anchor`` and still in their first period."""

    accounts: tuple[str, ...]
    subscriptions: tuple[tuple[str, str], ...]
    policy: Policy
    anchor: datetime


def seed_due(
    url: str,
    *,
    accounts_count: int,
    per_account: int,
    preset: str = "rallly-pro",
    seats: int = 2,
    anchor: datetime,
) -> Seeded:
    """Insert the subscriptions with set-based inserts (no roster: nobody holds a seat yet, which
    changes nothing for a renewal). Their first period starts at ``anchor``; nothing is invoiced."""
    policy = resolve_policy(preset, None)
    period = period_n(anchor, policy.interval, 0)
    account_ids = tuple(f"acc_seed{a:05d}" for a in range(accounts_count))
    subs = tuple(
        (acc, f"sub_seed{a:05d}_{s:03d}")
        for a, acc in enumerate(account_ids)
        for s in range(per_account)
    )
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(accounts_table),
                [{"id": acc, "name": f"Seeded {acc}", "created_at": anchor} for acc in account_ids],
            )
            conn.execute(
                insert(workspaces),
                [
                    {"account_id": acc, "id": f"ws_{sub}", "name": sub, "created_at": anchor}
                    for acc, sub in subs
                ],
            )
            conn.execute(
                insert(subscriptions_table),
                [
                    {
                        "account_id": acc,
                        "id": sub,
                        "policy": policy_to_mapping(policy),
                        "preset": preset,
                        "status": "active",
                        "anchor_at": anchor,
                        "interval": str(policy.interval),
                        "period_start": period.start,
                        "period_end": period.end,
                        "seats_total": seats,
                        "seats_at_renewal": seats,
                        "seats_paid": seats,
                        "cancel_at_period_end": False,
                        "canceled_at": None,
                        "test_clock_id": None,
                        "version": 1,
                        "created_at": anchor,
                    }
                    for acc, sub in subs
                ],
            )
            conn.execute(
                insert(subscription_workspaces),
                [
                    {"account_id": acc, "workspace_id": f"ws_{sub}", "subscription_id": sub}
                    for acc, sub in subs
                ],
            )
    finally:
        engine.dispose()
    return Seeded(account_ids, subs, policy, anchor)


@contextmanager
def read_only(engine: Engine) -> Iterator[Connection]:
    """A connection that only reads: on SQLite it does not take the write lock (a probe polling
    the database must not hold up the run it watches)."""
    with engine.connect() as conn:
        conn.execution_options(**{READ_ONLY: True})
        yield conn


def renewal_counts(engine: Engine) -> dict[tuple[str, str, datetime], int]:
    """(account, subscription, period start) -> how many renewal invoices bill it."""
    with read_only(engine) as conn:
        rows = conn.execute(
            select(
                invoices_table.c.account_id,
                invoices_table.c.subscription_id,
                invoices_table.c.period_start,
                func.count(),
            )
            .where(invoices_table.c.reason == "renewal")
            .group_by(
                invoices_table.c.account_id,
                invoices_table.c.subscription_id,
                invoices_table.c.period_start,
            )
        ).all()
    return {(r[0], r[1], r[2]): r[3] for r in rows}


def invoice_numbers(engine: Engine) -> dict[str, list[int]]:
    """Account -> its invoice numbers, ascending."""
    with read_only(engine) as conn:
        rows = conn.execute(
            select(invoices_table.c.account_id, invoices_table.c.number).order_by(
                invoices_table.c.account_id, invoices_table.c.number
            )
        ).all()
    numbers: dict[str, list[int]] = {}
    for account_id, number in rows:
        numbers.setdefault(account_id, []).append(number)
    return numbers


def count_invoices(engine: Engine) -> int:
    with read_only(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(invoices_table)).scalar_one())


def expected_periods(seeded: Seeded, until: datetime) -> list[datetime]:
    """The period starts a run up to ``until`` renews: every period after the first that starts
    at or before ``until``."""
    starts = []
    n = 1
    while (period := period_n(seeded.anchor, seeded.policy.interval, n)).start <= until:
        starts.append(period.start)
        n += 1
    return starts


def all_renewals(seeded: Seeded, until: datetime) -> dict[tuple[str, str, datetime], int]:
    return {
        (acc, sub, start): 1
        for acc, sub in seeded.subscriptions
        for start in expected_periods(seeded, until)
    }


def assert_gapless(numbers: dict[str, list[int]], accounts_: Sequence[str]) -> None:
    for account_id in accounts_:
        got = numbers.get(account_id, [])
        assert got == list(range(1, len(got) + 1)), f"{account_id}: {got}"
