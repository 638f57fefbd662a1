"""The billing engine: what a seat change, a renewal or the passing of time does to the money.

It works on a loaded ``SubscriptionState`` and records what to write in ``Effects``; it never
touches the database and never reads the clock (every function takes ``at``).

Where each priced line goes is the policy's call:

* increases (``proration.on_increase``): ``charge_now`` issues an invoice at once; ``next_invoice``
  parks the line as pending, to be billed on the next invoice; ``monthly`` parks it too, and the
  end of each month of the period (``add_months(period_start, i)``) that follows a pending charge
  falls due: one invoice then carries every pending line, in arrears (``next_due``, ``advance``);
  ``none`` bills nothing.
* decreases (``proration.on_decrease``): ``credit_now`` issues a credit note at once and adds its
  amount to the account's credit balance; ``credit_next_invoice`` parks the credit line on the next
  invoice; ``none`` refunds nothing.

Under ``billing_basis: peak | true_up`` the peak of seats used, the free capacity, the arrears peak
line and the true-up reconciliations come from ``peak_engine``, called where the basis matters.

Every invoice uses the credit balance first (a ``credit_applied`` line), so no invoice total is ever
negative. When an invoice's own credits exceed its charges, the excess is carried to the balance by a
positive ``credit_applied`` line and the invoice totals zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from copy import copy
from datetime import datetime, timedelta
from typing import Any

from seatledger.domain.billing import (
    SeatBilling,
    addon_change_lines,
    opening_lines,
    price_seat_change,
    record_seats_invoiced,
    renewal_lines,
    settle_invoice,
)
from seatledger.domain.decisions import expire_grants
from seatledger.domain.fair_billing import (
    going_inactive,
    inactive_seat_count,
    mark_inactive,
    next_inactive_at,
)
from seatledger.domain.invoices import InvoiceLine, LineKind, lines_total
from seatledger.domain.money import Money
from seatledger.domain.periods import Period, add_months, period_index_at, period_n
from seatledger.domain.policy import OnDecrease, OnIncrease, SeatMode
from seatledger.domain.seats import earliest_expiry
from seatledger.service.peak_engine import (
    move_capacity_freely,
    note_peak,
    opening_seats,
    peak_arrears,
    reconcile,
    renewal_commitment,
    renewed_billing,
    true_up_due,
)
from seatledger.service.state import (
    AuditEntry,
    CreditMovement,
    Effects,
    InvoiceDraft,
    InvoiceKind,
    InvoiceReason,
    LedgerEntry,
    SubscriptionState,
    SubscriptionStatus,
)


def record(
    state: SubscriptionState, effects: Effects, at: datetime, kind: str, **detail: object
) -> None:
    """Append the subscription's seat figures after a change to the seat ledger (and, under
    ``billing_basis`` peak or true_up, raise the peak to the seats in use now)."""
    note_peak(state, at)
    usage = state.usage(at)
    email = detail.pop("email", None)
    effects.ledger.append(
        LedgerEntry(
            at=at,
            kind=kind,
            seats_total=state.capacity,
            seats_used=usage.used,
            seats_at_renewal=state.billing.seats_at_renewal,
            seats_paid=state.billing.seats_paid,
            email=str(email) if email is not None else None,
            detail=dict(detail),
        )
    )


def issue_invoice(
    state: SubscriptionState,
    effects: Effects,
    *,
    lines: Sequence[InvoiceLine],
    at: datetime,
    period: Period,
    reason: InvoiceReason,
    renewal_of: datetime | None = None,
) -> InvoiceDraft | None:
    """Issue an invoice for ``lines``, using the credit balance first (``settle_invoice``).

    Nothing is issued for no lines, except a renewal, which always gets its invoice (a period
    billed zero is still a period billed once)."""
    if not lines and renewal_of is None:
        return None
    if not lines:
        lines = [_zero_line(state, period)]
    settlement = settle_invoice(lines, state.credit_balance)
    moved = settlement.credit_created - settlement.credit_used
    if not moved.is_zero:
        state.balance = settlement.balance_after
        effects.credits.append(
            CreditMovement(amount=moved, reason=f"{reason.value} invoice", at=at)
        )
    draft = InvoiceDraft(
        kind=InvoiceKind.INVOICE,
        reason=reason,
        period=period,
        issued_at=at,
        lines=settlement.lines,
        total=settlement.total,
        renewal_of=renewal_of,
    )
    effects.invoices.append(draft)
    return draft


def _zero_line(state: SubscriptionState, period: Period) -> InvoiceLine:
    zero = Money.zero(state.policy.currency)
    return InvoiceLine(LineKind.SEATS, "Seats (none billed)", 1, zero, zero, period)


def _move_credit(
    state: SubscriptionState, effects: Effects, amount: Money, reason: str, at: datetime
) -> None:
    state.balance = state.credit_balance + amount
    effects.credits.append(CreditMovement(amount=amount, reason=reason, at=at))


def _issue_credit_note(
    state: SubscriptionState, effects: Effects, lines: Sequence[InvoiceLine], at: datetime
) -> None:
    total = lines_total(lines, state.policy.currency)
    effects.invoices.append(
        InvoiceDraft(
            kind=InvoiceKind.CREDIT_NOTE,
            reason=InvoiceReason.PRORATION,
            period=Period(at, state.billing.period.end),
            issued_at=at,
            lines=tuple(lines),
            total=total,
        )
    )
    _move_credit(state, effects, -total, "credit note", at)


def _route(
    state: SubscriptionState,
    effects: Effects,
    charges: Sequence[InvoiceLine],
    credits: Sequence[InvoiceLine],
    at: datetime,
) -> None:
    """Send priced lines where the policy says: an invoice now, the next invoice, or a credit note."""
    proration = state.policy.proration
    if charges:
        if proration.on_increase is OnIncrease.CHARGE_NOW:
            issue_invoice(
                state,
                effects,
                lines=charges,
                at=at,
                period=Period(at, state.billing.period.end),
                reason=InvoiceReason.PRORATION,
            )
        else:
            state.pending.extend(charges)
            effects.pending_added.extend(charges)
    if credits:
        if proration.on_decrease is OnDecrease.CREDIT_NOW:
            _issue_credit_note(state, effects, credits, at)
        else:
            state.pending.extend(credits)
            effects.pending_added.extend(credits)


def bill_seat_change(
    state: SubscriptionState,
    effects: Effects,
    *,
    at: datetime,
    new_total: int,
    reason: str,
    email: str | None = None,
) -> None:
    """Move the bought seats to ``new_total`` at ``at`` and bill the change as the policy says
    (under ``billing_basis: peak`` seats are capacity only: no line, the peak is billed)."""
    if not move_capacity_freely(state, new_total, usage=False):
        price = price_seat_change(state.billing, state.policy, at, new_total)
        state.billing = price.state
        _route(state, effects, price.charges, price.credits, at)
    record(state, effects, at, reason, email=email, requested=new_total)


def cancel_now(state: SubscriptionState, effects: Effects, *, at: datetime) -> None:
    """End the subscription at ``at``: its seats go to 0, the unused seat time credited as
    ``on_decrease`` says (under ``billing_basis: peak`` the peak so far is owed for the time
    used instead), and the subscription is canceled from ``at``."""
    if move_capacity_freely(state, 0, usage=False):
        _bill_final_peak(state, effects, at)
    bill_seat_change(state, effects, at=at, new_total=0, reason="canceled")
    state.status = SubscriptionStatus.CANCELED
    state.canceled_at = at


def _bill_final_peak(state: SubscriptionState, effects: Effects, at: datetime) -> None:
    lines = peak_arrears(state, until=at)
    if lines:
        issue_invoice(
            state,
            effects,
            lines=lines,
            at=at,
            period=Period(lines[0].period.start, at),
            reason=InvoiceReason.CANCELLATION,
        )


def follow_usage(
    state: SubscriptionState,
    effects: Effects,
    *,
    at: datetime,
    reason: str,
    email: str | None = None,
) -> None:
    """In automatic seat mode, seats follow usage: bill whoever starts or stops using a seat.

    The wanted count is the number of seat holders (never below ``min_seats``). In manual mode the
    count only moves when someone fills a seat kept until the period ends (``decrease_release:
    period_end``): that takes the seat back, billed as any increase (free while it is still paid,
    as ``refill_paid_seat_free`` keeps it), so a renewal never bills fewer seats than are in use.
    Otherwise a manual-mode change is only recorded in the ledger.
    """
    policy = state.policy
    billing = state.billing
    if policy.seat_mode is SeatMode.AUTOMATIC:
        # Fair billing (inactive_after): a holder marked inactive keeps the seat, unbilled.
        inactive = inactive_seat_count(state.activity, state.roster, policy, at)
        wanted = max(state.usage(at).used - inactive - state.addon_seats, policy.min_seats or 0, 0)
        if (
            wanted != billing.seats_at_renewal
            or wanted > billing.seats_paid
            or wanted > billing.seats_total
        ):
            if move_capacity_freely(state, wanted, usage=True):
                # true_up: usage above the seats paid for waits for its reconciliation.
                record(state, effects, at, reason, email=email, requested=wanted)
                return
            bill_seat_change(state, effects, at=at, new_total=wanted, reason=reason, email=email)
            return
    else:
        needed = state.usage(at).used - state.addon_seats
        if needed > billing.seats_at_renewal:
            bill_seat_change(state, effects, at=at, new_total=needed, reason=reason, email=email)
            return
    record(state, effects, at, reason, email=email)


def change_addon(
    state: SubscriptionState, effects: Effects, *, at: datetime, name: str, new_count: int
) -> None:
    """Set add-on ``name`` to ``new_count`` packs, billed like seats."""
    old = state.addons.get(name, 0)
    lines = addon_change_lines(
        state.policy,
        period=state.billing.period,
        at=at,
        name=name,
        old_count=old,
        new_count=new_count,
    )
    if new_count:
        state.addons[name] = new_count
    else:
        state.addons.pop(name, None)
    charges = [line for line in lines if not line.amount.is_negative]
    credits = [line for line in lines if line.amount.is_negative]
    _route(state, effects, charges, credits, at)
    record(state, effects, at, "addon_changed", addon=name, count=new_count)


def open_subscription(state: SubscriptionState, effects: Effects, *, start: datetime) -> None:
    """Issue the first invoice, in advance, for the leading period from ``start``."""
    seats = opening_seats(state)
    billing = state.billing
    lines = opening_lines(
        state.policy, start=start, period=billing.period, seats=seats, addons=state.addons
    )
    state.billing = record_seats_invoiced(billing, state.policy, lines, start)
    issue_invoice(
        state,
        effects,
        lines=lines,
        at=start,
        period=Period(start, billing.period.end),
        reason=InvoiceReason.SUBSCRIBE,
    )
    record(state, effects, start, "subscribed")


def renew(state: SubscriptionState, effects: Effects) -> None:
    """Close the current period at its end and bill the next one (or end a subscription that was
    canceled at period end). The renewal invoice carries the pending lines."""
    at = state.billing.period.end
    # billing_basis peak: the period ending now is billed in arrears for its peak.
    arrears = peak_arrears(state)
    if state.cancel_at_period_end:
        # Nothing is renewed, but lines already owed (or credits already earned) are settled.
        if state.pending or arrears:
            effects.pending_billed_by.append((len(effects.invoices), len(effects.pending_added)))
            issue_invoice(
                state,
                effects,
                lines=[*state.pending, *arrears],
                at=at,
                period=state.billing.period,
                reason=InvoiceReason.CANCELLATION,
            )
            state.pending.clear()
        state.status = SubscriptionStatus.CANCELED
        state.canceled_at = at
        record(state, effects, at, "canceled")
        return
    index = _period_index_after(state, at)
    period = period_n(state.anchor_at, state.policy.interval, index)
    seats = renewal_commitment(state)
    renewal = renewal_lines(
        state.policy, period=period, seats_at_renewal=seats, addons=state.addons
    )
    lines = [*state.pending, *arrears, *renewal]
    state.pending.clear()
    state.billing = renewed_billing(
        state,
        record_seats_invoiced(
            SeatBilling(period=period, seats_total=seats, seats_at_renewal=seats, seats_paid=seats),
            state.policy,
            renewal,
            period.start,
        ),
        at,
    )
    effects.pending_billed_by.append((len(effects.invoices), len(effects.pending_added)))
    issue_invoice(
        state,
        effects,
        lines=lines,
        at=at,
        period=period,
        reason=InvoiceReason.RENEWAL,
        renewal_of=period.start,
    )
    record(state, effects, at, "renewed")


def _period_index_after(state: SubscriptionState, at: datetime) -> int:
    return period_index_at(state.anchor_at, state.policy.interval, at)


def next_due(state: SubscriptionState) -> datetime | None:
    """The next instant at which time itself changes this subscription: a renewal, an expiry, or
    the month end that bills pending increases under ``on_increase: monthly`` (``month_end_due``),
    or a true-up reconciliation (``true_up_due``).
    """
    if state.status is not SubscriptionStatus.ACTIVE:
        return None
    due = [state.billing.period.end]
    expiry = earliest_expiry(state.roster)
    if expiry is not None:
        due.append(expiry)
    month_end = month_end_due(state)
    if month_end is not None:
        due.append(month_end)
    reconciliation = true_up_due(state)
    if reconciliation is not None:
        due.append(reconciliation)
    inactive_at = next_inactive_at(state.activity, state.roster, state.policy)
    if inactive_at is not None:
        due.append(inactive_at)
    return min(due)


def month_end_due(state: SubscriptionState) -> datetime | None:
    """Under ``on_increase: monthly``, the month end that bills the pending increases, or None.

    The months of a period are cut from its start (``add_months(period.start, i)``, clamped, as
    ``proration.unit: month`` cuts them). Due is the first month end strictly after the earliest
    pending ``proration_charge`` started (its line covers ``[change, period_end)``); a charge in
    the period's last month has no month end before the renewal, which bills it. Example: a yearly
    period from 2026-01-15 and seats added on 2026-03-02 and 2026-03-10: both are invoiced together
    at 2026-03-15, the first month end after 2026-03-02; one added on 2026-12-20 waits for the
    renewal at 2027-01-15.
    """
    if state.policy.proration.on_increase is not OnIncrease.MONTHLY:
        return None
    starts = [line.period.start for line in state.pending if line.kind is LineKind.PRORATION_CHARGE]
    if not starts:
        return None
    period = state.billing.period
    first = min(starts)
    for i in range(1, state.policy.interval.months or 1):
        month_end = add_months(period.start, i)
        if month_end > first:
            return month_end
    return None


def bill_month_end(state: SubscriptionState, effects: Effects, *, at: datetime) -> None:
    """Issue the month-end invoice of ``on_increase: monthly``: every pending line (the month's
    increases, and credits parked for the next invoice, which this is), at ``at``."""
    lines = list(state.pending)
    effects.pending_billed_by.append((len(effects.invoices), len(effects.pending_added)))
    issue_invoice(
        state,
        effects,
        lines=lines,
        at=at,
        period=Period(min(line.period.start for line in lines), state.billing.period.end),
        reason=InvoiceReason.PRORATION,
    )
    state.pending.clear()
    record(state, effects, at, "month_end_billed")


def bill_true_up(state: SubscriptionState, effects: Effects, *, at: datetime) -> None:
    """Reconcile a ``billing_basis: true_up`` window at ``at``: its peak above the seats paid for
    is invoiced at once (an overage ``proration_charge`` to the period end), whatever
    ``on_increase`` says: a reconciliation is an invoice, as GitLab's quarterly one is."""
    lines = reconcile(state, at)
    issue_invoice(
        state,
        effects,
        lines=lines,
        at=at,
        period=Period(at, state.billing.period.end),
        reason=InvoiceReason.PRORATION,
    )
    record(state, effects, at, "true_up_reconciled")


# The actor the audit log names for what time itself does (renewals, expiries): nobody acted.
CLOCK_ACTOR = "seatledger"


def snapshot(state: SubscriptionState, at: datetime) -> dict[str, Any]:
    """The seat figures an audit row keeps before and after a change."""
    usage = state.usage(at)
    return {
        "seats_total": usage.total,
        "seats_used": usage.used,
        "seats_at_renewal": state.billing.seats_at_renewal,
        "seats_paid": state.billing.seats_paid,
        "addons": dict(state.addons),
        "status": state.status.value,
    }


def advance(state: SubscriptionState, effects: Effects, *, until: datetime) -> bool:
    """Run, in time order, every renewal and role expiry that falls due up to ``until`` (inclusive).
    False when nothing was due (``state`` and ``effects`` are left as they were).

    Each is audited at its own instant, by ``CLOCK_ACTOR``: roles and money change here as much
    as in any use case."""
    ran = False
    while state.status is SubscriptionStatus.ACTIVE:
        due = next_due(state)
        if due is None or due > until:
            return ran
        ran = True
        expiring = sorted(
            {
                m.email
                for m in state.roster.members
                for g in m.grants
                if g.expires_at is not None and g.expires_at <= due
            }
        )
        if expiring:
            # Grants are live on [granted, expires_at): at ``due`` itself they count no more, so
            # the figures before the expiry are those of the instant just before it.
            before = snapshot(state, due - timedelta(microseconds=1))
            state.roster = expire_grants(state.roster, due)
            follow_usage(state, effects, at=due, reason="roles_expired")
            _audit_time(state, effects, due, "expire_roles", ",".join(expiring), before)
        idle = going_inactive(state.activity, state.roster, state.policy, due)
        if idle:
            # Fair billing: each holder idle for inactive_after is credited from this instant on.
            before = snapshot(state, due)
            for email in idle:
                state.activity = mark_inactive(state.activity, [email], due)
                follow_usage(state, effects, at=due, reason="member_inactive", email=email)
            _audit_time(state, effects, due, "mark_inactive", ",".join(idle), before)
        if due == month_end_due(state) and due < state.billing.period.end:
            before = snapshot(state, due)
            bill_month_end(state, effects, at=due)
            _audit_time(state, effects, due, "bill_month_end", state.subscription_id, before)
        if due == true_up_due(state) and due < state.billing.period.end:
            before = snapshot(state, due)
            bill_true_up(state, effects, at=due)
            _audit_time(state, effects, due, "reconcile_true_up", state.subscription_id, before)
        if due >= state.billing.period.end:
            # Figures taken once the renewal went through: a renewal the plan cannot price (an
            # add-on it no longer sells) is refused by ``renew`` itself, naming the cause.
            previous = copy(state)
            renew(state, effects)
            before = snapshot(previous, due)
            action = (
                "renew_subscription"
                if state.status is SubscriptionStatus.ACTIVE
                else "end_subscription"
            )
            _audit_time(state, effects, due, action, state.subscription_id, before)
    return ran


def _audit_time(
    state: SubscriptionState,
    effects: Effects,
    at: datetime,
    action: str,
    target: str,
    before: dict[str, Any],
) -> None:
    effects.audit.append(
        AuditEntry(
            at=at,
            actor=CLOCK_ACTOR,
            action=action,
            target=target,
            before=before,
            after=snapshot(state, at),
        )
    )
