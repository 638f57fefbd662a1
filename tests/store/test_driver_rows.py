"""Rows written past the statement layer (``store/driver_rows.py``, and the prebuilt statements of
``store/driver_statements.py``) are stored exactly as ``Connection.execute`` stores them, updates
count what they matched, reads return what it returns, and a duplicate key is the statement
layer's ``IntegrityError``. On SQLite (executemany) and PostgreSQL (COPY, unnest, a pipeline of
prebuilt statements)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, Text, bindparam, cast, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from store_builders import ACCOUNT, SUBSCRIPTION, World

from seatledger.store.driver_rows import insert_rows, update_rows
from seatledger.store.driver_statements import execute_each, execute_expecting, fetch_rows
from seatledger.store.repositories._common import is_unique_violation
from seatledger.store.tables import audit_log, subscriptions, webhook_outbox

AT = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
AUDIT_COLUMNS = ("account_id", "seq", "at", "actor", "action", "target", "before", "after")


def audit_rows(first_seq: int) -> list[tuple[Any, ...]]:
    return [
        (ACCOUNT, first_seq, AT, "owner@example.com", "change", "sub_demo", {"seats": 3}, None),
        # Text that COPY escapes (tab, newline, backslash) and a nested document.
        (ACCOUNT, first_seq + 1, AT, "a\tb\\c", "x\ny", "é ✓", None, {"list": [1, "two"]}),
    ]


def stored(engine: Engine, seqs: range) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(*(audit_log.c[c] for c in AUDIT_COLUMNS[1:]))
            .where(audit_log.c.account_id == ACCOUNT, audit_log.c.seq.in_(list(seqs)))
            .order_by(audit_log.c.seq)
        )
        return [tuple(r[1:]) for r in rows]


def seats_and_version(engine: Engine) -> tuple[Any, ...]:
    """The subscription's seats total, seats paid and version, as stored."""
    with engine.connect() as conn:
        row = conn.execute(
            select(
                subscriptions.c.seats_total, subscriptions.c.seats_paid, subscriptions.c.version
            ).where(subscriptions.c.account_id == ACCOUNT, subscriptions.c.id == SUBSCRIPTION)
        ).one()
    return tuple(row)


def test_inserted_rows_read_back_as_the_statement_layer_stores_them(
    engine: Engine, world: World
) -> None:
    with engine.begin() as conn:
        insert_rows(conn, audit_log, AUDIT_COLUMNS, audit_rows(1))
        conn.execute(
            insert(audit_log),
            [dict(zip(AUDIT_COLUMNS, row, strict=True)) for row in audit_rows(11)],
        )
    ours, theirs = stored(engine, range(1, 3)), stored(engine, range(11, 13))
    assert ours == theirs
    assert ours[0] == (AT, "owner@example.com", "change", "sub_demo", {"seats": 3}, None)
    assert ours[1][1:] == ("a\tb\\c", "x\ny", "é ✓", None, {"list": [1, "two"]})
    with engine.connect() as conn:
        # None in a JSON column that keeps None as SQL NULL is NULL, not the JSON text 'null'.
        nulls = conn.execute(
            select(audit_log.c.seq).where(audit_log.c.after.is_(None)).order_by(audit_log.c.seq)
        ).scalars()
        assert list(nulls) == [1, 11]
        # Every JSON document is stored as the same text (PostgreSQL's json keeps it as sent).
        texts = conn.execute(
            select(cast(audit_log.c.before, Text), cast(audit_log.c.after, Text))
            .where(audit_log.c.account_id == ACCOUNT)
            .order_by(audit_log.c.seq)
        ).all()
        assert [tuple(t) for t in texts[:2]] == [tuple(t) for t in texts[2:]]


def test_none_in_a_json_column_that_keeps_documents_is_the_document_null(
    engine: Engine, world: World
) -> None:
    columns = ("account_id", "seq", "event_type", "payload", "created_at", "attempts")
    with engine.begin() as conn:
        insert_rows(conn, webhook_outbox, columns, [(ACCOUNT, 1, "x", None, AT, 0)])
        values = (ACCOUNT, 2, "x", None, AT, 0)
        conn.execute(insert(webhook_outbox), [dict(zip(columns, values, strict=True))])
    with engine.connect() as conn:
        payloads = conn.execute(
            select(cast(webhook_outbox.c.payload, Text), webhook_outbox.c.payload.is_(None))
            .where(webhook_outbox.c.account_id == ACCOUNT)
            .order_by(webhook_outbox.c.seq)
        ).all()
    assert [tuple(p) for p in payloads] == [("null", False), ("null", False)]


def test_an_update_sets_each_row_and_counts_the_rows_it_matched(
    engine: Engine, world: World
) -> None:
    version = world.subscription.version
    rows = [
        (7, 7, ACCOUNT, SUBSCRIPTION, version),
        (9, 9, ACCOUNT, "sub_nowhere", version),  # matches nothing
    ]
    with engine.begin() as conn:
        updated = update_rows(
            conn,
            subscriptions,
            ("seats_total", "seats_paid"),
            ("account_id", "id", "version"),
            rows,
            also_set="version = version + 1",
        )
        assert updated == 1  # both drivers count an executemany's rows
        stale = update_rows(
            conn,
            subscriptions,
            ("seats_total",),
            ("account_id", "id", "version"),
            [(5, ACCOUNT, SUBSCRIPTION, version)],  # the version moved on
        )
        assert stale == 0
    assert seats_and_version(engine) == (7, 7, version + 1)


def test_a_duplicate_key_is_the_statement_layers_integrity_error(
    engine: Engine, world: World
) -> None:
    with engine.begin() as conn:
        insert_rows(conn, audit_log, AUDIT_COLUMNS, audit_rows(1)[:1])
    with engine.begin() as conn, pytest.raises(IntegrityError) as raised:
        insert_rows(conn, audit_log, AUDIT_COLUMNS, audit_rows(1))
    assert is_unique_violation(raised.value)
    kept = stored(engine, range(1, 3))
    assert [row[1] for row in kept] == ["owner@example.com"]  # nothing of the refused batch


def test_nothing_to_write_runs_no_statement(engine: Engine, world: World) -> None:
    with engine.begin() as conn:
        insert_rows(conn, webhook_outbox, ("account_id", "seq"), [])
        assert update_rows(conn, subscriptions, ("seats_total",), ("id",), []) == 0


_INSERT_AUDIT = insert(audit_log)
_SET_SEATS = update(subscriptions).where(
    subscriptions.c.account_id == bindparam("k_account"),
    subscriptions.c.id == bindparam("k_id"),
    subscriptions.c.version == bindparam("k_version"),
)


def test_prebuilt_statements_store_what_execute_stores_and_count_what_they_change(
    engine: Engine, world: World
) -> None:
    version = world.subscription.version
    key = {"k_account": ACCOUNT, "k_id": SUBSCRIPTION, "k_version": version}
    with engine.begin() as conn:
        execute_each(
            conn,
            [
                (
                    _INSERT_AUDIT,
                    [dict(zip(AUDIT_COLUMNS, row, strict=True)) for row in audit_rows(1)],
                ),
                (_SET_SEATS, [{**key, "seats_total": 8, "version": version + 1}]),
            ],
        )
        conn.execute(
            insert(audit_log),
            [dict(zip(AUDIT_COLUMNS, row, strict=True)) for row in audit_rows(11)],
        )
        # The version moved on with the update above: the old one matches nothing now.
        with pytest.raises(LookupError, match="0 rows"):
            execute_expecting(
                conn,
                _SET_SEATS,
                {**key, "seats_total": 9},
                count=1,
                otherwise=lambda: LookupError("0 rows"),
            )
        moved = {**key, "k_version": version + 1, "seats_paid": 8, "version": version + 2}
        execute_expecting(
            conn, _SET_SEATS, moved, count=1, otherwise=lambda: LookupError("not 1 row")
        )
    assert stored(engine, range(1, 3)) == stored(engine, range(11, 13))
    assert seats_and_version(engine) == (8, 8, version + 2)


def test_a_refused_prebuilt_statement_is_the_statement_layers_error_and_keeps_nothing(
    engine: Engine, world: World
) -> None:
    first = dict(zip(AUDIT_COLUMNS, audit_rows(1)[0], strict=True))
    with engine.begin() as conn:
        execute_each(conn, [(_INSERT_AUDIT, [first])])
    again = dict(zip(AUDIT_COLUMNS, audit_rows(2)[0], strict=True))
    with pytest.raises(IntegrityError) as raised, engine.begin() as conn:
        execute_each(conn, [(_INSERT_AUDIT, [again, first])])
    assert is_unique_violation(raised.value)
    assert [row[1] for row in stored(engine, range(1, 3))] == ["owner@example.com"]


_AUDIT_BY_ACCOUNT = (
    select(
        audit_log.c.seq,
        audit_log.c.at,
        audit_log.c.before.label("earlier"),
        audit_log.c.after,
        audit_log.c.target,
    )
    .where(audit_log.c.account_id == bindparam("account_id"), audit_log.c.seq > 0)
    .order_by(audit_log.c.seq)
)
_AUDIT_COUNT = select(func.count(), func.max(audit_log.c.seq)).where(
    audit_log.c.account_id == bindparam("account_id")
)


def test_fetched_rows_are_the_rows_execute_returns(engine: Engine, world: World) -> None:
    with engine.begin() as conn:
        insert_rows(conn, audit_log, AUDIT_COLUMNS, audit_rows(1))
    with engine.connect() as conn:
        ours = fetch_rows(conn, _AUDIT_BY_ACCOUNT, {"account_id": ACCOUNT})
        theirs = conn.execute(_AUDIT_BY_ACCOUNT, {"account_id": ACCOUNT}).all()
        assert [tuple(row) for row in ours] == [tuple(row) for row in theirs]
        # By the columns' keys, as a Row has them: instants in UTC, JSON as documents.
        assert ours[0].at == AT and ours[0].at.utcoffset() is not None
        assert (ours[0].earlier, ours[1].after) == ({"seats": 3}, {"list": [1, "two"]})
        # Unnamed columns by position.
        assert tuple(fetch_rows(conn, _AUDIT_COUNT, {"account_id": ACCOUNT})[0]) == (2, 2)
        assert fetch_rows(conn, _AUDIT_BY_ACCOUNT, {"account_id": "acc_nobody"}) == []


def test_a_statement_expanded_per_run_is_refused(engine: Engine, world: World) -> None:
    listed = select(audit_log.c.seq).where(audit_log.c.seq.in_(bindparam("seqs", expanding=True)))
    with engine.connect() as conn, pytest.raises(ValueError, match="expanding"):
        fetch_rows(conn, listed, {"seqs": [1, 2]})
