"""The billing run's set-based reads and writes (``service/ports/batches.py``).

Reads take one query per table for the whole batch, prebuilt and sent together
(``repositories/batch_reads.py``: the batch's pairs as one JSON parameter); writes take one
statement per table, past the statement layer's per-row work (``store/driver_rows.py``:
``executemany`` on SQLite, ``COPY`` and ``UPDATE ... FROM unnest`` on PostgreSQL).

Log rows are numbered like their repositories number them: the ledger per subscription from its
last ``seq``; the audit log, the outbox and credit entries by their PostgreSQL sequences, or on
SQLite (writers serialized) from each account's last ``seq``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Sequence as DbSequence,
)
from sqlalchemy import (
    Table,
    func,
    select,
)

from seatledger.domain.errors import Conflict
from seatledger.domain.money import Money
from seatledger.domain.seats import Member, MemberStatus, RoleGrant, Roster, RosterKey
from seatledger.service.ports import (
    PendingLine,
    RenewalWrites,
    StoredParts,
    Subscription,
    SubscriptionKey,
)
from seatledger.store.driver_rows import insert_rows, update_rows
from seatledger.store.driver_statements import fetch_rows, fetch_rows_together
from seatledger.store.proration_columns import PRORATION_COLUMNS, proration_values
from seatledger.store.repositories import batch_reads
from seatledger.store.repositories._common import (
    LINE_COLUMNS,
    Repository,
    json_object,
    line_from_row,
    line_tuple,
    unique_as_conflict,
)
from seatledger.store.repositories.invoices import INVOICE_COLUMNS, invoice_values
from seatledger.store.tables import (
    accounts,
    audit_log,
    audit_log_seq,
    credit_entries,
    credit_entries_seq,
    invoice_lines,
    invoices,
    pending_lines,
    seat_ledger,
    subscriptions,
    webhook_outbox,
    webhook_outbox_seq,
)

# A grant for the whole workspace is stored with scope '' (see repositories/rosters.py).
_WHOLE_WORKSPACE = ""


class SqlRenewalBatches(Repository):
    def parts(self, subscriptions: Sequence[Subscription]) -> dict[SubscriptionKey, StoredParts]:
        keys = [(s.account_id, s.id) for s in subscriptions]
        if not keys:
            return {}
        dialect = self._conn.dialect.name
        values = {"pairs": batch_reads.pairs_value(keys)}
        bundle_rows, grant_rows, member_rows, addon_rows, pending_rows = fetch_rows_together(
            self._conn,
            [
                (batch_reads.bundles(dialect), values),
                (batch_reads.grants(dialect), values),
                (batch_reads.members(dialect), values),
                (batch_reads.addon_counts(dialect), values),
                (batch_reads.unbilled(dialect), values),
            ],
        )
        bundles: dict[SubscriptionKey, dict[str, str]] = {key: {} for key in keys}
        for account_id, subscription_id, workspace_id, name in bundle_rows:
            bundles[(account_id, subscription_id)][workspace_id] = name
        rosters = _rosters(keys, grant_rows, member_rows)
        counts: dict[SubscriptionKey, dict[str, int]] = {key: {} for key in keys}
        for account_id, subscription_id, name, count in addon_rows:
            counts[(account_id, subscription_id)][name] = count
        pending: dict[SubscriptionKey, list[PendingLine]] = {}
        for row in pending_rows:
            pending.setdefault((row.account_id, row.subscription_id), []).append(
                PendingLine(
                    account_id=row.account_id,
                    id=row.id,
                    subscription_id=row.subscription_id,
                    line=line_from_row(row, row.currency),
                    created_at=row.created_at,
                )
            )
        return {
            key: StoredParts(
                workspace_names=bundles[key],
                roster=rosters[key],
                addons=counts[key],
                pending=tuple(pending.get(key, ())),
            )
            for key in keys
        }

    def balances(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Money]:
        wanted = sorted(set(keys))
        found = {key: Money.zero(key[1]) for key in wanted}
        if not wanted:
            return found
        # Locked first, in account order: a balance is read under its account's lock, so two
        # runs (or a run and a seat change) never spend the same credit, and a run's accounts
        # are all locked before any of them is read, in the order every run takes them.
        self._lock_accounts(sorted({account_id for account_id, _ in wanted}))
        rows = fetch_rows(
            self._conn,
            batch_reads.credit_totals(self._conn.dialect.name),
            {"pairs": batch_reads.pairs_value(wanted)},
        )
        for account_id, currency, total in rows:
            found[(account_id, currency)] = Money.from_minor(int(total), currency)
        return found

    def _lock_accounts(self, ids: Sequence[str]) -> None:
        if self._conn.dialect.name == "sqlite":
            return  # its writers take turns (BEGIN IMMEDIATE): the transaction is alone already
        self._locked_accounts(ids)

    def _locked_accounts(self, ids: Sequence[str]) -> dict[str, int]:
        # Prebuilt: built per call through Core, the statement left reference cycles (on
        # PostgreSQL its array parameter and that parameter's comparator refer to each other),
        # garbage only the cyclic collector frees, which a billing run asks for seldom.
        rows = fetch_rows(
            self._conn,
            batch_reads.locked_accounts(self._conn.dialect.name),
            {"keys": batch_reads.keys_value(ids)},
        )
        return {account_id: int(counter) for account_id, counter in rows}

    def number_invoices(self, counts: Mapping[str, int]) -> dict[str, int]:
        ids = sorted(account_id for account_id, n in counts.items() if n > 0)
        if not ids:
            return {}
        # Locked in id order first (``balances`` locked them already; this takes the counters):
        # one multi-row UPDATE would lock in whatever order the plan visits the rows, and two
        # runs sharing accounts could then deadlock. FOR NO KEY UPDATE, as an UPDATE of the
        # counter takes: rows referring to the account stay free to be written meanwhile.
        current = self._locked_accounts(ids)
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
        # No savepoint: the port's contract is that a refused batch is rolled back whole.
        unique_as_conflict(
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
        found = fetch_rows(
            self._conn,
            batch_reads.last_ledger_seqs(self._conn.dialect.name),
            {"pairs": batch_reads.pairs_value(keys)},
        )
        last = {(first, second): int(seq) for first, second, seq in found}
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
        insert_rows(self._conn, seat_ledger, _LEDGER_COLUMNS, rows)

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
            found = fetch_rows(
                conn,
                batch_reads.last_account_seqs(conn.dialect.name, table),
                {"keys": batch_reads.keys_value(sorted({row[0] for row in rows}))},
            )
            last = {account_id: int(seq) for account_id, seq in found}
            numbered = []
            for row in rows:
                last[row[0]] += 1
                numbered.append((row[0], last[row[0]], *row[1:]))
        insert_rows(conn, table, ("account_id", "seq", *columns), numbered)


def _rosters(
    keys: Sequence[SubscriptionKey], grant_rows: Sequence[Any], member_rows: Sequence[Any]
) -> dict[SubscriptionKey, Roster]:
    """Each subscription's roster from the batch's grant and membership rows (by subscription,
    then workspace id and person), its members in the store's order (workspace id, e-mail)."""
    held: dict[tuple[str, str, str], set[RoleGrant]] = {}  # (account, workspace, person)
    for account_id, _, workspace_id, person_id, role, scope, expires_at in grant_rows:
        held.setdefault((account_id, workspace_id, person_id), set()).add(
            RoleGrant(
                role=role,
                scope=None if scope == _WHOLE_WORKSPACE else scope,
                expires_at=expires_at,
            )
        )
    found: dict[SubscriptionKey, list[tuple[RosterKey, Member]]] = {key: [] for key in keys}
    for account_id, subscription_id, workspace_id, person_id, status, email in member_rows:
        # An erased person has no memberships (erase refuses), so the e-mail is there.
        email = email if email is not None else f"erased-{person_id}"
        member = Member(
            email=email,
            workspace=workspace_id,
            status=MemberStatus(status),
            grants=frozenset(held.get((account_id, workspace_id, person_id), ())),
        )
        found[(account_id, subscription_id)].append(((workspace_id, email), member))
    return {
        key: Roster(
            (listed[0][1],)
            if len(listed) == 1  # most subscriptions a run renews: nothing to sort
            else tuple(member for _, member in sorted(listed, key=itemgetter(0)))
        )
        for key, listed in found.items()
    }


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
