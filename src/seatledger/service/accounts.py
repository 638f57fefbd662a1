"""Use cases on accounts: who pays."""

from __future__ import annotations

from seatledger.domain.errors import InvalidInput
from seatledger.domain.money import Money
from seatledger.service.context import Services
from seatledger.service.ports import Account, new_id


def create_account(svc: Services, *, name: str) -> str:
    """Create an account and return its id."""
    if not name.strip():
        raise InvalidInput("name", "must not be empty")
    with svc.uow() as uow:
        account = Account(id=new_id("acc"), name=name.strip(), created_at=svc.clock.now())
        uow.accounts.add(account)
        uow.commit()
    return account.id


def credit_balance(svc: Services, *, account_id: str, currency: str) -> Money:
    """The account's credit balance in ``currency`` (credits carried to the next invoices)."""
    with svc.uow() as uow:
        return uow.credits.balance(account_id, currency)
