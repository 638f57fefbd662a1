"""Subscriptions (with the seat lock), their bundles of workspaces, and their add-ons."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.sql.selectable import CompoundSelect

from seatledger.domain.errors import Conflict, NotFound
from seatledger.domain.money import Money
from seatledger.domain.periods import Period
from seatledger.domain.policy import Policy, policy_from_mapping, policy_to_mapping
from seatledger.service.ports import (
    Covering,
    StoredRoster,
    Subscription,
    SubscriptionStatus,
    SubscriptionVersion,
)
from seatledger.store.driver_statements import (
    execute_each,
    execute_expecting,
    fetch_rows,
    fetch_rows_together,
)
from seatledger.store.peak_columns import peak_fields, peak_values
from seatledger.store.proration_columns import proration_fields, proration_values
from seatledger.store.read_ahead import Covered, ReadAhead
from seatledger.store.repositories._common import ConnectionSource, Repository, insert_unique
from seatledger.store.repositories.logs import BALANCES, balances_of
from seatledger.store.repositories.parts import parts_read
from seatledger.store.repositories.rosters import catch_up_read, roster_key
from seatledger.store.tables import addons, subscription_workspaces, subscriptions, workspaces
from seatledger.store.version_cache import VersionCache


def _values(sub: Subscription) -> dict[str, Any]:
    return {
        "policy": policy_to_mapping(sub.policy),
        "preset": sub.preset,
        "status": sub.status.value,
        "anchor_at": sub.anchor_at,
        "interval": str(sub.policy.interval),
        "period_start": sub.period.start,
        "period_end": sub.period.end,
        "seats_total": sub.seats_total,
        "seats_at_renewal": sub.seats_at_renewal,
        "seats_paid": sub.seats_paid,
        "cancel_at_period_end": sub.cancel_at_period_end,
        "canceled_at": sub.canceled_at,
        "test_clock_id": sub.test_clock_id,
        **proration_values(sub),
        **peak_values(sub),
    }


def _changed(sub: Subscription, stored: Subscription) -> dict[str, Any]:
    """The columns of ``sub`` that differ from ``stored`` (the policy mapped only if it did)."""
    if sub == stored:
        # Most seat changes leave the row as it was (only the version moves): equal fields
        # give equal columns, and comparing the records costs a twentieth of mapping both.
        return {}
    changes: dict[str, Any] = {}
    if sub.policy != stored.policy:
        changes["policy"] = policy_to_mapping(sub.policy)
        changes["interval"] = str(sub.policy.interval)
    simple = {
        "preset": (sub.preset, stored.preset),
        "status": (sub.status.value, stored.status.value),
        "anchor_at": (sub.anchor_at, stored.anchor_at),
        "period_start": (sub.period.start, stored.period.start),
        "period_end": (sub.period.end, stored.period.end),
        "seats_total": (sub.seats_total, stored.seats_total),
        "seats_at_renewal": (sub.seats_at_renewal, stored.seats_at_renewal),
        "seats_paid": (sub.seats_paid, stored.seats_paid),
        "cancel_at_period_end": (sub.cancel_at_period_end, stored.cancel_at_period_end),
        "canceled_at": (sub.canceled_at, stored.canceled_at),
        "test_clock_id": (sub.test_clock_id, stored.test_clock_id),
    }
    for column, (new, old) in simple.items():
        if new != old:
            changes[column] = new
    before = proration_values(stored)
    changes.update((k, v) for k, v in proration_values(sub).items() if v != before[k])
    peak_before = peak_values(stored)
    changes.update((k, v) for k, v in peak_values(sub).items() if v != peak_before[k])
    return changes


@lru_cache(maxsize=256)
def _policy(text: str) -> Policy:
    return policy_from_mapping(json.loads(text))


def _subscription(row: Any) -> Subscription:
    # Validating a policy costs more than reading the row; the same few policies come back
    # again and again, and a Policy is immutable, so one is built once per distinct text.
    policy = _policy(row.policy)
    return Subscription(
        account_id=row.account_id,
        id=row.id,
        policy=policy,
        preset=row.preset,
        status=SubscriptionStatus(row.status),
        anchor_at=row.anchor_at,
        period=Period(row.period_start, row.period_end),
        seats_total=row.seats_total,
        seats_at_renewal=row.seats_at_renewal,
        seats_paid=row.seats_paid,
        created_at=row.created_at,
        cancel_at_period_end=row.cancel_at_period_end,
        canceled_at=row.canceled_at,
        test_clock_id=row.test_clock_id,
        version=row.version,
        **proration_fields(row, policy),
        **peak_fields(row),
    )


# Subscriptions on a test clock are billed when their clock moves, never by the wall clock.
_ACTIVE_OFF_CLOCK = (
    subscriptions.c.status == SubscriptionStatus.ACTIVE.value,
    subscriptions.c.test_clock_id.is_(None),
)


def _claim(*conditions: ColumnElement[bool]) -> Select[Any]:
    """The first ``limit`` (a parameter) subscriptions meeting ``conditions`` in claim order,
    locked (rows another run holds are skipped)."""
    return (
        select(*_ROW)
        .where(*_ACTIVE_OFF_CLOCK, *conditions)
        .order_by(subscriptions.c.period_end, subscriptions.c.account_id, subscriptions.c.id)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
    )


def _month_end_due(at: datetime | ColumnElement[Any]) -> tuple[ColumnElement[bool], ...]:
    # A month end that bills pending increases (on_increase: monthly); one left from an
    # earlier period lies before the period start and is not due.
    return (
        subscriptions.c.month_end_at <= at,
        subscriptions.c.month_end_at > subscriptions.c.period_start,
    )


def _due(at: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        *_ACTIVE_OFF_CLOCK,
        or_(subscriptions.c.period_end <= at, and_(*_month_end_due(at))),
    )


# A subscriptions row with its policy as the stored JSON text (``_subscription`` parses each
# distinct text once) rather than parsed by the driver on every read.
_ROW = (
    *(c for c in subscriptions.c if c.name != "policy"),
    cast(subscriptions.c.policy, Text).label("policy"),
)
_sw = subscription_workspaces
# Built once: the hot path only binds values (building a statement costs more than running it).
_BY_KEY = select(*_ROW).where(
    subscriptions.c.account_id == bindparam("account_id"),
    subscriptions.c.id == bindparam("id"),
)
_BY_KEY_LOCKED = _BY_KEY.with_for_update()
# The billing run's two claims (``claim_due``), batch after batch.
_CLAIM_ENDED = _claim(subscriptions.c.period_end <= bindparam("at"))
_CLAIM_MONTH_END_ONLY = _claim(
    *_month_end_due(bindparam("at")), subscriptions.c.period_end > bindparam("at")
)
# How many workspaces the subscription covers: when it is one, the workspace found by name is
# the whole bundle and its names need no second read.
_covered = subscription_workspaces.alias("covered")
_COVERED_COUNT = (
    select(func.count())
    .select_from(_covered)
    .where(
        _covered.c.account_id == subscriptions.c.account_id,
        _covered.c.subscription_id == subscriptions.c.id,
    )
    .scalar_subquery()
)
_BY_WORKSPACE_NAME = (
    select(
        *_ROW,
        workspaces.c.id.label("named_id"),
        workspaces.c.name.label("named_name"),
        _COVERED_COUNT.label("covered_count"),
    )
    .join(
        _sw,
        (_sw.c.account_id == subscriptions.c.account_id)
        & (_sw.c.subscription_id == subscriptions.c.id),
    )
    .join(
        workspaces,
        (workspaces.c.account_id == _sw.c.account_id) & (workspaces.c.id == _sw.c.workspace_id),
    )
    .where(
        workspaces.c.account_id == bindparam("account_id"), workspaces.c.name == bindparam("name")
    )
)
# The lock is on the subscription row only, not on the rows joined to find it.
_BY_WORKSPACE_NAME_LOCKED = _BY_WORKSPACE_NAME.with_for_update(of=subscriptions)
_WORKSPACE_NAMES = (
    select(workspaces.c.id, workspaces.c.name)
    .join(
        _sw, (_sw.c.account_id == workspaces.c.account_id) & (_sw.c.workspace_id == workspaces.c.id)
    )
    .where(_sw.c.account_id == bindparam("account_id"), _sw.c.subscription_id == bindparam("id"))
)
# The columns to set are the keys of the parameters passed with the statement.
_SAVE = update(subscriptions).where(
    subscriptions.c.account_id == bindparam("k_account"),
    subscriptions.c.id == bindparam("k_id"),
    subscriptions.c.version == bindparam("k_version"),
)


class SqlSubscriptions(Repository):
    def __init__(
        self, source: ConnectionSource, rosters: VersionCache[StoredRoster], ahead: ReadAhead
    ) -> None:
        super().__init__(source)
        self._rosters = rosters  # the rosters kept: which of them another process changed
        self._ahead = ahead
        # The subscriptions this transaction holds the row lock of, at the version it has them at.
        self._locked: dict[tuple[str, str], int] = {}

    def add(self, subscription: Subscription) -> None:
        statement = insert(subscriptions).values(
            account_id=subscription.account_id,
            id=subscription.id,
            version=subscription.version,
            created_at=subscription.created_at,
            **_values(subscription),
        )
        insert_unique(
            self._conn, statement, lambda: f"Subscription {subscription.id!r} exists already."
        )

    def get(self, account_id: str, subscription_id: str) -> Subscription:
        return self._one(_BY_KEY, account_id, subscription_id)

    def get_for_update(self, account_id: str, subscription_id: str) -> Subscription:
        # PostgreSQL: the row lock every seat change of this subscription queues on. SQLite has
        # no FOR UPDATE (the compiler leaves it out): BEGIN IMMEDIATE already gave this
        # transaction the database's only write lock.
        return self._holding(self._one(_BY_KEY_LOCKED, account_id, subscription_id))

    def save(
        self, subscription: Subscription, *, stored: Subscription | None = None
    ) -> Subscription:
        values = _values(subscription) if stored is None else _changed(subscription, stored)
        key = (subscription.account_id, subscription.id)
        saved = {
            "k_account": subscription.account_id,
            "k_id": subscription.id,
            "k_version": subscription.version,
            "version": subscription.version + 1,
            **values,
        }
        if self._locked.get(key) == subscription.version:
            # Read under this transaction's row lock at this version: nobody else can have moved
            # it on, so the versioned write needs no count checked before the commit, and a
            # PostgreSQL unit sends it with the commit (one round trip where the check took two).
            execute_each(self._conn, [(_SAVE, [saved])])
            self._locked[key] = subscription.version + 1
        else:
            # Checked when it runs: at once, or with the writes a PostgreSQL unit sends together.
            execute_expecting(
                self._conn,
                _SAVE,
                saved,
                count=1,
                otherwise=lambda: self._changed_meanwhile(subscription),
            )
        return replace(subscription, version=subscription.version + 1)

    def release_locks(self) -> None:
        """The transaction ended (or its savepoint): the row locks it held are gone."""
        self._locked.clear()

    def _holding(self, subscription: Subscription) -> Subscription:
        """``subscription``, read under its row lock: held until the transaction ends, unless
        the connection runs in autocommit (a lookup's), where the lock ended with the read."""
        driver = self._conn.connection.driver_connection
        if self._conn.dialect.name != "postgresql" or not getattr(driver, "autocommit", False):
            self._locked[(subscription.account_id, subscription.id)] = subscription.version
        return subscription

    def _changed_meanwhile(self, subscription: Subscription) -> Conflict:
        stored = self.get(subscription.account_id, subscription.id)  # NotFound if gone
        return Conflict(
            f"Subscription {subscription.id!r} was changed meanwhile (version "
            f"{stored.version}, not {subscription.version}): load it again and retry."
        )

    def for_account(self, account_id: str) -> tuple[Subscription, ...]:
        rows = self._conn.execute(
            select(*_ROW)
            .where(subscriptions.c.account_id == account_id)
            .order_by(subscriptions.c.created_at, subscriptions.c.id)
        )
        return tuple(_subscription(r) for r in rows)

    def workspace_ids(self, account_id: str, subscription_id: str) -> tuple[str, ...]:
        sw = subscription_workspaces
        rows = self._conn.execute(
            select(sw.c.workspace_id)
            .where(sw.c.account_id == account_id, sw.c.subscription_id == subscription_id)
            .order_by(sw.c.workspace_id)
        )
        return tuple(rows.scalars())

    def set_workspaces(
        self, account_id: str, subscription_id: str, workspace_ids: Sequence[str]
    ) -> None:
        sw = subscription_workspaces
        self._conn.execute(
            delete(sw).where(sw.c.account_id == account_id, sw.c.subscription_id == subscription_id)
        )
        if not workspace_ids:
            return
        rows = [
            {"account_id": account_id, "workspace_id": w, "subscription_id": subscription_id}
            for w in dict.fromkeys(workspace_ids)
        ]
        insert_unique(
            self._conn,
            insert(sw).values(rows),
            lambda: (
                f"A workspace of {', '.join(workspace_ids)} is covered by another "
                "subscription already: a workspace belongs to at most one subscription."
            ),
        )

    def find_for_workspace(self, account_id: str, workspace_id: str) -> Subscription | None:
        sw = subscription_workspaces
        row = self._conn.execute(
            select(*_ROW)
            .join(
                sw,
                (sw.c.account_id == subscriptions.c.account_id)
                & (sw.c.subscription_id == subscriptions.c.id),
            )
            .where(sw.c.account_id == account_id, sw.c.workspace_id == workspace_id)
        ).one_or_none()
        return None if row is None else _subscription(row)

    def find_for_workspace_name(self, account_id: str, name: str, *, lock: bool) -> Covering | None:
        # Straight to the driver: the read every seat change starts with (the name is unique in
        # its account, so at most one row). Locked, the account's credit balances follow in the
        # same round trip: the second statement starts once the first holds the lock, so it
        # reads what the lock's last holder committed.
        keys = {"account_id": account_id, "name": name}
        if not lock:
            rows = fetch_rows(self._conn, _BY_WORKSPACE_NAME, keys)
            return self._covering(account_id, rows, None)
        # A subscription other processes change: its roster's catch-up and its parts go in the
        # same round trip, after the lock (store/read_ahead.py).
        guess = self._ahead.contended.get(account_id, name)
        since = None if guess is None else self._kept_version(account_id, guess)
        ahead: list[tuple[Select[Any] | CompoundSelect[Any], dict[str, Any]]] = []
        if guess is not None:
            if since is not None:
                ahead.append(catch_up_read(account_id, guess.workspace_ids, since))
            ahead.append(parts_read(account_id, guess.subscription_id))
        rows, balance_rows, *ahead_rows = fetch_rows_together(
            self._conn,
            [(_BY_WORKSPACE_NAME_LOCKED, keys), (BALANCES, {"account_id": account_id}), *ahead],
        )
        covering = self._covering(account_id, rows, balances_of(balance_rows))
        if covering is None:
            return None
        sub = self._holding(covering.subscription)
        found = Covered(sub.id, tuple(sorted(covering.workspace_names)))
        kept = self._kept_version(account_id, found)
        if kept is not None and kept < sub.version:
            self._ahead.contended.mark(account_id, name, found)
        else:
            self._ahead.contended.forget(account_id, name)
        if guess == found:
            if since is not None:
                roster_rows = ahead_rows.pop(0)
                key = roster_key(
                    account_id, found.workspace_ids, SubscriptionVersion(sub.id, sub.version)
                )
                self._ahead.keep_roster(key, since, roster_rows)
            self._ahead.keep_parts(account_id, sub.id, sub.version, ahead_rows.pop(0))
        return covering

    def _covering(
        self, account_id: str, rows: Sequence[Any], balances: Mapping[str, Money] | None
    ) -> Covering | None:
        if not rows:
            return None
        (row,) = rows
        subscription = _subscription(row)
        names = (
            {row.named_id: row.named_name}
            if row.covered_count == 1
            else self.workspace_names(account_id, subscription.id)
        )
        return Covering(subscription, names, balances)

    def _kept_version(self, account_id: str, covered: Covered) -> int | None:
        """The version this process keeps the roster of ``covered`` at, if any."""
        key = roster_key(
            account_id, covered.workspace_ids, SubscriptionVersion(covered.subscription_id, 0)
        )
        return self._rosters.latest(key)

    def workspace_names(self, account_id: str, subscription_id: str) -> dict[str, str]:
        rows = self._conn.execute(
            _WORKSPACE_NAMES, {"account_id": account_id, "id": subscription_id}
        )
        return {r.id: r.name for r in rows}

    def claim_due(self, at: datetime, *, limit: int) -> tuple[Subscription, ...]:
        # Two reads, each one a range of its own index: those whose period ended, then (only if
        # the batch is not full) those due by a month end alone, whose period ends after ``at``
        # and so after every one of the first. One read with the two conditions OR-ed had no
        # range to scan; PostgreSQL, its statistics out of date after a run had renewed every
        # row, then read and sorted every subscription for each batch (45 ms a claim on 10,000).
        found = [
            _subscription(r)
            for r in fetch_rows(self._conn, _CLAIM_ENDED, {"at": at, "limit": limit})
        ]
        if len(found) < limit:
            found += (
                _subscription(r)
                for r in fetch_rows(
                    self._conn, _CLAIM_MONTH_END_ONLY, {"at": at, "limit": limit - len(found)}
                )
            )
        return tuple(found)

    def count_due(self, at: datetime) -> int:
        return int(
            self._conn.execute(
                select(func.count()).select_from(subscriptions).where(*_due(at))
            ).scalar_one()
        )

    def _one(self, statement: Select[Any], account_id: str, subscription_id: str) -> Subscription:
        row = self._conn.execute(
            statement, {"account_id": account_id, "id": subscription_id}
        ).one_or_none()
        if row is None:
            raise NotFound(kind="subscription", key=subscription_id)
        return _subscription(row)


_ADDON_COUNTS = (
    # Labelled: a Row is a tuple, and ``row.count`` would be tuple.count.
    select(addons.c.name, addons.c["count"].label("n"))
    .where(
        addons.c.account_id == bindparam("account_id"),
        addons.c.subscription_id == bindparam("subscription_id"),
    )
    .order_by(addons.c.name)
)


class SqlAddons(Repository):
    def counts(self, account_id: str, subscription_id: str) -> dict[str, int]:
        rows = fetch_rows(
            self._conn,
            _ADDON_COUNTS,
            {"account_id": account_id, "subscription_id": subscription_id},
        )
        return {r.name: r.n for r in rows}

    def set_count(
        self, account_id: str, subscription_id: str, name: str, count: int, *, at: datetime
    ) -> None:
        if count < 0:
            raise ValueError(f"an add-on count is never negative, got {count}")
        key = (
            addons.c.account_id == account_id,
            addons.c.subscription_id == subscription_id,
            addons.c.name == name,
        )
        if count == 0:
            self._conn.execute(delete(addons).where(*key))
            return
        # Called under the subscription's lock, so update-then-insert cannot race.
        updated = self._conn.execute(update(addons).where(*key).values(count=count, updated_at=at))
        if updated.rowcount == 0:
            self._conn.execute(
                insert(addons).values(
                    account_id=account_id,
                    subscription_id=subscription_id,
                    name=name,
                    count=count,
                    updated_at=at,
                )
            )
