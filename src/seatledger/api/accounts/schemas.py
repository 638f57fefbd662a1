"""Accounts: sign-up, the account itself, its credit balance and its audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from seatledger.api import limits
from seatledger.api.api_keys.schemas import ApiKeyRead
from seatledger.api.schemas import Amount, Currency, InvoiceRead, amount
from seatledger.service.ports import Account, AuditRecord, CreditEntry


class AccountCreate(BaseModel):
    name: str = Field(min_length=1, max_length=limits.NAME, examples=["Acme"])
    owner_email: str = Field(
        min_length=3,
        max_length=limits.EMAIL,
        description="The person opening the account; the first API key acts as them.",
        examples=["ana@acme.test"],
    )


class AccountRead(BaseModel):
    id: str
    name: str
    created_at: datetime

    @classmethod
    def of(cls, account: Account) -> AccountRead:
        return cls(id=account.id, name=account.name, created_at=account.created_at)


class AccountCreated(BaseModel):
    """The new account and its first API key. ``token`` is the key itself, shown this once
    (null when a retried request is answered again)."""

    account: AccountRead
    person_id: str
    api_key: ApiKeyRead
    token: str | None


class BalanceRead(BaseModel):
    currency: Currency
    amount: Amount


class CreditBalanceRead(BaseModel):
    """Credit carried to the next invoices, per currency the account bills in."""

    balances: list[BalanceRead]


class CreditEntryRead(BaseModel):
    """A movement of the credit balance: positive grants credit, negative uses it."""

    seq: int
    at: datetime
    currency: Currency
    amount: Amount
    reason: str
    invoice_id: str | None

    @classmethod
    def of(cls, entry: CreditEntry) -> CreditEntryRead:
        return cls(
            seq=entry.seq,
            at=entry.at,
            currency=entry.amount.currency,
            amount=amount(entry.amount),
            reason=entry.reason,
            invoice_id=entry.invoice_id,
        )


class AuditEntryRead(BaseModel):
    """Who (a person id) did what to what, with the state before and after."""

    seq: int
    at: datetime
    actor: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @classmethod
    def of(cls, record: AuditRecord) -> AuditEntryRead:
        return cls(
            seq=record.seq,
            at=record.at,
            actor=record.actor,
            action=record.action,
            target=record.target,
            before=record.before,
            after=record.after,
        )


class BillingRunRead(BaseModel):
    """The renewals and expiries that had fallen due, issued now, in time order."""

    invoices: list[InvoiceRead]
