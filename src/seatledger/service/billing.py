"""Use cases that move billing through time, and reading issued invoices back.

``bring_up_to_date`` issues the renewals and role expiries of one account that fell due; the
billing run (``service/billing_run.py``) does the same for every account, in batches; test clocks
(``service/test_clocks.py``) do it for the subscriptions attached to them as they move.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seatledger.domain.errors import InvalidInput, NotFound
from seatledger.domain.invoices import InvoiceLine, LineKind, lines_total
from seatledger.domain.money import Money
from seatledger.service.billing_engine import advance, next_due
from seatledger.service.context import Services
from seatledger.service.credit_locks import guard_balance
from seatledger.service.gateway import invoice_view, load_state_by_id, save_state
from seatledger.service.ports import Account, SubscriptionStatus
from seatledger.service.results import InvoiceView
from seatledger.service.state import Effects


def bring_up_to_date(
    svc: Services, *, account_id: str, until: datetime | None = None
) -> list[InvoiceView]:
    """Issue, in time order, every renewal and expiry of the account's subscriptions due by
    ``until`` (default: now). Each subscription is locked and written in its own transaction.

    Subscriptions attached to a test clock are left to their clock."""
    until = until or svc.clock.now()
    issued: list[InvoiceView] = []
    with svc.uow() as uow:
        ids = [
            s.id
            for s in uow.subscriptions.for_account(account_id)
            if s.status is SubscriptionStatus.ACTIVE and s.test_clock_id is None
        ]
    for subscription_id in ids:
        with svc.uow() as uow:
            state = load_state_by_id(uow, account_id, subscription_id)
            due = next_due(state)
            if due is None or due > until:
                uow.rollback()
                continue
            guard_balance(uow, state)
            effects = Effects()
            advance(state, effects, until=until)
            issued.extend(save_state(uow, state, effects, at=until))
            uow.commit()
    return sorted(issued, key=lambda invoice: (invoice.issued_at, invoice.number))


@dataclass(frozen=True)
class InvoiceDocument:
    """An issued invoice with what a reader needs around it: who it is for.

    The amounts reconcile by construction: ``subtotal`` (every line but ``credit_applied``) plus
    ``credit`` (the ``credit_applied`` lines, negative when the balance paid part of it) is
    ``invoice.total``, the sum of all lines.
    """

    account: Account
    subscription_id: str
    invoice: InvoiceView

    @property
    def charge_lines(self) -> tuple[InvoiceLine, ...]:
        return tuple(ln for ln in self.invoice.lines if ln.kind is not LineKind.CREDIT_APPLIED)

    @property
    def credit_lines(self) -> tuple[InvoiceLine, ...]:
        return tuple(ln for ln in self.invoice.lines if ln.kind is LineKind.CREDIT_APPLIED)

    @property
    def subtotal(self) -> Money:
        return lines_total(self.charge_lines, self.invoice.currency)

    @property
    def credit(self) -> Money:
        return lines_total(self.credit_lines, self.invoice.currency)


def parse_invoice_number(text: str) -> int:
    """``"000012"`` or ``"12"`` -> 12; anything else is ``InvalidInput`` naming ``number``."""
    cleaned = text.strip().removeprefix("#")
    if not cleaned.isascii() or not cleaned.isdigit() or int(cleaned) < 1:
        raise InvalidInput("number", f"must be an invoice number such as 000012, got {text!r}")
    return int(cleaned)


def find_invoice(svc: Services, *, number: int, account_id: str | None = None) -> InvoiceDocument:
    """Invoice ``number`` of ``account_id``; without an account, the one account that has an
    invoice with that number (numbers are per account: several make it ``InvalidInput`` naming
    ``account``, listing them). None at all is ``NotFound``."""
    with svc.uow() as uow:
        found = uow.invoices.by_number(number, account_id=account_id)
        if not found:
            where = f" of account {account_id}" if account_id is not None else ""
            raise NotFound(kind="invoice", key=f"{number:06d}{where}")
        if len(found) > 1:
            accounts = ", ".join(invoice.account_id for invoice in found)
            raise InvalidInput(
                "account",
                f"must be given: invoice {number:06d} exists in several accounts ({accounts})",
            )
        invoice = found[0]
        account = uow.accounts.get(invoice.account_id)
    return InvoiceDocument(
        account=account, subscription_id=invoice.subscription_id, invoice=invoice_view(invoice)
    )
