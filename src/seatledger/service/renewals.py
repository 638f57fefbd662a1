"""Renewing a claimed batch of subscriptions set-based: read once, price each, write once.

The billing run hands over a batch it has locked (``claim_due``). Its stored parts are read with one
query per table (``renewal_batches.parts``), every subscription is advanced by the same billing
engine as everywhere else (``advance``: renewals and role expiries in time order), and the
renewals' rows are made ready to be written with one statement per table (``RenewedBatch.writes``
for ``renewal_batches.write``), their invoice numbers reserved per account in one step. The caller
writes them, so the billing run can write one batch while it prices the next.

Only a renewal that writes no more than a renewal writes goes this way: no roster change (a role
expiry), no new pending line, no event besides ``invoice.issued``, no person named in the ledger or
the audit log, under a policy that keeps no records beyond the subscription row (fair billing's
activity, a billing basis other than purchased). Any other subscription, and every other
subscription of its account (they share the credit balance and the invoice counter), is left to
the one-at-a-time path of the caller, which writes it through the gateway in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from seatledger.domain.billing import SeatBilling
from seatledger.domain.errors import SeatLedgerError
from seatledger.domain.fair_policy import BillingBasis
from seatledger.domain.money import Money
from seatledger.domain.seats import Roster
from seatledger.service.billing_engine import advance, month_end_due
from seatledger.service.gateway import invoice_issued, invoice_view
from seatledger.service.ports import (
    AuditRecord,
    CreditEntry,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    LedgerRecord,
    OutboxEvent,
    RenewalWrites,
    StoredParts,
    Subscription,
    UnitOfWork,
    new_id,
)
from seatledger.service.results import InvoiceView
from seatledger.service.state import Effects, SubscriptionState


@dataclass
class RenewedBatch:
    """What ``renew_batch`` renewed (``writes``: its rows, for ``renewal_batches.write``; None
    when it renewed none), and the subscriptions it left to the one-at-a-time path."""

    billed: int = 0
    issued: list[InvoiceView] = field(default_factory=list)
    left: list[Subscription] = field(default_factory=list)
    failed: dict[tuple[str, str], SeatLedgerError] = field(default_factory=dict)
    writes: RenewalWrites | None = None


@dataclass(frozen=True)
class _Renewal:
    sub: Subscription
    state: SubscriptionState
    effects: Effects
    pending_ids: tuple[str, ...]


def renew_batch(
    uow: UnitOfWork, batch: Sequence[Subscription], *, until: datetime, at: datetime
) -> RenewedBatch:
    """Renew every subscription of ``batch`` (claimed, so locked) that is due by ``until``: the
    invoice numbers are reserved (in ``uow``'s transaction) and the rows to write are returned in
    ``writes``, which the caller writes in that same transaction.

    Renews nothing for a subscription whose renewal is refused (it is reported in ``failed``), nor
    for one that is not due any more (another worker billed it). ``at`` is the instant the rows are
    written (``created_at`` of invoices and events)."""
    outcome = RenewedBatch()
    ordered = sorted(batch, key=lambda s: (s.account_id, s.id))
    parts = uow.renewal_batches.parts(ordered)
    balances = uow.renewal_batches.balances({(s.account_id, s.policy.currency) for s in ordered})
    renewals: list[_Renewal] = []
    left_accounts: set[str] = set()
    for sub in ordered:
        if _beyond_renewal_rows(sub):
            left_accounts.add(sub.account_id)
            continue
        stored = parts[(sub.account_id, sub.id)]
        balance_key = (sub.account_id, sub.policy.currency)
        state = _state(sub, stored, balances[balance_key])
        roster_before, effects = state.roster, Effects()
        try:
            if not advance(state, effects, until=until):
                continue  # not due any more
        except SeatLedgerError as exc:
            outcome.failed[(sub.account_id, sub.id)] = exc
            continue
        if _plain(state, roster_before, effects):
            balances[balance_key] = state.credit_balance
            renewals.append(_Renewal(sub, state, effects, tuple(p.id for p in stored.pending)))
        else:
            left_accounts.add(sub.account_id)
    renewals = [r for r in renewals if r.sub.account_id not in left_accounts]
    outcome.left = [
        s
        for s in ordered
        if s.account_id in left_accounts and (s.account_id, s.id) not in outcome.failed
    ]
    if renewals:
        outcome.writes, outcome.issued = _rows_of(uow, renewals, at)
        outcome.billed = len(renewals)
    return outcome


def _state(sub: Subscription, stored: StoredParts, balance: Money) -> SubscriptionState:
    names = stored.workspace_names
    return SubscriptionState(
        account_id=sub.account_id,
        subscription_id=sub.id,
        policy=sub.policy,
        preset=sub.preset,
        anchor_at=sub.anchor_at,
        billing=SeatBilling(
            period=sub.period,
            seats_total=sub.seats_total,
            seats_at_renewal=sub.seats_at_renewal,
            seats_paid=sub.seats_paid,
            invoiced=sub.seats_invoiced,
        ),
        roster=stored.roster.renamed(names),
        workspaces=tuple(sorted(names.values())),
        addons=dict(stored.addons),
        pending=[p.line for p in stored.pending],
        balance=balance,
        status=sub.status,
        cancel_at_period_end=sub.cancel_at_period_end,
        canceled_at=sub.canceled_at,
        created_at=sub.created_at,
        version=sub.version,
        test_clock_id=sub.test_clock_id,
        workspace_ids={name: ws_id for ws_id, name in names.items()},
    )


def _beyond_renewal_rows(sub: Subscription) -> bool:
    """True for a policy whose renewals keep records ``RenewalWrites`` does not hold: fair
    billing's activity (``inactive_after``), the peak of ``billing_basis`` other than purchased."""
    return (
        sub.policy.inactive_after is not None
        or sub.policy.billing_basis is not BillingBasis.PURCHASED
    )


def _plain(state: SubscriptionState, roster_before: Roster, effects: Effects) -> bool:
    """True when the renewal writes only what ``RenewalWrites`` holds, with no person in it."""
    return (
        state.roster is roster_before
        and not effects.pending_added
        and not effects.events
        and all(entry.email is None for entry in effects.ledger)
        and all("@" not in a.actor and "@" not in a.target for a in effects.audit)
    )


def _rows_of(
    uow: UnitOfWork, renewals: Sequence[_Renewal], at: datetime
) -> tuple[RenewalWrites, list[InvoiceView]]:
    counts: dict[str, int] = {}
    for r in renewals:
        counts[r.sub.account_id] = counts.get(r.sub.account_id, 0) + len(r.effects.invoices)
    next_number = uow.renewal_batches.number_invoices(counts)
    rows = _Rows()
    views: list[InvoiceView] = []
    for r in renewals:
        views.extend(_add(rows, r, next_number, at))
    return RenewalWrites(**vars(rows)), views


@dataclass
class _Rows:
    """``RenewalWrites`` being gathered: the same fields, as lists to append to."""

    subscriptions: list[Subscription] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    billed_pending: list[tuple[str, str, str]] = field(default_factory=list)
    credits: list[CreditEntry] = field(default_factory=list)
    ledger: list[LedgerRecord] = field(default_factory=list)
    audit: list[AuditRecord] = field(default_factory=list)
    outbox: list[OutboxEvent] = field(default_factory=list)


def _add(rows: _Rows, r: _Renewal, next_number: dict[str, int], at: datetime) -> list[InvoiceView]:
    """Append one renewal's rows to ``rows``, numbering its invoices."""
    state, effects = r.state, r.effects
    account_id, sub_id = state.account_id, state.subscription_id
    rows.subscriptions.append(
        replace(
            r.sub,
            status=state.status,
            period=state.billing.period,
            seats_total=state.billing.seats_total,
            seats_at_renewal=state.billing.seats_at_renewal,
            seats_paid=state.billing.seats_paid,
            canceled_at=state.canceled_at,
            seats_invoiced=state.billing.invoiced,
            month_end_at=month_end_due(state),
        ),
    )
    billed_by = dict(effects.pending_billed_by)
    unbilled = list(r.pending_ids)
    views = []
    for index, draft in enumerate(effects.invoices):
        number = next_number[account_id]
        next_number[account_id] = number + 1
        invoice = Invoice(
            account_id=account_id,
            id=new_id("inv"),
            subscription_id=sub_id,
            number=number,
            kind=draft.kind,
            status=InvoiceStatus.PAID if draft.total.is_zero else InvoiceStatus.OPEN,
            reason=draft.reason.value,
            period=draft.period,
            currency=state.policy.currency,
            lines=draft.lines,
            issued_at=draft.issued_at,
            created_at=at,
            renewal_of=draft.renewal_of,
        )
        rows.invoices.append(invoice)
        views.append(invoice_view(invoice, draft))
        if index in billed_by:
            for line_id in unbilled:
                rows.billed_pending.append((account_id, line_id, invoice.id))
            unbilled.clear()
    for movement in effects.credits:
        rows.credits.append(
            CreditEntry(
                account_id, 0, at=movement.at, amount=movement.amount, reason=movement.reason
            ),
        )
    # A renewal written here names no person (one that does goes through the gateway).
    rows.ledger.extend(entry.record(account_id, sub_id) for entry in effects.ledger)
    rows.audit.extend(
        audit.record(account_id, actor=audit.actor, target=audit.target) for audit in effects.audit
    )
    for view in views:
        if view.kind is InvoiceKind.INVOICE:
            rows.outbox.append(
                OutboxEvent(account_id, 0, "invoice.issued", invoice_issued(view), created_at=at),
            )
    return views
