"""The raw baselines of the billing run: plain-driver writes of the rows one engine run wrote.

A renewal writes more than its invoice: the subscription moves to its next period (an ``UPDATE``
checked against the version it was read at), the account's invoice counter moves on, and the seat
ledger, the audit log and the outbox get a row each. ``written`` reads every row an engine run
wrote, ``copies`` makes fresh copies of them for one baseline side (new ids, numbers and ``seq``
moved out of the engine's range, no renewal key) with the same updates, and ``write`` writes
them in one transaction the plain way:

- ``executemany``: one ``executemany`` per table, the updates included;
- ``copy`` (PostgreSQL): ``COPY`` per table for the inserts, and each update as one
  ``UPDATE ... FROM unnest(arrays)``: the fastest plain way there is.

``invoice_rows`` (``only_invoices=True``) writes the invoices and their lines alone: the baseline
of the earlier runs, kept as a figure to compare them with.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from bench.backends import Raw

# Each side's copies are numbered this much higher than the last side's, far above anything the
# engine numbers (``seq`` and invoice numbers are 32-bit integers: nine sides fit).
COPY_STEP = 10_000_000

INVOICE_COLUMNS = (
    "account_id, id, subscription_id, number, kind, status, reason, period_start, period_end, "
    "currency, total_minor, issued_at, created_at, renewal_of"
)
LINE_COLUMNS = (
    "account_id, invoice_id, position, kind, description, quantity, unit_amount_minor, "
    "amount_minor, period_start, period_end"
)
_LEDGER_COLUMNS = (
    "account_id, subscription_id, seq, at, kind, seats_total, seats_used, seats_at_renewal, "
    "seats_paid, person_id, detail"
)
_AUDIT_COLUMNS = "account_id, seq, at, actor, action, target, before, after"
_OUTBOX_COLUMNS = "account_id, seq, event_type, payload, created_at, delivered_at, attempts"
# What the engine's renewal sets on the subscription row, with each column's PostgreSQL type.
_RENEWED = (
    ("status", "text"),
    ("period_start", "timestamptz"),
    ("period_end", "timestamptz"),
    ("seats_total", "integer"),
    ("seats_at_renewal", "integer"),
    ("seats_paid", "integer"),
    ("canceled_at", "timestamptz"),
    ("seats_invoiced", "bigint"),
    ("seats_credited", "bigint"),
    ("seats_invoiced_shares", "text"),
    ("seats_invoiced_for", "timestamptz"),
    ("month_end_at", "timestamptz"),
)
_KEY = (("account_id", "text"), ("id", "text"), ("version", "integer"))


@dataclass(frozen=True)
class Written:
    """The rows one engine run inserted, as read back: invoices, lines and each log's rows."""

    start: Any
    invoices: list[tuple[Any, ...]]
    lines: list[tuple[Any, ...]]
    ledger: list[tuple[Any, ...]]
    audit: list[tuple[Any, ...]]
    outbox: list[tuple[Any, ...]]


@dataclass(frozen=True)
class Copies:
    """What one baseline side writes: rows per table (in foreign-key order), the subscription
    updates (``_RENEWED`` values, then ``_KEY``), and the counter moves (invoices issued,
    account id)."""

    inserts: dict[str, tuple[str, list[tuple[Any, ...]]]]
    subscriptions: list[tuple[Any, ...]]
    counters: list[tuple[int, str]]


def written(raw: Raw, start: Any, ran_at: Any, n: int) -> Written:
    """The rows of the engine run that renewed ``n`` subscriptions into the period from
    ``start`` at instant ``ran_at`` (both as the database returns or stores them), read before
    any baseline wrote copies of them; ``SystemExit`` unless each renewal wrote one row of each
    log."""
    # JSON as its text: written back as it was read, on both databases.
    text = "::text" if raw.postgres else ""
    rows = Written(
        start=start,
        invoices=raw.q(
            f"SELECT {INVOICE_COLUMNS} FROM invoices WHERE renewal_of = :start", {"start": start}
        ).fetchall(),
        lines=raw.q(
            "SELECT l.account_id, l.invoice_id, l.position, l.kind, l.description, l.quantity, "
            "l.unit_amount_minor, l.amount_minor, l.period_start, l.period_end "
            "FROM invoice_lines l JOIN invoices i ON i.account_id = l.account_id "
            "AND i.id = l.invoice_id WHERE i.renewal_of = :start",
            {"start": start},
        ).fetchall(),
        ledger=raw.q(
            f"SELECT {_LEDGER_COLUMNS.replace('detail', f'detail{text}')} FROM seat_ledger "
            "WHERE at = :start AND kind = 'renewed'",
            {"start": start},
        ).fetchall(),
        audit=raw.q(
            f"SELECT account_id, seq, at, actor, action, target, before{text}, after{text} "
            "FROM audit_log WHERE at = :start AND action = 'renew_subscription'",
            {"start": start},
        ).fetchall(),
        outbox=raw.q(
            f"SELECT account_id, seq, event_type, payload{text}, created_at, delivered_at, "
            "attempts FROM webhook_outbox WHERE created_at = :at "
            "AND event_type = 'invoice.issued'",
            {"at": ran_at},
        ).fetchall(),
    )
    found = {
        "invoices": len(rows.invoices),
        "ledger": len(rows.ledger),
        "audit": len(rows.audit),
        "outbox": len(rows.outbox),
    }
    if any(count != n for count in found.values()):
        raise SystemExit(f"billing baseline: expected {n} rows of each, found {found}")
    return rows


def copies(raw: Raw, rows: Written, offset: int) -> Copies:
    """Fresh copies of ``rows``: new invoice ids, invoice numbers and ``seq`` moved up by
    ``offset``, no renewal key; and the updates the run made, at the versions stored now."""
    new_ids = {(row[0], row[1]): f"inv_{secrets.token_hex(12)}" for row in rows.invoices}
    renewed = ", ".join(name for name, _ in (*_RENEWED, *_KEY))
    subscriptions = [
        tuple(row)
        for row in raw.q(
            f"SELECT {renewed} FROM subscriptions WHERE period_start = :start",
            {"start": rows.start},
        ).fetchall()
    ]
    if len(subscriptions) != len(rows.invoices):
        raise SystemExit(f"billing baseline: {len(subscriptions)} subscriptions renewed")
    counters: dict[str, int] = {}
    for row in rows.invoices:
        counters[row[0]] = counters.get(row[0], 0) + 1
    return Copies(
        inserts={
            "invoices": (
                INVOICE_COLUMNS,
                [
                    (row[0], new_ids[(row[0], row[1])], row[2], row[3] + offset, *row[4:13], None)
                    for row in rows.invoices
                ],
            ),
            "invoice_lines": (
                LINE_COLUMNS,
                [(row[0], new_ids[(row[0], row[1])], *row[2:]) for row in rows.lines],
            ),
            "seat_ledger": (_LEDGER_COLUMNS, _renumbered(rows.ledger, 2, offset)),
            "audit_log": (_AUDIT_COLUMNS, _renumbered(rows.audit, 1, offset)),
            "webhook_outbox": (_OUTBOX_COLUMNS, _renumbered(rows.outbox, 1, offset)),
        },
        subscriptions=subscriptions,
        counters=[(count, account_id) for account_id, count in sorted(counters.items())],
    )


def _renumbered(rows: list[Any], seq_at: int, offset: int) -> list[tuple[Any, ...]]:
    return [(*row[:seq_at], row[seq_at] + offset, *row[seq_at + 1 :]) for row in rows]


def write(raw: Raw, rows: Copies, *, use_copy: bool, only_invoices: bool = False) -> None:
    """Write ``rows`` in one transaction (see the module docstring for the two ways)."""
    tables = ("invoices", "invoice_lines") if only_invoices else tuple(rows.inserts)
    raw.begin()
    if not only_invoices:
        _update_subscriptions(raw, rows.subscriptions, use_copy=use_copy)
        _update_counters(raw, rows.counters, use_copy=use_copy)
    for table in tables:
        columns, values = rows.inserts[table]
        if use_copy:
            _copy(raw, table, columns, values)
        else:
            _executemany(
                raw, f"INSERT INTO {table} ({columns}) VALUES {_marks(columns, raw)}", values
            )
    raw.commit()


def _update_subscriptions(raw: Raw, rows: list[tuple[Any, ...]], *, use_copy: bool) -> None:
    mark = "%s" if raw.postgres else "?"
    if use_copy:
        every = (*_RENEWED, *_KEY)
        arrays = ", ".join(f"%s::{kind}[]" for _, kind in every)
        names = ", ".join(f"v_{name}" for name, _ in every)
        setting = ", ".join(f"{name} = v_{name}" for name, _ in _RENEWED)
        statement = (
            f"UPDATE subscriptions SET {setting}, version = version + 1 "
            f"FROM unnest({arrays}) AS v({names}) "
            "WHERE account_id = v_account_id AND id = v_id AND version = v_version"
        )
        updated = raw.con.execute(statement, [list(column) for column in zip(*rows, strict=True)])
    else:
        setting = ", ".join(f"{name} = {mark}" for name, _ in _RENEWED)
        statement = (
            f"UPDATE subscriptions SET {setting}, version = version + 1 "
            f"WHERE account_id = {mark} AND id = {mark} AND version = {mark}"
        )
        updated = _executemany(raw, statement, rows)
    if updated.rowcount != len(rows):
        raise SystemExit(f"billing baseline: updated {updated.rowcount} of {len(rows)}")


def _update_counters(raw: Raw, rows: list[tuple[int, str]], *, use_copy: bool) -> None:
    if use_copy:
        raw.con.execute(
            "UPDATE accounts SET invoice_counter = invoice_counter + v_count "
            "FROM unnest(%s::integer[], %s::text[]) AS v(v_count, v_id) WHERE id = v_id",
            [[count for count, _ in rows], [account_id for _, account_id in rows]],
        )
        return
    mark = "%s" if raw.postgres else "?"
    _executemany(
        raw,
        f"UPDATE accounts SET invoice_counter = invoice_counter + {mark} WHERE id = {mark}",
        rows,
    )


def _executemany(raw: Raw, statement: str, rows: list[Any]) -> Any:
    if raw.postgres:
        cur = raw.con.cursor()
        cur.executemany(statement, rows)
        return cur
    return raw.con.executemany(statement, rows)


def _copy(raw: Raw, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    with raw.con.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _marks(columns: str, raw: Raw) -> str:
    marks = ", ".join(("%s" if raw.postgres else "?") for _ in columns.split(","))
    return f"({marks})"
