"""Throwaway subscriptions for the cases: a few through the service layer, and many more as
set-based copies of one of them.

``clone_accounts`` copies every row of a template account (one made through the service) under
new account ids with one ``INSERT ... SELECT`` per table: every key of the schema starts with
``account_id``, so the copies keep the template's other ids and are still distinct rows. The
result is exactly what the service writes for a subscription (``compare_accounts`` checks it
against accounts made through the service), at the speed of the database instead of one use
case per subscription.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, String

from bench.backends import Raw
from seatledger.bootstrap import Runtime
from seatledger.policy_files import resolve_policy
from seatledger.service import accounts, members, subscriptions
from seatledger.store.tables import metadata

PRESET = "reviewer-pro"
START_AT = datetime(2026, 1, 5, tzinfo=UTC)
# Tables whose ``seq`` comes from a PostgreSQL sequence shared by all accounts: its values differ
# between two accounts made alike, so the comparison leaves them out (their order is kept).
_SHARED_SEQUENCES = {"audit_log", "webhook_outbox", "credit_entries"}
_ID = re.compile(r"\b([a-z]+)_[0-9a-f]{24}\b")
_CLONE_CHUNK = 50_000
_SQLITE_ID = ":prefix || substr('000000000' || g.n, -9, 9)"


@dataclass(frozen=True)
class Sub:
    account_id: str
    subscription_id: str
    workspace: str
    workspace_id: str
    owner: str


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


def invite_people(rt: Runtime, sub: Sub, emails: list[str], *, at_once: int, role: str) -> None:
    """Invite ``emails`` into ``sub``'s workspace through the service, ``at_once`` per batch."""
    for start in range(0, len(emails), at_once):
        members.invite_members(
            rt,
            account_id=sub.account_id,
            workspace=sub.workspace,
            actor=sub.owner,
            emails=emails[start : start + at_once],
            role=role,
        )


def with_workspace_id(raw: Raw, sub: Sub) -> Sub:
    (workspace_id,) = raw.one(
        "SELECT workspace_id FROM memberships WHERE account_id = :account LIMIT 1",
        {"account": sub.account_id},
    )
    return Sub(sub.account_id, sub.subscription_id, sub.workspace, workspace_id, sub.owner)


def row_counts(raw: Raw) -> dict[str, int]:
    return {t: raw.one(f'SELECT count(*) FROM "{t}"')[0] for t in raw.tables()}


def diff(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {t: after[t] - before[t] for t in sorted(after) if after[t] != before.get(t, 0)}


def clone_id(index: int) -> str:
    """The account id of copy ``index`` (random-looking ids are not needed: nothing parses them)."""
    return f"acc_bench{index:09d}"


def _copied(raw: Raw, column: Any) -> str:
    """The SQL copying ``column`` into the new account: the account id replaced wherever it is
    written, JSON documents included."""
    name = f'"{column.name}"'
    new = ":prefix || lpad(CAST(g.n AS text), 9, '0')" if raw.postgres else _SQLITE_ID
    if column.name == "account_id" or (column.table.name == "accounts" and column.name == "id"):
        return new
    if isinstance(column.type, JSON):
        if raw.postgres:
            return f"CAST(replace(CAST({name} AS text), :template, {new}) AS json)"
        return f"replace({name}, :template, {new})"
    if isinstance(column.type, String):
        return f"replace({name}, :template, {new})"
    return name


def clone_accounts(raw: Raw, template: str, first: int, count: int) -> list[str]:
    """Copy account ``template`` (and everything it owns) ``count`` times, as accounts
    ``clone_id(first)`` .. ``clone_id(first + count - 1)``, committing every 50,000 accounts;
    the new ids."""
    for start in range(first, first + count, _CLONE_CHUNK):
        last = min(first + count, start + _CLONE_CHUNK) - 1
        raw.begin()
        for table in metadata.sorted_tables:
            key = "id" if table.name == "accounts" else "account_id"
            if key not in table.c:
                continue
            columns = list(table.c)
            names = ", ".join(f'"{c.name}"' for c in columns)
            values = ", ".join(_copied(raw, c) for c in columns)
            if raw.postgres:
                series = "generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS g(n)"
                statement = (
                    f'INSERT INTO "{table.name}" ({names}) SELECT {values} '
                    f'FROM "{table.name}" CROSS JOIN {series} WHERE "{key}" = :template'
                )
            else:
                statement = (
                    "WITH RECURSIVE g(n) AS (SELECT :first UNION ALL "
                    "SELECT n + 1 FROM g WHERE n < :last) "
                    f'INSERT INTO "{table.name}" ({names}) SELECT {values} '
                    f'FROM "{table.name}" CROSS JOIN g WHERE "{key}" = :template'
                )
            raw.q(
                statement,
                {"template": template, "prefix": "acc_bench", "first": start, "last": last},
            )
        raw.commit()
    return [clone_id(i) for i in range(first, first + count)]


def account_rows(raw: Raw, account_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row ``account_id`` owns, table by table, with ids reduced to their kind (``sub_*``)
    and the shared-sequence numbers left out, so two accounts made alike compare equal."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for table in metadata.sorted_tables:
        key = "id" if table.name == "accounts" else "account_id"
        if key not in table.c:
            continue
        order = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
        rows = raw.q(
            f'SELECT * FROM "{table.name}" WHERE "{key}" = :account ORDER BY {order}',
            {"account": account_id},
        ).fetchall()
        names = [c.name for c in table.c]
        keep = [
            i
            for i, name in enumerate(names)
            if not (name == "seq" and table.name in _SHARED_SEQUENCES)
        ]
        out[table.name] = sorted(
            tuple(_ID.sub(r"\1_*", str(row[i]).replace(account_id, "acc_*")) for i in keep)
            for row in rows
        )
    return out


def compare_accounts(raw: Raw, made: list[str], copies: list[str]) -> None:
    """``SystemExit`` unless every copy holds the same rows as the accounts the service made."""
    expected = account_rows(raw, made[0])
    for account in [*made[1:], *copies]:
        found = account_rows(raw, account)
        if found != expected:
            tables = sorted(t for t in expected if expected[t] != found.get(t))
            raise SystemExit(f"seeding: account {account} differs from the service's in {tables}")
