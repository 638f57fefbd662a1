"""The billing run: issue every renewal that is due, exactly once, however often it is killed.

``run_billing`` claims due subscriptions in batches (``claim_due``: the oldest period ends first,
locked; on PostgreSQL rows another worker holds are skipped, ``FOR UPDATE SKIP LOCKED``) and
renews each one with the billing engine in the claiming transaction, one transaction per batch.
A renewal moves the subscription's period forward in the same transaction that writes its invoice,
and the store refuses a second renewal invoice for a (subscription, period): a run killed at any
point loses at most its open batches (two on PostgreSQL, where one is written while the next is
priced), which the next run bills again from scratch. Invoice numbers are allocated in that
transaction too, so a killed batch leaves no gap.

Several runs (processes) can share the work on PostgreSQL. A batch locks its accounts in account
order before it reads their credit balances, so two batches (of one run or of two) never wait on
each other in a circle, and never spend one credit twice. On SQLite writers take turns.

Subscriptions attached to a test clock are left out: their clock bills them
(``service/test_clocks.py``). Role expiries are not run here: every use case runs them at their own
instant before it changes a subscription, and a renewal runs the ones due before it.

Memory stays flat: at most two batches of subscriptions are held at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime

from seatledger.domain.errors import InvalidInput, SeatLedgerError
from seatledger.domain.money import Money
from seatledger.domain.periods import require_utc
from seatledger.service.billing_engine import advance
from seatledger.service.collector import fewer_collections
from seatledger.service.context import Services
from seatledger.service.gateway import load_state_by_id, save_state
from seatledger.service.ports import RenewalWrites, Subscription, UnitOfWork
from seatledger.service.renewals import renew_batch
from seatledger.service.results import InvoiceView
from seatledger.service.state import Effects, InvoiceKind

DEFAULT_BATCH_SIZE = 200
# Tracked objects to let a run allocate between young collections, per subscription of a batch:
# a renewal keeps about 55 alive until its batch is written, and two batches can be in flight.
_LIVE_OBJECTS_PER_SUBSCRIPTION = 250
_MOST_LIVE_OBJECTS = 1_000_000


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

    Where two units of work can write at once (``Services.concurrent_writes``), a batch's rows are
    written and committed on a thread of their own while the next batch is claimed and priced: the
    database's work on one batch overlaps the engine's on the next. The next claim skips the rows
    the batch being written still holds, and its accounts' locks wait for that batch's commit.

    A batch's objects are freed when it is written, so the cyclic collector is asked to look at
    them less often while the run lasts (``collector.fewer_collections``).
    """
    if batch_size < 1:
        raise InvalidInput("batch_size", f"must be at least 1, got {batch_size}")
    until = due_until(svc, until)
    live = min(batch_size * _LIVE_OBJECTS_PER_SUBSCRIPTION, _MOST_LIVE_OBJECTS)
    with (
        fewer_collections(live),
        ThreadPoolExecutor(1, "billing-writes") if svc.concurrent_writes else nullcontext() as pool,
    ):
        run = _Run(svc, until, on_batch, pool)
        while (priced := run.price_next(batch_size)) is not None:
            run.write(priced)
        run.drain()
    return replace(run.summary, failures=tuple(run.failed.values()))


@dataclass
class _Priced:
    """A claimed batch, renewed in its unit of work (``unit`` closes it) and not written yet, or
    (``uow`` None) one whose renewal was refused half-way and rolled back."""

    batch: list[Subscription]
    done: BillingRunSummary
    uow: UnitOfWork | None = None
    unit: ExitStack = field(default_factory=ExitStack)
    writes: RenewalWrites | None = None


def _finish(priced: _Priced) -> bool:
    """Write the batch's rows and commit; False when a write was refused (rolled back)."""
    assert priced.uow is not None
    with priced.unit:
        try:
            if priced.writes is not None:
                priced.uow.renewal_batches.write(priced.writes)
        except SeatLedgerError:
            priced.uow.rollback()
            return False
        priced.uow.commit()
        return True


class _Run:
    """One billing run's progress: its summary, the subscriptions that failed, and the batch
    being written on ``pool``'s thread (at most one; None: every batch is written in turn)."""

    def __init__(
        self,
        svc: Services,
        until: datetime,
        on_batch: BatchCallback | None,
        pool: ThreadPoolExecutor | None,
    ) -> None:
        self.svc, self.until, self.on_batch, self.pool = svc, until, on_batch, pool
        self.summary = BillingRunSummary(until=until)
        self.failed: dict[tuple[str, str], BillingFailure] = {}
        self._writing: tuple[_Priced, Future[bool]] | None = None

    def price_next(self, batch_size: int) -> _Priced | None:
        """Claim and renew the next batch (None: nothing is due any more)."""
        unit = ExitStack()
        uow = unit.enter_context(self.svc.uow())
        try:
            # Subscriptions that failed stay due and come first; ask for enough to get past them.
            claimed = uow.subscriptions.claim_due(self.until, limit=batch_size + len(self.failed))
            batch = [s for s in claimed if (s.account_id, s.id) not in self.failed]
            if not batch:
                unit.close()
                return None
            try:
                done, writes = _bill(uow, batch, self.until, self.svc.clock.now(), self.failed)
            except SeatLedgerError:
                # A write was refused half-way through one subscription: nothing of this batch
                # is kept, and its subscriptions are billed one per transaction instead.
                uow.rollback()
                unit.close()
                return _Priced(batch, BillingRunSummary(until=self.until))
        except BaseException:
            unit.close()
            raise
        return _Priced(batch, done, uow, unit, writes)

    def write(self, priced: _Priced) -> None:
        """Write and commit ``priced`` (on the pool's thread when there is one), then settle the
        batch written before it."""
        if priced.uow is None:
            self.drain()
            self._settle(priced, committed=False)
        elif self.pool is None:
            self._settle(priced, committed=_finish(priced))
        else:
            previous, self._writing = self._writing, (priced, self.pool.submit(_finish, priced))
            if previous is not None:
                self._settle(previous[0], committed=previous[1].result())

    def drain(self) -> None:
        """Wait for the batch being written, if any, and settle it."""
        job, self._writing = self._writing, None
        if job is not None:
            self._settle(job[0], committed=job[1].result())

    def _settle(self, priced: _Priced, *, committed: bool) -> None:
        done = priced.done
        if not committed:
            # The batch written after this one may hold accounts it needs: that one commits
            # first, then this one is billed one subscription per transaction.
            self.drain()
            done = _bill_one_by_one(self.svc, priced.batch, self.until, self.failed)
        self.summary = self.summary.merged(done)
        if self.on_batch is not None:
            self.on_batch(done)


def _bill(
    uow: UnitOfWork,
    batch: Sequence[Subscription],
    until: datetime,
    at: datetime,
    failed: dict[tuple[str, str], BillingFailure],
) -> tuple[BillingRunSummary, RenewalWrites | None]:
    """Renew ``batch``: what it did, and the set-based renewals' rows, not written yet."""
    renewed = renew_batch(uow, batch, until=until, at=at)
    for sub in batch:
        exc = renewed.failed.get((sub.account_id, sub.id))
        if exc is not None:
            failed[(sub.account_id, sub.id)] = _failure(sub, exc)
    issued = list(renewed.issued)
    billed = renewed.billed
    # What a renewal writes besides its own rows (a role expiry, an event) goes through the
    # gateway, one subscription at a time, in account order (the batch's accounts are locked).
    for sub in renewed.left:
        state = load_state_by_id(uow, sub.account_id, sub.id)
        effects = Effects()
        try:
            if not advance(state, effects, until=until):
                continue  # billed by another worker since it was found due
        except SeatLedgerError as exc:
            # Nothing is written yet for this one: record it and bill the rest of the batch.
            failed[(sub.account_id, sub.id)] = _failure(sub, exc)
            continue
        issued.extend(save_state(uow, state, effects, at=at))
        billed += 1
    return _summary(until, billed, issued), renewed.writes


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
                # Locked and read again: the batch's rollback let go of it, and since then the
                # next batch (or another run) may have billed it.
                locked = uow.subscriptions.get_for_update(sub.account_id, sub.id)
                done, writes = _bill(uow, [locked], until, svc.clock.now(), failed)
                if writes is not None:
                    uow.renewal_batches.write(writes)
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
