"""Builders for the store tests: a reviewer-like policy, subscriptions, invoices, the world."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from seatledger.domain.invoices import InvoiceLine, LineKind
from seatledger.domain.money import Money
from seatledger.domain.periods import Period
from seatledger.domain.policy import Policy, policy_from_mapping
from seatledger.service.ports import (
    Account,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Subscription,
    SubscriptionStatus,
    UnitOfWork,
)

ACCOUNT = "acc_demo"
WORKSPACES = ("ws_main", "ws_side")
SUBSCRIPTION = "sub_demo"


def reviewer_policy() -> Policy:
    return policy_from_mapping(
        {
            "billable_roles": ["admin", "reviewer"],
            "free_roles": ["member"],
            "currency": "EUR",
            "interval": "month",
            "seat_price": "99.00",
            "base_price": "99.00",
            "included_seats": 2,
            "min_seats": 2,
            "owner_role": "admin",
            "required_roles": ["admin"],
            "seat_managers": ["admin"],
            "member_managers": ["admin"],
            "expiring_roles": {"member": "P30D"},
        }
    )


def month_from(start: datetime) -> Period:
    return Period(start, start + timedelta(days=30))


def new_subscription(
    subscription_id: str, at: datetime, *, account_id: str = ACCOUNT, seats: int = 2
) -> Subscription:
    return Subscription(
        account_id=account_id,
        id=subscription_id,
        policy=reviewer_policy(),
        preset="reviewer-pro",
        status=SubscriptionStatus.ACTIVE,
        anchor_at=at,
        period=month_from(at),
        seats_total=seats,
        seats_at_renewal=seats,
        seats_paid=seats,
        created_at=at,
    )


def seats_line(period: Period, quantity: int = 1, amount: str = "99.00") -> InvoiceLine:
    return InvoiceLine(
        kind=LineKind.SEATS,
        description=f"{quantity} x Seat",
        quantity=quantity,
        unit_amount=Money.of("99.00", "EUR"),
        amount=Money.of(amount, "EUR"),
        period=period,
    )


def add_invoice(
    uow: UnitOfWork,
    period: Period,
    *,
    renewal: bool = False,
    kind: InvoiceKind = InvoiceKind.INVOICE,
    subscription_id: str = SUBSCRIPTION,
    account_id: str = ACCOUNT,
) -> Invoice:
    return uow.invoices.add(
        account_id,
        subscription_id,
        kind=kind,
        status=InvoiceStatus.OPEN,
        reason="renewal" if renewal else "proration",
        period=period,
        currency="EUR",
        lines=[seats_line(period)],
        issued_at=period.start,
        at=period.start,
        renewal_of=period.start if renewal else None,
    )


def add_account(uow: UnitOfWork, account_id: str, at: datetime) -> None:
    uow.accounts.add(Account(id=account_id, name=f"Account {account_id}", created_at=at))


@dataclass(frozen=True)
class World:
    account_id: str
    workspace_ids: tuple[str, ...]
    subscription: Subscription
