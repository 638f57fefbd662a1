"""The billing run's reads of a batch, prebuilt: every row a batch's renewals need, in one round
trip, keyed by the batch's pairs (``(account_id, subscription_id)`` and the like) given as one
JSON parameter.

A batch's reads are a few statements over a few hundred rows each. Through the statement layer,
preparing each statement and wrapping its rows cost more than the database took to run it, and
psycopg dumps an array parameter in text element by element (about 0.3 ms for 200 keys, twice per
statement), where ``json.dumps`` takes 25 us. So the statements are built once per dialect and go
straight to the driver (``store/driver_statements.py``), all of them together; the pairs are read
back by ``json_array_elements`` on PostgreSQL and ``json_each`` on SQLite. The planner takes
either for a hundred rows and looks each pair up in the key's index.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Subquery,
    Table,
    bindparam,
    cast,
    func,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql

from seatledger.store.tables import (
    accounts,
    addons,
    credit_entries,
    memberships,
    pending_lines,
    persons,
    role_assignments,
    seat_ledger,
    subscription_workspaces,
    workspaces,
)

POSTGRESQL = "postgresql"


def pairs_value(keys: Sequence[tuple[str, str]]) -> str:
    """The value of the ``pairs`` parameter of the statements here."""
    return json.dumps(keys)


@cache
def pairs(dialect: str) -> Subquery:
    """The ``pairs`` parameter as rows (columns ``first`` and ``second``)."""
    first: ColumnElement[Any]
    second: ColumnElement[Any]
    if dialect == POSTGRESQL:
        values = func.json_array_elements(
            cast(bindparam("pairs", type_=String), postgresql.JSON)
        ).table_valued("value")
        first = values.c.value.op("->>")(literal_column("0"))
        second = values.c.value.op("->>")(literal_column("1"))
    else:
        values = func.json_each(bindparam("pairs", type_=String)).table_valued("value")
        first = func.json_extract(values.c.value, literal_column("'$[0]'"))
        second = func.json_extract(values.c.value, literal_column("'$[1]'"))
    return select(first.label("first"), second.label("second")).subquery("pairs")


def keys_value(keys: Sequence[str]) -> str:
    """The value of the ``keys`` parameter of the statements here."""
    return json.dumps(list(keys))


@cache
def keys(dialect: str) -> Subquery:
    """The ``keys`` parameter as rows (column ``key``)."""
    if dialect == POSTGRESQL:
        values = func.json_array_elements_text(
            cast(bindparam("keys", type_=String), postgresql.JSON)
        ).table_valued("value")
    else:
        values = func.json_each(bindparam("keys", type_=String)).table_valued("value")
    return select(values.c.value.label("key")).subquery("keys")


def in_pairs(dialect: str, first: ColumnElement[str], second: ColumnElement[str]) -> Any:
    """``(first, second) IN pairs``."""
    found = pairs(dialect)
    return tuple_(first, second).in_(select(found.c.first, found.c.second))


_sw, _w = subscription_workspaces, workspaces
_m, _p, _g = memberships, persons, role_assignments


@cache
def bundles(dialect: str) -> Select[Any]:
    """The workspaces of each subscription of the pairs."""
    return (
        select(_sw.c.account_id, _sw.c.subscription_id, _w.c.id, _w.c.name)
        .join(_w, (_w.c.account_id == _sw.c.account_id) & (_w.c.id == _sw.c.workspace_id))
        .where(in_pairs(dialect, _sw.c.account_id, _sw.c.subscription_id))
    )


def _in_bundles(dialect: str, table: Any, *columns: Any) -> Select[Any]:
    """``columns`` of ``table``'s rows in the workspaces of each subscription of the pairs, after
    the subscription's key."""
    return (
        select(_sw.c.account_id, _sw.c.subscription_id, *columns)
        .join(
            _sw,
            (_sw.c.account_id == table.c.account_id) & (_sw.c.workspace_id == table.c.workspace_id),
        )
        .where(in_pairs(dialect, _sw.c.account_id, _sw.c.subscription_id))
    )


@cache
def grants(dialect: str) -> Select[Any]:
    """The role grants held in the workspaces of each subscription of the pairs."""
    g = _g.c
    return _in_bundles(dialect, _g, g.workspace_id, g.person_id, g.role, g.scope, g.expires_at)


@cache
def members(dialect: str) -> Select[Any]:
    """The memberships of the workspaces of each subscription of the pairs, with e-mails."""
    m = _m.c
    return _in_bundles(dialect, _m, m.workspace_id, m.person_id, m.status, _p.c.email).join(
        _p, (_p.c.account_id == m.account_id) & (_p.c.id == m.person_id)
    )


@cache
def addon_counts(dialect: str) -> Select[Any]:
    """The add-ons of each subscription of the pairs, by name."""
    return (
        select(addons.c.account_id, addons.c.subscription_id, addons.c.name, addons.c["count"])
        .where(in_pairs(dialect, addons.c.account_id, addons.c.subscription_id))
        .order_by(addons.c.name)
    )


@cache
def unbilled(dialect: str) -> Select[Any]:
    """The pending lines no invoice took yet of each subscription of the pairs, in the order
    ``pending_lines.unbilled`` gives them."""
    pl = pending_lines
    return (
        select(pl)
        .where(
            in_pairs(dialect, pl.c.account_id, pl.c.subscription_id),
            pl.c.invoice_id.is_(None),
        )
        .order_by(pl.c.created_at, pl.c.period_start, pl.c.id)
    )


@cache
def credit_totals(dialect: str) -> Select[Any]:
    """The credit balance of each (account, currency) of the pairs that has credit entries."""
    ce = credit_entries
    return (
        select(ce.c.account_id, ce.c.currency, func.sum(ce.c.amount_minor).label("total"))
        .where(in_pairs(dialect, ce.c.account_id, ce.c.currency))
        .group_by(ce.c.account_id, ce.c.currency)
    )


@cache
def last_ledger_seqs(dialect: str) -> Select[Any]:
    """The last ledger ``seq`` of each subscription of the pairs (0 for none)."""
    sl, found = seat_ledger, pairs(dialect)
    # One max per subscription, correlated: each is a descent of the primary key's index
    # whatever the statistics say. Grouped over ``IN`` pairs, PostgreSQL planned a scan of the
    # whole ledger, which grows with every renewal (9 ms a batch at 40,000 rows, and on).
    last_seq = (
        select(func.coalesce(func.max(sl.c.seq), 0))
        .where(sl.c.account_id == found.c.first, sl.c.subscription_id == found.c.second)
        .scalar_subquery()
    )
    return select(found.c.first, found.c.second, last_seq.label("last_seq"))


@cache
def last_account_seqs(dialect: str, table: Table) -> Select[Any]:
    """The last ``seq`` of each account of the keys in ``table``, a log numbered per account
    (0 for none): one descent of the primary key's index per account, as for the ledger."""
    found = keys(dialect)
    last_seq = (
        select(func.coalesce(func.max(table.c.seq), 0))
        .where(table.c.account_id == found.c.key)
        .scalar_subquery()
    )
    return select(found.c.key, last_seq.label("last_seq"))


@cache
def locked_accounts(dialect: str) -> Select[Any]:
    """The accounts of the keys with their invoice counters, locked in id order (``FOR NO KEY
    UPDATE``: rows referring to an account stay free to be written meanwhile)."""
    found = keys(dialect)
    return (
        select(accounts.c.id, accounts.c.invoice_counter)
        .where(accounts.c.id.in_(select(found.c.key)))
        .order_by(accounts.c.id)
        .with_for_update(key_share=True)
    )
