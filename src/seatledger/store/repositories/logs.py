"""The append-only records: seat ledger, audit log, credit entries; the outbox; idempotency keys.

The ledger, the audit log and credit entries offer ``append``/``add`` and reads only: history is
never rewritten (the database refuses ``UPDATE``/``DELETE`` on them as well).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Sequence as Many
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Sequence, Table, bindparam, func, insert, select, update

from seatledger.domain.errors import NotFound
from seatledger.domain.money import Money
from seatledger.service.ports import (
    AuditRecord,
    CreditEntry,
    IdempotencyRecord,
    LedgerRecord,
    OutboxEvent,
)
from seatledger.store.driver_statements import execute_each, fetch_rows
from seatledger.store.repositories._common import (
    Repository,
    insert_unique,
    json_object,
    next_seq,
    next_seq_of,
)
from seatledger.store.tables import (
    accounts,
    audit_log,
    audit_log_seq,
    credit_entries,
    credit_entries_seq,
    idempotency_keys,
    seat_ledger,
    webhook_outbox,
    webhook_outbox_seq,
)

# Built once: the hot path only binds values (building a statement costs more than running it).
# The values are the parameters' keys; ``k_*`` parameters are the keys of the row's sequence.

# Dense per subscription: the caller holds the subscription's lock, so last + 1 is ours.
_LEDGER_INSERT = insert(seat_ledger).values(
    seq=select(func.coalesce(func.max(seat_ledger.c.seq), 0) + 1)
    .where(
        seat_ledger.c.account_id == bindparam("k_account"),
        seat_ledger.c.subscription_id == bindparam("k_subscription"),
    )
    .scalar_subquery()
)
_LEDGER_APPEND = _LEDGER_INSERT.returning(seat_ledger)


def _inserts(table: Table, sequence: Sequence) -> dict[bool, Insert]:
    """The INSERT of a per-account log row, by whether the database has sequences (``next_seq``)."""
    return {
        supports: insert(table).values(seq=seq)
        for supports, seq in (
            (True, sequence.next_value()),
            (False, next_seq_of(table, bindparam("k_account"))),
        )
    }


_AUDIT_INSERT = _inserts(audit_log, audit_log_seq)
_AUDIT_APPEND = {k: v.returning(audit_log) for k, v in _AUDIT_INSERT.items()}
_OUTBOX_INSERT = _inserts(webhook_outbox, webhook_outbox_seq)
_OUTBOX_APPEND = {k: v.returning(webhook_outbox) for k, v in _OUTBOX_INSERT.items()}
_BALANCE = select(func.coalesce(func.sum(credit_entries.c.amount_minor), 0)).where(
    credit_entries.c.account_id == bindparam("account_id"),
    credit_entries.c.currency == bindparam("currency"),
)
_ACCOUNT_LOCK = (
    select(accounts.c.id)
    .where(accounts.c.id == bindparam("account_id"))
    .with_for_update(key_share=True)
)
# An account's balance in each currency it has entries in (``balances_of`` maps the rows).
BALANCES = (
    select(credit_entries.c.currency, func.sum(credit_entries.c.amount_minor).label("total"))
    .where(credit_entries.c.account_id == bindparam("account_id"))
    .group_by(credit_entries.c.currency)
)


def balances_of(rows: Iterable[Any]) -> dict[str, Money]:
    """Currency -> balance from the rows of ``BALANCES``."""
    return {row.currency: Money.from_minor(int(row.total), row.currency) for row in rows}


def _ledger_values(record: LedgerRecord) -> dict[str, Any]:
    return {
        "k_account": record.account_id,
        "k_subscription": record.subscription_id,
        "account_id": record.account_id,
        "subscription_id": record.subscription_id,
        "at": record.at,
        "kind": record.kind,
        "seats_total": record.seats_total,
        "seats_used": record.seats_used,
        "seats_at_renewal": record.seats_at_renewal,
        "seats_paid": record.seats_paid,
        "person_id": record.person_id,
        "detail": json_object(record.detail),
    }


def _audit_values(record: AuditRecord) -> dict[str, Any]:
    return {
        "k_account": record.account_id,
        "account_id": record.account_id,
        "at": record.at,
        "actor": record.actor,
        "action": record.action,
        "target": record.target,
        "before": record.before,
        "after": record.after,
    }


def _event_values(event: OutboxEvent) -> dict[str, Any]:
    return {
        "k_account": event.account_id,
        "account_id": event.account_id,
        "event_type": event.event_type,
        "payload": event.payload,
        "created_at": event.created_at,
        "attempts": event.attempts,
    }


class SqlChangeRecords(Repository):
    """A change's ledger, audit and outbox rows, written together (``execute_each``)."""

    def write(
        self,
        *,
        ledger: Many[LedgerRecord] = (),
        audit: Many[AuditRecord] = (),
        outbox: Many[OutboxEvent] = (),
    ) -> None:
        sequences = self._conn.dialect.supports_sequences
        execute_each(
            self._conn,
            [
                (_LEDGER_INSERT, [_ledger_values(r) for r in ledger]),
                (_AUDIT_INSERT[sequences], [_audit_values(r) for r in audit]),
                (_OUTBOX_INSERT[sequences], [_event_values(e) for e in outbox]),
            ],
        )


class SqlLedger(Repository):
    def append(
        self,
        account_id: str,
        subscription_id: str,
        *,
        at: datetime,
        kind: str,
        seats_total: int,
        seats_used: int,
        seats_at_renewal: int,
        seats_paid: int,
        person_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> LedgerRecord:
        record = LedgerRecord(
            account_id,
            subscription_id,
            0,
            at=at,
            kind=kind,
            seats_total=seats_total,
            seats_used=seats_used,
            seats_at_renewal=seats_at_renewal,
            seats_paid=seats_paid,
            person_id=person_id,
            detail=json_object(detail),
        )
        row = self._conn.execute(_LEDGER_APPEND, _ledger_values(record)).one()
        return _ledger(row)

    def entries(self, account_id: str, subscription_id: str) -> tuple[LedgerRecord, ...]:
        rows = self._conn.execute(
            select(seat_ledger)
            .where(
                seat_ledger.c.account_id == account_id,
                seat_ledger.c.subscription_id == subscription_id,
            )
            .order_by(seat_ledger.c.seq)
        )
        return tuple(_ledger(r) for r in rows)


def _ledger(row: Any) -> LedgerRecord:
    return LedgerRecord(
        account_id=row.account_id,
        subscription_id=row.subscription_id,
        seq=row.seq,
        at=row.at,
        kind=row.kind,
        seats_total=row.seats_total,
        seats_used=row.seats_used,
        seats_at_renewal=row.seats_at_renewal,
        seats_paid=row.seats_paid,
        person_id=row.person_id,
        detail=dict(row.detail),
    )


class SqlAudit(Repository):
    def append(
        self,
        account_id: str,
        *,
        at: datetime,
        actor: str,
        action: str,
        target: str,
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
    ) -> AuditRecord:
        record = AuditRecord(
            account_id,
            0,
            at=at,
            actor=actor,
            action=action,
            target=target,
            before=None if before is None else dict(before),
            after=None if after is None else dict(after),
        )
        append = _AUDIT_APPEND[self._conn.dialect.supports_sequences]
        row = self._conn.execute(append, _audit_values(record)).one()
        return _audit(row)

    def entries(self, account_id: str) -> tuple[AuditRecord, ...]:
        rows = self._conn.execute(
            select(audit_log).where(audit_log.c.account_id == account_id).order_by(audit_log.c.seq)
        )
        return tuple(_audit(r) for r in rows)


def _audit(row: Any) -> AuditRecord:
    return AuditRecord(
        account_id=row.account_id,
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        target=row.target,
        before=None if row.before is None else dict(row.before),
        after=None if row.after is None else dict(row.after),
    )


# Built once; run with one parameter set per event (one round trip on psycopg's pipeline).
_MARK_DELIVERED = (
    update(webhook_outbox)
    .where(
        webhook_outbox.c.account_id == bindparam("k_account"),
        webhook_outbox.c.seq == bindparam("k_seq"),
    )
    .values(delivered_at=bindparam("at"))
)


class SqlOutbox(Repository):
    def append(
        self, account_id: str, *, event_type: str, payload: Mapping[str, Any], at: datetime
    ) -> OutboxEvent:
        event = OutboxEvent(account_id, 0, event_type, dict(payload), created_at=at)
        append = _OUTBOX_APPEND[self._conn.dialect.supports_sequences]
        row = self._conn.execute(append, _event_values(event)).one()
        return _event(row)

    def claim_undelivered(self, *, limit: int) -> tuple[OutboxEvent, ...]:
        rows = self._conn.execute(
            select(webhook_outbox)
            .where(webhook_outbox.c.delivered_at.is_(None))
            .order_by(webhook_outbox.c.created_at, webhook_outbox.c.seq)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return tuple(_event(r) for r in rows)

    def mark_delivered(self, events: Many[tuple[str, int]], *, at: datetime) -> None:
        if not events:
            return
        result = self._conn.execute(
            _MARK_DELIVERED, [{"k_account": a, "k_seq": seq, "at": at} for a, seq in events]
        )
        if result.rowcount != len(events):
            missing = ", ".join(f"{a}/{seq}" for a, seq in events)
            raise NotFound(kind="outbox event", key=f"one of {missing}")

    def mark_failed(self, account_id: str, seq: int) -> None:
        self._update(account_id, seq, attempts=webhook_outbox.c.attempts + 1)

    def for_account(self, account_id: str) -> tuple[OutboxEvent, ...]:
        rows = self._conn.execute(
            select(webhook_outbox)
            .where(webhook_outbox.c.account_id == account_id)
            .order_by(webhook_outbox.c.seq)
        )
        return tuple(_event(r) for r in rows)

    def _update(self, account_id: str, seq: int, **values: Any) -> None:
        result = self._conn.execute(
            update(webhook_outbox)
            .where(webhook_outbox.c.account_id == account_id, webhook_outbox.c.seq == seq)
            .values(**values)
        )
        if result.rowcount != 1:
            raise NotFound(kind="outbox event", key=f"{account_id}/{seq}")


def _event(row: Any) -> OutboxEvent:
    return OutboxEvent(
        account_id=row.account_id,
        seq=row.seq,
        event_type=row.event_type,
        payload=dict(row.payload),
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        attempts=row.attempts,
    )


class SqlCredits(Repository):
    def add(
        self,
        account_id: str,
        *,
        amount: Money,
        reason: str,
        at: datetime,
        invoice_id: str | None = None,
    ) -> CreditEntry:
        row = self._conn.execute(
            insert(credit_entries)
            .values(
                account_id=account_id,
                seq=next_seq(self._conn, credit_entries, credit_entries_seq, account_id),
                at=at,
                amount_minor=amount.minor_units,
                currency=amount.currency,
                reason=reason,
                invoice_id=invoice_id,
            )
            .returning(credit_entries)
        ).one()
        return _credit(row)

    def balance(self, account_id: str, currency: str) -> Money:
        ((total,),) = fetch_rows(
            self._conn, _BALANCE, {"account_id": account_id, "currency": currency}
        )
        return Money.from_minor(int(total), currency)

    def spendable_balance(self, account_id: str, currency: str) -> Money:
        # FOR NO KEY UPDATE, as the invoice counter's own update takes: it leaves the rows that
        # refer to the account (every table's foreign key) free to be written meanwhile.
        self._conn.execute(_ACCOUNT_LOCK, {"account_id": account_id})
        return self.balance(account_id, currency)

    def entries(self, account_id: str) -> tuple[CreditEntry, ...]:
        rows = self._conn.execute(
            select(credit_entries)
            .where(credit_entries.c.account_id == account_id)
            .order_by(credit_entries.c.seq)
        )
        return tuple(_credit(r) for r in rows)


def _credit(row: Any) -> CreditEntry:
    return CreditEntry(
        account_id=row.account_id,
        seq=row.seq,
        at=row.at,
        amount=Money.from_minor(row.amount_minor, row.currency),
        reason=row.reason,
        invoice_id=row.invoice_id,
    )


class SqlIdempotency(Repository):
    def get(self, account_id: str, key: str) -> IdempotencyRecord | None:
        row = self._conn.execute(
            select(idempotency_keys).where(
                idempotency_keys.c.account_id == account_id, idempotency_keys.c.key == key
            )
        ).one_or_none()
        if row is None:
            return None
        return IdempotencyRecord(
            account_id=row.account_id,
            key=row.key,
            request_hash=row.request_hash,
            response=dict(row.response),
            created_at=row.created_at,
        )

    def put(self, record: IdempotencyRecord) -> None:
        statement = insert(idempotency_keys).values(
            account_id=record.account_id,
            key=record.key,
            request_hash=record.request_hash,
            response=dict(record.response),
            created_at=record.created_at,
        )
        insert_unique(
            self._conn,
            statement,
            lambda: f"Idempotency key {record.key!r} was used already by another request.",
        )
