"""The billing run's set-based reads and writes (``service/ports/batches.py``).

Reads take one query per table for the whole batch (``(account_id, subscription_id) IN (...)``,
the pairs passed as one parameter); writes take one statement per table, past the statement
layer's per-row work (``store/driver_rows.py``: ``executemany`` on SQLite, ``COPY`` and
``UPDATE ... FROM unnest`` on PostgreSQL).

Log rows are numbered like their repositories number them: the ledger per subscription from its
last ``seq``; the audit log, the outbox and credit entries by their PostgreSQL sequences, or on
SQLite (writers serialized) from each account's last ``seq``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    Subquery,
    Table,
    func,
    literal,
    select,
    tuple_,
)
from sqlalchemy import (
    Sequence as DbSequence,
)
from sqlalchemy.dialects import postgresql

from seatledger.domain.errors import Conflict
from seatledger.domain.money import Money
from seatledger.domain.seats import Member, MemberStatus, RoleGrant, Roster
from seatledger.service.ports import (
    PendingLine,
    RenewalWrites,
    StoredParts,
    Subscription,
    SubscriptionKey,
)
from seatledger.store.driver_rows import insert_rows, update_rows
from seatledger.store.proration_columns import PRORATION_COLUMNS, proration_values
from seatledger.store.repositories._common import (
    LINE_COLUMNS,
    Repository,
    execute_unique,
    ids_in,
    json_object,
    line_from_row,
    line_tuple,
)
from seatledger.store.repositories.invoices import INVOICE_COLUMNS, invoice_values
from seatledger.store.tables import (
    accounts,
    addons,
    audit_log,
    audit_log_seq,
    credit_entries,
    credit_entries_seq,
    invoice_lines,
    invoices,
    memberships,
    pending_lines,
    persons,
    role_assignments,
    seat_ledger,
    subscription_workspaces,
    subscriptions,
    webhook_outbox,
    webhook_outbox_seq,
    workspaces,
)

# A grant for the whole workspace is stored with scope '' (see repositories/rosters.py).
_WHOLE_WORKSPACE = ""


class SqlRenewalBatches(Repository):
    def _pairs(self, keys: Sequence[tuple[str, str]]) -> Subquery:
        """The pairs ``keys`` as rows (columns ``first`` and ``second``), from one parameter. On
        SQLite they go as a JSON array of pairs read by ``json_each`` (rendering hundreds of
        parameters into the statement cost more than running it); on PostgreSQL as two arrays,
        zipped by ``unnest``."""
        if self._conn.dialect.name != "postgresql":
            pairs = func.json_each(literal(json.dumps(keys))).table_valued("value")
            return select(
                func.json_extract(pairs.c.value, "$[0]").label("first"),
                func.json_extract(pairs.c.value, "$[1]").label("second"),
            ).subquery("pairs")
        firsts = literal([a for a, _ in keys], type_=postgresql.ARRAY(String))
        seconds = literal([b for _, b in keys], type_=postgresql.ARRAY(String))
        return select(
            func.unnest(firsts).label("first"), func.unnest(seconds).label("second")
        ).subquery("pairs")

    def _pairs_in(
        self, first: ColumnElement[str], second: ColumnElement[str], keys: Sequence[tuple[str, str]]
    ) -> ColumnElement[bool]:
        """``(first, second) IN keys``. A list of a batch's pairs made statements PostgreSQL
        planned as scans testing each row against every pair (40 ms a read for 200
        subscriptions), where the pairs' rows are looked up one by one in the key's index."""
        pairs = self._pairs(keys)
        return tuple_(first, second).in_(select(pairs.c.first, pairs.c.second))

    def parts(self, subscriptions: Sequence[Subscription]) -> dict[SubscriptionKey, StoredParts]:
        keys = [(s.account_id, s.id) for s in subscriptions]
        if not keys:
            return {}
        sw, w = subscription_workspaces, workspaces
        bundles: dict[SubscriptionKey, dict[str, str]] = {key: {} for key in keys}
        workspace_of: dict[tuple[str, str], SubscriptionKey] = {}
        for row in self._conn.execute(
            select(sw.c.account_id, sw.c.subscription_id, w.c.id, w.c.name)
            .join(w, (w.c.account_id == sw.c.account_id) & (w.c.id == sw.c.workspace_id))
            .where(self._pairs_in(sw.c.account_id, sw.c.subscription_id, keys))
        ):
            key = (row.account_id, row.subscription_id)
            bundles[key][row.id] = row.name
            workspace_of[(row.account_id, row.id)] = key
        members = self._members(list(workspace_of))
        rosters: dict[SubscriptionKey, list[Member]] = {key: [] for key in keys}
        for (account_id, workspace_id, _email), member in sorted(members.items()):
            rosters[workspace_of[(account_id, workspace_id)]].append(member)
        counts: dict[SubscriptionKey, dict[str, int]] = {key: {} for key in keys}
        for row in self._conn.execute(
            select(addons.c.account_id, addons.c.subscription_id, addons.c.name, addons.c["count"])
            .where(self._pairs_in(addons.c.account_id, addons.c.subscription_id, keys))
            .order_by(addons.c.name)
        ):
            counts[(row.account_id, row.subscription_id)][row.name] = row[3]
        pending = self._pending(keys)
        return {
            key: StoredParts(
                workspace_names=bundles[key],
                roster=Roster(tuple(rosters[key])),
                addons=counts[key],
                pending=tuple(pending.get(key, ())),
            )
            for key in keys
        }

    def _members(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str, str], Member]:
        """(account, workspace, e-mail) -> member with grants, for (account, workspace) keys."""
        if not keys:
            return {}
        m, p, g = memberships, persons, role_assignments
        grants: dict[tuple[str, str, str], set[RoleGrant]] = {}
        for row in self._conn.execute(
            select(g.c.account_id, g.c.workspace_id, g.c.person_id, g.c.role, g.c.scope)
            .add_columns(g.c.expires_at)
            .where(self._pairs_in(g.c.account_id, g.c.workspace_id, keys))
        ):
            grants.setdefault((row.account_id, row.workspace_id, row.person_id), set()).add(
                RoleGrant(
                    role=row.role,
                    scope=None if row.scope == _WHOLE_WORKSPACE else row.scope,
                    expires_at=row.expires_at,
                )
            )
        members: dict[tuple[str, str, str], Member] = {}
        for row in self._conn.execute(
            select(m.c.account_id, m.c.workspace_id, m.c.person_id, m.c.status, p.c.email)
            .join(p, (p.c.account_id == m.c.account_id) & (p.c.id == m.c.person_id))
            .where(self._pairs_in(m.c.account_id, m.c.workspace_id, keys))
        ):
            # An erased person has no memberships (erase refuses), so the e-mail is there.
            email = row.email if row.email is not None else f"erased-{row.person_id}"
            members[(row.account_id, row.workspace_id, email)] = Member(
                email=email,
                workspace=row.workspace_id,
                status=MemberStatus(row.status),
                grants=frozenset(grants.get((row.account_id, row.workspace_id, row.person_id), ())),
            )
        return members

    def _pending(self, keys: list[SubscriptionKey]) -> dict[SubscriptionKey, list[PendingLine]]:
        found: dict[SubscriptionKey, list[PendingLine]] = {}
        pl = pending_lines
        for row in self._conn.execute(
            select(pl)
            .where(
                self._pairs_in(pl.c.account_id, pl.c.subscription_id, keys),
                pl.c.invoice_id.is_(None),
            )
            .order_by(pl.c.created_at, pl.c.period_start, pl.c.id)  # as pending_lines.unbilled
        ):
            found.setdefault((row.account_id, row.subscription_id), []).append(
                PendingLine(
                    account_id=row.account_id,
                    id=row.id,
                    subscription_id=row.subscription_id,
                    line=line_from_row(row, row.currency),
                    created_at=row.created_at,
                )
            )
        return found

    def balances(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Money]:
        wanted = sorted(set(keys))
        found = {key: Money.zero(key[1]) for key in wanted}
        if not wanted:
            return found
        # Locked first, in account order: a balance is read under its account's lock, so two
        # runs (or a run and a seat change) never spend the same credit, and a run's accounts
        # are all locked before any of them is read, in the order every run takes them.
        self._lock_accounts(sorted({account_id for account_id, _ in wanted}))
        ce = credit_entries
        for row in self._conn.execute(
            select(ce.c.account_id, ce.c.currency, func.sum(ce.c.amount_minor).label("total"))
            .where(self._pairs_in(ce.c.account_id, ce.c.currency, wanted))
            .group_by(ce.c.account_id, ce.c.currency)
        ):
            found[(row.account_id, row.currency)] = Money.from_minor(int(row.total), row.currency)
        return found

    def _lock_accounts(self, ids: Sequence[str]) -> None:
        if self._conn.dialect.name == "sqlite":
            return  # its writers take turns (BEGIN IMMEDIATE): the transaction is alone already
        self._conn.execute(
            select(accounts.c.id)
            .where(ids_in(self._conn, accounts.c.id, ids))
            .order_by(accounts.c.id)
            .with_for_update(key_share=True)
        ).all()

    def number_invoices(self, counts: Mapping[str, int]) -> dict[str, int]:
        ids = sorted(account_id for account_id, n in counts.items() if n > 0)
        if not ids:
            return {}
        # Locked in id order first (``balances`` locked them already; this takes the counters):
        # one multi-row UPDATE would lock in whatever order the plan visits the rows, and two
        # runs sharing accounts could then deadlock. FOR NO KEY UPDATE, as an UPDATE of the
        # counter takes: rows referring to the account stay free to be written meanwhile.
        current = dict(
            self._conn.execute(
                select(accounts.c.id, accounts.c.invoice_counter)
                .where(ids_in(self._conn, accounts.c.id, ids))
                .order_by(accounts.c.id)
                .with_for_update(key_share=True)
            ).all()
        )
        missing = set(ids) - current.keys()
        if missing:
            raise Conflict(f"Accounts {', '.join(sorted(missing))} do not exist.")
        update_rows(
            self._conn,
            accounts,
            ("invoice_counter",),
            ("id",),
            [(current[i] + counts[i], i) for i in ids],
        )
        return {i: int(current[i]) + 1 for i in ids}

    def write(self, writes: RenewalWrites) -> None:
        execute_unique(
            self._conn,
            lambda: self._write(writes),
            lambda: (
                "A renewal invoice of this batch was issued already (or a subscription changed "
                "meanwhile): bill its subscriptions one at a time."
            ),
        )

    def _write(self, writes: RenewalWrites) -> None:
        conn = self._conn
        updated = update_rows(
            conn,
            subscriptions,
            _RENEWED_COLUMNS,
            ("account_id", "id", "version"),
            [_renewed(s) for s in writes.subscriptions],
            also_set="version = version + 1",
        )
        if updated not in (-1, len(writes.subscriptions)):
            raise Conflict("A subscription of this batch was changed meanwhile.")
        insert_rows(
            conn,
            invoices,
            INVOICE_COLUMNS,
            [invoice_values(i, i.number) for i in writes.invoices],
        )
        insert_rows(
            conn,
            invoice_lines,
            ("account_id", "invoice_id", "position", *LINE_COLUMNS),
            [
                (i.account_id, i.id, n, *line_tuple(ln))
                for i in writes.invoices
                for n, ln in enumerate(i.lines, start=1)
            ],
        )
        update_rows(
            conn,
            pending_lines,
            ("invoice_id",),
            ("account_id", "id"),
            [(invoice_id, a, line_id) for a, line_id, invoice_id in writes.billed_pending],
            also_where="invoice_id IS NULL",
        )
        self._insert_ledger(writes)
        self._insert_numbered(
            credit_entries,
            credit_entries_seq,
            ("at", "amount_minor", "currency", "reason", "invoice_id"),
            [
                (
                    c.account_id,
                    c.at,
                    c.amount.minor_units,
                    c.amount.currency,
                    c.reason,
                    c.invoice_id,
                )
                for c in writes.credits
            ],
        )
        self._insert_numbered(
            audit_log,
            audit_log_seq,
            ("at", "actor", "action", "target", "before", "after"),
            [
                (a.account_id, a.at, a.actor, a.action, a.target, a.before, a.after)
                for a in writes.audit
            ],
        )
        self._insert_numbered(
            webhook_outbox,
            webhook_outbox_seq,
            ("event_type", "payload", "created_at", "attempts"),
            [(e.account_id, e.event_type, dict(e.payload), e.created_at, 0) for e in writes.outbox],
        )

    def _insert_ledger(self, writes: RenewalWrites) -> None:
        if not writes.ledger:
            return
        keys = sorted({(e.account_id, e.subscription_id) for e in writes.ledger})
        sl, pairs = seat_ledger, self._pairs(keys)
        # One max per subscription, correlated: each is a descent of the primary key's index
        # whatever the statistics say. Grouped over ``IN`` pairs, PostgreSQL planned a scan of
        # the whole ledger, which grows with every renewal (9 ms a batch at 40,000 rows, and
        # on).
        last_seq = (
            select(func.coalesce(func.max(sl.c.seq), 0))
            .where(sl.c.account_id == pairs.c.first, sl.c.subscription_id == pairs.c.second)
            .scalar_subquery()
        )
        last: dict[tuple[str, str], int] = {
            (row[0], row[1]): int(row[2])
            for row in self._conn.execute(select(pairs.c.first, pairs.c.second, last_seq))
        }
        rows = []
        for entry in writes.ledger:
            key = (entry.account_id, entry.subscription_id)
            last[key] += 1
            rows.append(
                (
                    entry.account_id,
                    entry.subscription_id,
                    last[key],
                    entry.at,
                    entry.kind,
                    entry.seats_total,
                    entry.seats_used,
                    entry.seats_at_renewal,
                    entry.seats_paid,
                    entry.person_id,
                    json_object(entry.detail),
                )
            )
        insert_rows(self._conn, sl, _LEDGER_COLUMNS, rows)

    def _insert_numbered(
        self,
        table: Table,
        sequence: DbSequence,
        columns: tuple[str, ...],
        rows: list[tuple[Any, ...]],
    ) -> None:
        """Insert log rows (``account_id``, then ``columns``) with the next ``seq`` of their account
        (see ``next_seq``): drawn from the PostgreSQL sequence in one statement, or on SQLite
        (writers serialized) counted on from each account's last ``seq``."""
        if not rows:
            return
        conn = self._conn
        if conn.dialect.supports_sequences:
            numbers = conn.execute(
                select(sequence.next_value()).select_from(func.generate_series(1, len(rows)))
            ).scalars()
            # In row order: the log's order within an account is the order of its numbers.
            numbered = [
                (row[0], seq, *row[1:]) for row, seq in zip(rows, sorted(numbers), strict=True)
            ]
        else:
            account_ids = sorted({row[0] for row in rows})
            last = {a: 0 for a in account_ids}
            for account_id, seq in conn.execute(
                select(table.c.account_id, func.max(table.c.seq))
                .where(ids_in(self._conn, table.c.account_id, account_ids))
                .group_by(table.c.account_id)
            ):
                last[account_id] = int(seq)
            numbered = []
            for row in rows:
                last[row[0]] += 1
                numbered.append((row[0], last[row[0]], *row[1:]))
        insert_rows(conn, table, ("account_id", "seq", *columns), numbered)


_LEDGER_COLUMNS = (
    "account_id",
    "subscription_id",
    "seq",
    "at",
    "kind",
    "seats_total",
    "seats_used",
    "seats_at_renewal",
    "seats_paid",
    "person_id",
    "detail",
)

# What a renewal moves: the period and the seat counts, or it ends the subscription; the policy,
# the anchor and the bundle stay as they are.
_RENEWED_COLUMNS = (
    "status",
    "period_start",
    "period_end",
    "seats_total",
    "seats_at_renewal",
    "seats_paid",
    "canceled_at",
    *PRORATION_COLUMNS,
)


def _renewed(sub: Subscription) -> tuple[Any, ...]:
    """``_RENEWED_COLUMNS`` of ``sub``, then its key and the version it was read at."""
    return (
        sub.status.value,
        sub.period.start,
        sub.period.end,
        sub.seats_total,
        sub.seats_at_renewal,
        sub.seats_paid,
        sub.canceled_at,
        # What the new period invoiced for seats, and its next monthly billing instant.
        *proration_values(sub).values(),
        sub.account_id,
        sub.id,
        sub.version,
    )
