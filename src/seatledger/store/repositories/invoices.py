"""Invoices with their lines, and the pending lines that wait for the next invoice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, insert, select, update

from seatledger.domain.errors import Conflict, InvalidInput, NotFound
from seatledger.domain.invoices import InvoiceLine, lines_total
from seatledger.domain.periods import Period
from seatledger.service.ports import Invoice, InvoiceKind, InvoiceStatus, PendingLine, new_id
from seatledger.store.driver_statements import fetch_rows
from seatledger.store.repositories._common import (
    Repository,
    execute_unique,
    line_from_row,
    line_values,
)
from seatledger.store.tables import accounts, invoice_lines, invoices, pending_lines


def _same_currency(lines: Sequence[InvoiceLine], currency: str) -> None:
    for line in lines:
        for money in (line.amount, line.unit_amount):
            if money.currency != currency:
                raise InvalidInput(
                    "currency",
                    f"a {currency} invoice cannot hold a {money.currency} line ({line.description})",
                )


class SqlInvoices(Repository):
    def add(
        self,
        account_id: str,
        subscription_id: str,
        *,
        kind: InvoiceKind,
        status: InvoiceStatus,
        reason: str,
        period: Period,
        currency: str,
        lines: Sequence[InvoiceLine],
        issued_at: datetime | None,
        at: datetime,
        renewal_of: datetime | None = None,
    ) -> Invoice:
        _same_currency(lines, currency)
        if renewal_of is not None and renewal_of != period.start:
            raise InvalidInput("renewal_of", "must be the start of the invoice's period")
        invoice = Invoice(
            account_id=account_id,
            id=new_id("inv"),
            subscription_id=subscription_id,
            number=0,
            kind=kind,
            status=status,
            reason=reason,
            period=period,
            currency=currency,
            lines=tuple(lines),
            issued_at=issued_at,
            created_at=at,
            renewal_of=renewal_of,
        )

        def write() -> int:
            # The counter row stays locked until commit: an account's invoices are numbered one
            # transaction at a time, and a rollback (or the conflict below) returns the number.
            number = self._conn.execute(
                update(accounts)
                .where(accounts.c.id == account_id)
                .values(invoice_counter=accounts.c.invoice_counter + 1)
                .returning(accounts.c.invoice_counter)
            ).scalar_one_or_none()
            if number is None:
                raise NotFound(kind="account", key=account_id)
            self._conn.execute(insert(invoices).values(**invoice_row(invoice, number)))
            if invoice.lines:
                self._conn.execute(
                    insert(invoice_lines),
                    [
                        {
                            "account_id": account_id,
                            "invoice_id": invoice.id,
                            "position": position,
                            **line_values(line),
                        }
                        for position, line in enumerate(invoice.lines, start=1)
                    ],
                )
            return int(number)

        number = execute_unique(
            self._conn,
            write,
            lambda: (
                f"The {kind.value} renewing subscription {subscription_id!r} for the period "
                f"starting {period.start.isoformat()} was issued already."
            ),
        )
        return replace(invoice, number=number)

    def get(self, account_id: str, invoice_id: str) -> Invoice:
        found = self._select(invoices.c.account_id == account_id, invoices.c.id == invoice_id)
        if not found:
            raise NotFound(kind="invoice", key=invoice_id)
        return found[0]

    def find_renewal(
        self, account_id: str, subscription_id: str, period_start: datetime, kind: InvoiceKind
    ) -> Invoice | None:
        found = self._select(
            invoices.c.account_id == account_id,
            invoices.c.subscription_id == subscription_id,
            invoices.c.kind == kind.value,
            invoices.c.renewal_of == period_start,
        )
        return found[0] if found else None

    def for_subscription(self, account_id: str, subscription_id: str) -> tuple[Invoice, ...]:
        return self._select(
            invoices.c.account_id == account_id, invoices.c.subscription_id == subscription_id
        )

    def for_account(self, account_id: str) -> tuple[Invoice, ...]:
        return self._select(invoices.c.account_id == account_id)

    def by_number(self, number: int, *, account_id: str | None = None) -> tuple[Invoice, ...]:
        where = [invoices.c.number == number]
        if account_id is not None:
            where.append(invoices.c.account_id == account_id)
        heads = self._conn.execute(
            select(invoices.c.account_id, invoices.c.id)
            .where(*where)
            .order_by(invoices.c.account_id)
        ).all()
        return tuple(self.get(h.account_id, h.id) for h in heads)

    def set_status(self, account_id: str, invoice_id: str, status: InvoiceStatus) -> Invoice:
        result = self._conn.execute(
            update(invoices)
            .where(invoices.c.account_id == account_id, invoices.c.id == invoice_id)
            .values(status=status.value)
        )
        if result.rowcount != 1:
            raise NotFound(kind="invoice", key=invoice_id)
        return self.get(account_id, invoice_id)

    def _select(self, *where: ColumnElement[bool]) -> tuple[Invoice, ...]:
        heads = self._conn.execute(select(invoices).where(*where).order_by(invoices.c.number)).all()
        if not heads:
            return ()
        ids = [h.id for h in heads]
        line_rows = self._conn.execute(
            select(invoice_lines)
            .where(
                invoice_lines.c.account_id == heads[0].account_id,
                invoice_lines.c.invoice_id.in_(ids),
            )
            .order_by(invoice_lines.c.invoice_id, invoice_lines.c.position)
        ).all()
        by_invoice: dict[str, list[Any]] = {}
        for row in line_rows:
            by_invoice.setdefault(row.invoice_id, []).append(row)
        return tuple(_invoice(h, by_invoice.get(h.id, [])) for h in heads)


INVOICE_COLUMNS = (
    "account_id",
    "id",
    "subscription_id",
    "number",
    "kind",
    "status",
    "reason",
    "period_start",
    "period_end",
    "currency",
    "total_minor",
    "issued_at",
    "created_at",
    "renewal_of",
)


def invoice_row(invoice: Invoice, number: int) -> dict[str, Any]:
    return dict(zip(INVOICE_COLUMNS, invoice_values(invoice, number), strict=True))


def invoice_values(invoice: Invoice, number: int) -> tuple[Any, ...]:
    """The invoice's ``INVOICE_COLUMNS``."""
    return (
        invoice.account_id,
        invoice.id,
        invoice.subscription_id,
        number,
        invoice.kind.value,
        invoice.status.value,
        invoice.reason,
        invoice.period.start,
        invoice.period.end,
        invoice.currency,
        lines_total(invoice.lines, invoice.currency).minor_units,
        invoice.issued_at,
        invoice.created_at,
        invoice.renewal_of,
    )


def _invoice(head: Any, lines: list[Any]) -> Invoice:
    return Invoice(
        account_id=head.account_id,
        id=head.id,
        subscription_id=head.subscription_id,
        number=head.number,
        kind=InvoiceKind(head.kind),
        status=InvoiceStatus(head.status),
        reason=head.reason,
        period=Period(head.period_start, head.period_end),
        currency=head.currency,
        lines=tuple(line_from_row(r, head.currency) for r in lines),
        issued_at=head.issued_at,
        created_at=head.created_at,
        renewal_of=head.renewal_of,
    )


def pending_line(row: Any) -> PendingLine:
    """A ``PendingLine`` from a ``pending_lines`` row (every column, by name)."""
    return PendingLine(
        account_id=row.account_id,
        id=row.id,
        subscription_id=row.subscription_id,
        line=line_from_row(row, row.currency),
        created_at=row.created_at,
        invoice_id=row.invoice_id,
    )


# The order the next invoice bills unbilled lines in. Lines parked by one change (members going
# inactive as time caught up) share its instant: their own start orders them, so the invoice
# reads the same however late.
UNBILLED_ORDER = (pending_lines.c.created_at, pending_lines.c.period_start, pending_lines.c.id)
# Built once.
_UNBILLED = (
    select(pending_lines)
    .where(
        pending_lines.c.account_id == bindparam("account_id"),
        pending_lines.c.subscription_id == bindparam("subscription_id"),
        pending_lines.c.invoice_id.is_(None),
    )
    .order_by(*UNBILLED_ORDER)
)


class SqlPendingLines(Repository):
    def add(
        self, account_id: str, subscription_id: str, line: InvoiceLine, *, at: datetime
    ) -> PendingLine:
        _same_currency([line], line.amount.currency)
        pending = PendingLine(
            account_id=account_id,
            id=new_id("pl"),
            subscription_id=subscription_id,
            line=line,
            created_at=at,
        )
        self._conn.execute(
            insert(pending_lines).values(
                account_id=account_id,
                id=pending.id,
                subscription_id=subscription_id,
                currency=line.amount.currency,
                created_at=at,
                **line_values(line),
            )
        )
        return pending

    def unbilled(self, account_id: str, subscription_id: str) -> tuple[PendingLine, ...]:
        rows = fetch_rows(
            self._conn, _UNBILLED, {"account_id": account_id, "subscription_id": subscription_id}
        )
        return tuple(pending_line(r) for r in rows)

    def mark_billed(self, account_id: str, line_ids: Sequence[str], invoice_id: str) -> None:
        if not line_ids:
            return
        result = self._conn.execute(
            update(pending_lines)
            .where(
                pending_lines.c.account_id == account_id,
                pending_lines.c.id.in_(list(line_ids)),
                pending_lines.c.invoice_id.is_(None),
            )
            .values(invoice_id=invoice_id)
        )
        if result.rowcount != len(set(line_ids)):
            raise Conflict(
                "Some pending lines were billed already or do not exist: "
                f"{', '.join(sorted(line_ids))}."
            )
