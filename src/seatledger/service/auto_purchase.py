"""Automatic seat purchase in the use cases on people (``auto_purchase``, DESIGN.md).

An invite, an accept, a role change or a reactivation that needs seats the subscription has not
bought buys them first, as a seat increase billed by ``bill_seat_change`` exactly like a purchase
(``proration.on_increase`` says where the charge goes), within the cap of
``domain/auto_purchase.py``. The purchase has its own audit row (``auto_purchase_seats``) and
ledger row (``auto_purchased``, with the seats and the amount), and the change's result names it in
its detail: ``{"auto_purchase": {"seats": 1, "seats_total": 4, "amount": "49.50",
"currency": "EUR"}}``. Everything happens in the change's transaction: a change refused after the
purchase writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from seatledger.domain import decisions
from seatledger.domain.auto_purchase import cap_refusal, seats_to_buy
from seatledger.domain.decisions import BatchOutcome
from seatledger.domain.errors import SeatLimitReached
from seatledger.domain.invoices import LineKind
from seatledger.domain.money import Money
from seatledger.domain.seats import Roster
from seatledger.service.billing_engine import bill_seat_change, snapshot
from seatledger.service.state import AuditEntry, Effects, SubscriptionState

# The ledger kind and audit action of an automatic purchase.
LEDGER_KIND = "auto_purchased"
AUDIT_ACTION = "auto_purchase_seats"


def buy_missing_seats(
    state: SubscriptionState,
    effects: Effects,
    after: Roster,
    *,
    at: datetime,
    actor: str,
    partial: bool = False,
) -> dict[str, Any]:
    """Buy the seats the change from ``state.roster`` to ``after`` lacks (``seats_to_buy``) and
    return the result's detail naming them, or ``{}`` when none are bought. Raises
    ``AutoPurchaseCapReached`` when they would pass the cap (unless ``partial``)."""
    policy = state.policy
    seats = seats_to_buy(
        state.roster,
        after,
        policy,
        seats_total=state.billing.seats_total,
        capacity=state.capacity,
        at=at,
        partial=partial,
    )
    if not seats:
        return {}
    before = snapshot(state, at)
    invoices_from, pending_from = len(effects.invoices), len(effects.pending_added)
    new_total = state.billing.seats_total + seats
    bill_seat_change(state, effects, at=at, new_total=new_total, reason=LEDGER_KIND)
    lines = [line for draft in effects.invoices[invoices_from:] for line in draft.lines]
    lines += effects.pending_added[pending_from:]
    amount = Money.zero(policy.currency)
    for line in lines:
        if line.kind is LineKind.PRORATION_CHARGE:
            amount = amount + line.amount
    bought = {
        "seats": seats,
        "seats_total": new_total,
        "amount": amount.format(),
        "currency": policy.currency,
    }
    entry = effects.ledger[-1]
    effects.ledger[-1] = replace(entry, detail={**entry.detail, **bought})
    effects.audit.append(
        AuditEntry(
            at=at,
            actor=actor,
            action=AUDIT_ACTION,
            target=state.subscription_id,
            before=before,
            after=snapshot(state, at),
        )
    )
    return {"auto_purchase": bought}


def admit_batch_buying(
    state: SubscriptionState,
    effects: Effects,
    *,
    at: datetime,
    actor: str,
    workspace: str,
    emails: Sequence[str],
    role: str,
    scope: str | None,
) -> tuple[BatchOutcome, dict[str, Any]]:
    """``decisions.admit_batch`` after buying the seats the whole batch lacks: all of them under
    ``batch_atomic`` (or the batch is refused naming the cap), else as many as the cap leaves room
    for, and the batch is admitted as far as they go. Returns the outcome and the detail of the
    purchase (``{}`` for none)."""
    policy = state.policy
    whole = decisions.invite_members(
        state.roster, policy, workspace=workspace, emails=emails, role=role, scope=scope, at=at
    )
    bought = buy_missing_seats(
        state, effects, whole, at=at, actor=actor, partial=not policy.batch_atomic
    )
    try:
        outcome = decisions.admit_batch(
            state.roster,
            policy,
            workspace=workspace,
            emails=emails,
            role=role,
            scope=scope,
            seats_total=state.capacity,
            at=at,
        )
    except SeatLimitReached as refusal:
        raise cap_refusal(refusal, policy) from None
    return outcome, bought
