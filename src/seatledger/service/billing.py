"""Use cases that move billing through time: renewals and role expiries that fall due."""

from __future__ import annotations

from datetime import datetime

from seatledger.service.billing_engine import advance, next_due
from seatledger.service.context import Services
from seatledger.service.gateway import load_state_by_id, save_state
from seatledger.service.ports import SubscriptionStatus
from seatledger.service.results import InvoiceView
from seatledger.service.state import Effects


def bring_up_to_date(
    svc: Services, *, account_id: str, until: datetime | None = None
) -> list[InvoiceView]:
    """Issue, in time order, every renewal and expiry of the account's subscriptions due by
    ``until`` (default: now). Each subscription is locked and written in its own transaction."""
    until = until or svc.clock.now()
    issued: list[InvoiceView] = []
    with svc.uow() as uow:
        ids = [
            s.id
            for s in uow.subscriptions.for_account(account_id)
            if s.status is SubscriptionStatus.ACTIVE
        ]
    for subscription_id in ids:
        with svc.uow() as uow:
            state = load_state_by_id(uow, account_id, subscription_id)
            due = next_due(state)
            if due is None or due > until:
                uow.rollback()
                continue
            effects = Effects()
            advance(state, effects, until=until)
            issued.extend(save_state(uow, state, effects, at=until))
            uow.commit()
    return sorted(issued, key=lambda invoice: (invoice.issued_at, invoice.number))
