"""The billing run: issue every renewal that is due, exactly once, however often it is killed.

``run_billing`` claims due subscriptions in batches (``claim_due``: the oldest period ends first,
locked; on PostgreSQL rows another worker holds are skipped, ``FOR UPDATE SKIP LOCKED``) and
renews each one with the billing engine in the claiming transaction, one transaction per batch.
A renewal moves the subscription's period forward in the same transaction that writes its invoice,
and the store refuses a second renewal invoice for a (subscription, period): a run killed at any
point loses at most its open batch, which the next run bills again from scratch. Invoice numbers
are allocated in that transaction too, so a killed batch leaves no gap.

Several runs (processes) can share the work on PostgreSQL. Inside a batch the subscriptions are
billed in (account, subscription) order, so two workers take the accounts' invoice counter locks in
the same order and never wait on each other in a circle. On SQLite writers take turns.

Subscriptions attached to a test clock are left out: their clock bills them
(``service/test_clocks.py``). Role expiries are not run here: every use case runs them at their own
instant before it changes a subscription, and a renewal runs the ones due before it.

Memory stays flat: only one batch of subscriptions is loaded at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from seatledger.domain.errors import InvalidInput, SeatLedgerError
from seatledger.domain.money import Money
from seatledger.domain.periods import require_utc
from seatledger.service.billing_engine import advance, next_due
from seatledger.service.context import Services
from seatledger.service.gateway import load_state_by_id, save_state
from seatledger.service.ports import Subscription, UnitOfWork
from seatledger.service.renewals import renew_batch
from seatledger.service.results import InvoiceView
from seatledger.service.state import Effects, InvoiceKind

DEFAULT_BATCH_SIZE = 200


@dataclass(frozen=True)
class BillingFailure:
    """A subscription the run could not bill (left due, for the next run): the refusal's code."""

    account_id: str
    subscription_id: str
    code: str
    message: str


@dataclass(frozen=True)
class BillingRunSummary:
    """What a billing run (or one batch of it) did.

    ``subscriptions_billed`` counts subscriptions renewed at least once; ``invoices_issued`` the
    invoices written; ``totals`` their totals per currency (credit notes excluded, none is issued
    by a renewal anyway).
    """

    until: datetime
    subscriptions_billed: int = 0
    invoices_issued: int = 0
    totals: Mapping[str, Money] = field(default_factory=dict)
    failures: tuple[BillingFailure, ...] = ()

    def merged(self, other: BillingRunSummary) -> BillingRunSummary:
        """Both summaries added up (the work of two batches, or two workers of one run)."""
        totals = dict(self.totals)
        for currency, amount in other.totals.items():
            totals[currency] = totals.get(currency, Money.zero(currency)) + amount
        return BillingRunSummary(
            until=max(self.until, other.until),
            subscriptions_billed=self.subscriptions_billed + other.subscriptions_billed,
            invoices_issued=self.invoices_issued + other.invoices_issued,
            totals=dict(sorted(totals.items())),
            failures=self.failures + other.failures,
        )


BatchCallback = Callable[[BillingRunSummary], None]


def due_until(svc: Services, until: datetime | None) -> datetime:
    """The instant a run bills up to: ``until`` (aware; not in the future) or now."""
    now = svc.clock.now()
    if until is None:
        return now
    until = require_utc(until, "until")
    if until > now:
        # A period renewed ahead of time would put the subscription's period after "now", and
        # every change made before then would fall outside it.
        raise InvalidInput(
            "until",
            f"must not be in the future (now is {now.isoformat()}), got {until.isoformat()}",
        )
    return until


def count_due(svc: Services, *, until: datetime | None = None) -> int:
    """How many subscriptions a run up to ``until`` (default now) has to bill."""
    until = due_until(svc, until)
    with svc.uow() as uow:
        return uow.subscriptions.count_due(until)


def run_billing(
    svc: Services,
    *,
    until: datetime | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: BatchCallback | None = None,
) -> BillingRunSummary:
    """Renew every subscription whose period ended at or before ``until`` (default now).

    Each batch of up to ``batch_size`` subscriptions is claimed, renewed (all periods due, with
    the role expiries on the way, in order) and committed in one transaction; ``on_batch`` is told
    what each committed batch did. A subscription whose renewal is refused (a ``SeatLedgerError``)
    is reported in ``failures`` and left due; the others are billed. ``until`` in the future is
    refused (``InvalidInput`` naming ``until``).
    """
    if batch_size < 1:
        raise InvalidInput("batch_size", f"must be at least 1, got {batch_size}")
    until = due_until(svc, until)
    summary = BillingRunSummary(until=until)
    failed: dict[tuple[str, str], BillingFailure] = {}
    while True:
        with svc.uow() as uow:
            # Subscriptions that failed stay due and come first; ask for enough to get past them.
            claimed = uow.subscriptions.claim_due(until, limit=batch_size + len(failed))
            batch = [s for s in claimed if (s.account_id, s.id) not in failed]
            if not batch:
                break
            try:
                done = _bill(uow, batch, until, svc.clock.now(), failed)
            except SeatLedgerError:
                # A write was refused half-way through one subscription: nothing of this batch
                # is kept, and its subscriptions are billed one per transaction instead.
                uow.rollback()
                done = None
            else:
                uow.commit()
        if done is None:
            done = _bill_one_by_one(svc, batch, until, failed)
        summary = summary.merged(done)
        if on_batch is not None:
            on_batch(done)
    return replace(summary, failures=tuple(failed.values()))


def _bill(
    uow: UnitOfWork,
    batch: Sequence[Subscription],
    until: datetime,
    at: datetime,
    failed: dict[tuple[str, str], BillingFailure],
) -> BillingRunSummary:
    renewed = renew_batch(uow, batch, until=until, at=at)
    for sub in batch:
        exc = renewed.failed.get((sub.account_id, sub.id))
        if exc is not None:
            failed[(sub.account_id, sub.id)] = _failure(sub, exc)
    issued = list(renewed.issued)
    billed = renewed.billed
    # What a renewal writes besides its own rows (a role expiry, an event) goes through the
    # gateway, one subscription at a time, in account order: every worker takes the accounts'
    # invoice counter locks in the same order.
    for sub in renewed.left:
        state = load_state_by_id(uow, sub.account_id, sub.id)
        due = next_due(state)
        if due is None or due > until:
            continue  # billed by another worker since it was found due
        effects = Effects()
        try:
            advance(state, effects, until=until)
        except SeatLedgerError as exc:
            # Nothing is written yet for this one: record it and bill the rest of the batch.
            failed[(sub.account_id, sub.id)] = _failure(sub, exc)
            continue
        issued.extend(save_state(uow, state, effects, at=at))
        billed += 1
    return _summary(until, billed, issued)


def _bill_one_by_one(
    svc: Services,
    batch: Iterable[Subscription],
    until: datetime,
    failed: dict[tuple[str, str], BillingFailure],
) -> BillingRunSummary:
    summary = BillingRunSummary(until=until)
    for sub in sorted(batch, key=lambda s: (s.account_id, s.id)):
        with svc.uow() as uow:
            try:
                done = _bill(uow, [sub], until, svc.clock.now(), failed)
            except SeatLedgerError as exc:
                uow.rollback()
                failed[(sub.account_id, sub.id)] = _failure(sub, exc)
                continue
            uow.commit()
        summary = summary.merged(done)
    return summary


def _failure(sub: Subscription, exc: SeatLedgerError) -> BillingFailure:
    return BillingFailure(sub.account_id, sub.id, exc.code, exc.message)


def _summary(until: datetime, billed: int, issued: Sequence[InvoiceView]) -> BillingRunSummary:
    totals: dict[str, Money] = {}
    for invoice in issued:
        if invoice.kind is InvoiceKind.INVOICE:
            totals[invoice.currency] = (
                totals.get(invoice.currency, Money.zero(invoice.currency)) + invoice.total
            )
    return BillingRunSummary(
        until=until,
        subscriptions_billed=billed,
        invoices_issued=len(issued),
        totals=dict(sorted(totals.items())),
    )
