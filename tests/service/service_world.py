"""Builders and probes for the service tests: a subscribed account per preset, every table's rows.

Use cases run through ``bootstrap`` exactly as the API and the CLI call them. The probes read the
database directly (``dump``) so a test can say "this refusal wrote nothing" about every table, not
only the ones the use case is expected to touch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from seatledger.bootstrap import Runtime
from seatledger.domain.policy import Policy
from seatledger.policy_files import resolve_policy
from seatledger.service import accounts, subscriptions
from seatledger.service.ports import AuditRecord, LedgerRecord, Subscription
from seatledger.store.tables import metadata

WORKSPACE = "main"
OWNER = "owner@main.test"

Dump = dict[str, list[tuple[Any, ...]]]


def policy(preset: str, overrides: Mapping[str, Any] | None = None) -> Policy:
    return resolve_policy(preset, overrides)


@dataclass(frozen=True)
class Subscribed:
    """An account with one subscription covering ``workspaces``; ``owner`` created it."""

    runtime: Runtime
    account_id: str
    subscription_id: str
    policy: Policy
    workspaces: tuple[str, ...] = (WORKSPACE,)
    owner: str = OWNER

    @property
    def engine(self) -> Engine:
        assert self.runtime.engine is not None
        return self.runtime.engine

    def common(self, workspace: str = WORKSPACE) -> dict[str, Any]:
        """The keyword arguments every workspace use case takes."""
        return {"account_id": self.account_id, "workspace": workspace}

    def subscription(self) -> Subscription:
        with self.runtime.uow() as uow:
            return uow.subscriptions.get(self.account_id, self.subscription_id)

    def ledger(self) -> tuple[LedgerRecord, ...]:
        with self.runtime.uow() as uow:
            return uow.ledger.entries(self.account_id, self.subscription_id)

    def audit(self) -> tuple[AuditRecord, ...]:
        with self.runtime.uow() as uow:
            return uow.audit.entries(self.account_id)

    def used(self, workspace: str = WORKSPACE) -> int:
        return subscriptions.seat_usage_of(self.runtime, **self.common(workspace)).used

    def person_id(self, email: str) -> str:
        with self.runtime.uow() as uow:
            person = uow.persons.find_by_email(self.account_id, email)
        assert person is not None, email
        return person.id


def subscribe(
    runtime: Runtime,
    preset: str,
    *,
    seats: int,
    overrides: Mapping[str, Any] | None = None,
    workspaces: tuple[str, ...] = (WORKSPACE,),
    anchor_at: datetime | None = None,
) -> Subscribed:
    """A new account subscribed to ``preset`` with ``seats`` bought, its owner
    ``owner@<first workspace>.test`` holding the policy's owner role."""
    chosen = policy(preset, overrides)
    account_id = accounts.create_account(runtime, name=f"{preset} customer")
    owner = f"owner@{workspaces[0]}.test"
    result = subscriptions.subscribe(
        runtime,
        account_id=account_id,
        policy=chosen,
        preset=preset,
        workspaces=list(workspaces),
        owner_email=owner,
        seats=seats,
        anchor_at=anchor_at,
    )
    subscription_id = result.detail["subscription_id"]
    assert isinstance(subscription_id, str)
    return Subscribed(runtime, account_id, subscription_id, chosen, workspaces, owner)


def subscribe_alongside(
    world: Subscribed, workspace: str, *, seats: int, owner: str | None = None
) -> Subscribed:
    """Another subscription of ``world``'s account, on its policy and preset, covering
    ``workspace``; its owner ``owner`` (default ``owner@<workspace>.test``)."""
    owner = owner or f"owner@{workspace}.test"
    result = subscriptions.subscribe(
        world.runtime,
        account_id=world.account_id,
        policy=world.policy,
        preset=world.subscription().preset,
        workspaces=[workspace],
        owner_email=owner,
        seats=seats,
    )
    subscription_id = result.detail["subscription_id"]
    assert isinstance(subscription_id, str)
    return Subscribed(
        world.runtime, world.account_id, subscription_id, world.policy, (workspace,), owner
    )


def dump(engine: Engine) -> Dump:
    """Every row of every table, in primary-key order: two dumps are equal only when nothing at
    all was written in between."""
    rows: Dump = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
    return rows


def account_dump(engine: Engine, account_id: str) -> Dump:
    """Every row of one account, table by table, in primary-key order (cheaper than ``dump`` on a
    database many tests share)."""
    rows: Dump = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            column = table.c.get("account_id")
            if column is None and table.name == "accounts":
                column = table.c.id
            if column is None:
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            query = select(table).where(column == account_id).order_by(*order)
            rows[table.name] = [tuple(r) for r in conn.execute(query)]
    return rows


def row_counts(engine: Engine) -> dict[str, int]:
    return {name: len(rows) for name, rows in dump(engine).items()}


def changed_tables(before: Dump, after: Dump) -> set[str]:
    return {name for name in after if before.get(name) != after[name]}


def grown_by(before: Dump, after: Dump) -> dict[str, int]:
    """How many rows each table gained (only tables whose count changed)."""
    return {
        name: len(after[name]) - len(before.get(name, []))
        for name in after
        if len(after[name]) != len(before.get(name, []))
    }


def database_text(engine: Engine) -> str:
    """Every value stored anywhere, as one string: for "this e-mail is nowhere any more"."""
    return repr(dump(engine))
