"""Throwaway databases and subscriptions for the cases, built through the service layer."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from seatledger.bootstrap import Runtime, bootstrap
from seatledger.clock import ManualClock
from seatledger.policy_files import resolve_policy
from seatledger.service import accounts, subscriptions

PRESET = "reviewer-pro"
START_AT = datetime(2026, 1, 5, tzinfo=UTC)


@dataclass(frozen=True)
class Sub:
    account_id: str
    subscription_id: str
    workspace: str
    workspace_id: str
    owner: str


def sqlite_runtime(path: Path, clock: ManualClock) -> Runtime:
    return bootstrap(f"sqlite:///{path}", clock=clock, migrate_first=True)


def raw_sqlite(path: Path) -> sqlite3.Connection:
    """A plain ``sqlite3`` connection set up as the engine sets up its own (WAL, foreign keys,
    the same busy timeout), with transactions begun explicitly."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA busy_timeout = 30000")
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA foreign_keys = ON")
    return con


def new_subscription(rt: Runtime, index: int, seats: int) -> Sub:
    """An account with one workspace on the preset, ``seats`` bought, only the owner in it."""
    account_id = accounts.create_account(rt, name=f"Bench {index}")
    owner = f"owner{index}@bench.test"
    result = subscriptions.subscribe(
        rt,
        account_id=account_id,
        policy=resolve_policy(PRESET),
        preset=PRESET,
        workspaces=["studio"],
        owner_email=owner,
        seats=seats,
    )
    return Sub(account_id, str(result.detail["subscription_id"]), "studio", "", owner)


def with_workspace_id(con: sqlite3.Connection, sub: Sub) -> Sub:
    (workspace_id,) = con.execute(
        "SELECT workspace_id FROM memberships WHERE account_id = ? LIMIT 1", (sub.account_id,)
    ).fetchone()
    return Sub(sub.account_id, sub.subscription_id, sub.workspace, workspace_id, sub.owner)


def row_counts(con: sqlite3.Connection) -> dict[str, int]:
    tables = [
        name
        for (name,) in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def diff(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {t: after[t] - before[t] for t in sorted(after) if after[t] != before.get(t, 0)}
