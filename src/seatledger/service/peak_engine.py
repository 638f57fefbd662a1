"""The billing engine's part for ``billing_basis: peak | true_up`` (``domain/peak_billing.py``).

``billing_engine`` calls these where the basis changes what happens: every ledger record notes the
seats in use into the peak (``note_peak``); a seat change under ``peak``, and usage above the seats
paid for under ``true_up``, moves the capacity without a line (``move_capacity_freely``); the
renewal bills a period's peak in arrears (``peak_arrears``) or raises a true-up commitment
(``renewal_commitment``); reconciliation instants fall due (``true_up_due``, ``reconcile``). Under
``purchased`` every function here leaves the state as it is, so the peak stays None.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from seatledger.domain.billing import SeatBilling
from seatledger.domain.fair_billing import inactive_seat_count
from seatledger.domain.fair_policy import BillingBasis
from seatledger.domain.invoices import InvoiceLine
from seatledger.domain.peak_billing import (
    next_reconciliation,
    peak_line,
    raise_peak,
    true_up,
)
from seatledger.domain.policy import SeatMode
from seatledger.service.state import SubscriptionState


def seats_in_use(state: SubscriptionState, at: datetime) -> int:
    """The seats in use at ``at`` that a peak counts: seat holders beyond the add-on packs' seats
    (packs are billed as packs), less holders fair billing marks inactive (automatic mode)."""
    inactive = (
        inactive_seat_count(state.activity, state.roster, state.policy, at)
        if state.policy.seat_mode is SeatMode.AUTOMATIC
        else 0
    )
    return max(state.usage(at).used - inactive - state.addon_seats, 0)


def note_peak(state: SubscriptionState, at: datetime) -> None:
    """Raise the peak to the seats in use at ``at`` (every change is recorded, so every instant
    usage moves is seen). The window starts at the period start the first time."""
    if state.policy.billing_basis is BillingBasis.PURCHASED:
        return
    billing = state.billing
    state.billing = replace(
        billing,
        seats_peak=raise_peak(billing.seats_peak, seats_in_use(state, at)),
        peak_since=billing.peak_since or billing.period.start,
    )


def move_capacity_freely(state: SubscriptionState, new_total: int, *, usage: bool) -> bool:
    """Move the seats to ``new_total`` without a line when the basis says no line is due, and say
    whether it did.

    ``peak``: every change (a purchase in manual mode is a free commitment of capacity; automatic
    mode follows usage); the peak is what is billed. ``true_up``: a change of usage
    (``usage=True``, automatic mode) above the seats paid for: the overage waits for the next
    reconciliation. Anything else is priced as ``purchased`` prices it.
    """
    basis = state.policy.billing_basis
    billing = state.billing
    if basis is BillingBasis.PEAK or (
        basis is BillingBasis.TRUE_UP and usage and new_total > billing.seats_paid
    ):
        state.billing = replace(billing, seats_total=new_total, seats_at_renewal=new_total)
        return True
    return False


def opening_seats(state: SubscriptionState) -> int:
    """The seats the first invoice bills in advance: none under ``peak`` (billed in arrears), and
    ``seats_paid`` says so."""
    if state.policy.billing_basis is BillingBasis.PEAK:
        state.billing = replace(state.billing, seats_paid=0)
        return 0
    return state.billing.seats_total


def peak_arrears(
    state: SubscriptionState, until: datetime | None = None
) -> tuple[InvoiceLine, ...]:
    """Under ``peak``, the ``seats`` line of the period ending now (or canceled at ``until``) for
    its peak, in arrears (from the subscription's start inside a leading partial period); nothing
    under another basis, nor for a cancellation at the instant the period was billed from."""
    if state.policy.billing_basis is not BillingBasis.PEAK:
        return ()
    billing = state.billing
    period = billing.period
    started = state.created_at
    billed_from = started if started is not None and started in period else period.start
    if until is not None and until <= billed_from:
        return ()
    return peak_line(
        state.policy,
        period=period,
        billed_from=billed_from,
        peak=billing.seats_peak or 0,
        until=until,
    )


def renewal_commitment(state: SubscriptionState) -> int:
    """The seats the next period bills in advance: ``seats_at_renewal``, raised under ``true_up``
    to the last window's peak (the period end reconciles it), and none under ``peak``."""
    basis = state.policy.billing_basis
    billing = state.billing
    if basis is BillingBasis.PEAK:
        return 0
    if basis is BillingBasis.TRUE_UP:
        return max(billing.seats_at_renewal, billing.seats_peak or 0)
    return billing.seats_at_renewal


def renewed_billing(state: SubscriptionState, renewed: SeatBilling, at: datetime) -> SeatBilling:
    """``renewed`` (the next period's state) with the bought seats and a new peak window.

    Under ``peak`` the capacity carries over (nothing was bought for it) and the peak starts at the
    seats in use at the renewal; under ``true_up`` the window starts afresh too, and in automatic
    seat mode the seats the following renewal commits start from the seats in use again (the
    commitment raised to a peak lasts one period, and a later change is no decrease below it)."""
    basis = state.policy.billing_basis
    if basis is BillingBasis.PURCHASED:
        return renewed
    in_use = seats_in_use(state, at)
    if basis is BillingBasis.PEAK:
        seats = state.billing.seats_total
        renewed = replace(renewed, seats_total=seats, seats_at_renewal=seats, seats_paid=0)
    elif state.policy.seat_mode is SeatMode.AUTOMATIC:
        renewed = replace(renewed, seats_at_renewal=max(in_use, state.policy.min_seats or 0))
    return replace(renewed, seats_peak=in_use, peak_since=at)


def true_up_due(state: SubscriptionState) -> datetime | None:
    """Under ``true_up``, the next reconciliation instant inside the period, or None."""
    if state.policy.billing_basis is not BillingBasis.TRUE_UP:
        return None
    billing = state.billing
    since = billing.peak_since or billing.period.start
    return next_reconciliation(billing.period, state.policy.true_up_months, since)


def reconcile(state: SubscriptionState, at: datetime) -> tuple[InvoiceLine, ...]:
    """Reconcile the true-up window ending at ``at``: bill its peak above the seats paid for, raise
    the commitment (``seats_paid``) to it and start the next window at the seats in use now.
    Returns the overage lines (none when the peak stayed within)."""
    billing = state.billing
    outcome = true_up(
        state.policy,
        period=billing.period,
        at=at,
        committed=billing.seats_paid,
        peak=billing.seats_peak or 0,
    )
    state.billing = replace(
        billing,
        seats_paid=outcome.committed,
        seats_peak=seats_in_use(state, at),
        peak_since=at,
    )
    return outcome.lines
