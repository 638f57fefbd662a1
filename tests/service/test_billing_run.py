"""The billing run as a use case: what it bills, in which batches, what it leaves alone, and how it
reports a subscription it cannot bill (on SQLite and PostgreSQL)."""

from __future__ import annotations

import gc
import threading
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from billing_builders import (
    OWNER,
    all_renewals,
    assert_gapless,
    at,
    invoice_numbers,
    renewal_counts,
    runtime_at,
    seed_due,
    stored_invoices,
    subscribe,
)
from sqlalchemy import insert

from seatledger.domain.errors import InvalidInput
from seatledger.domain.invoices import InvoiceLine, LineKind
from seatledger.domain.money import Money
from seatledger.domain.periods import Period
from seatledger.policy_files import resolve_policy
from seatledger.service import accounts, members, subscriptions, test_clocks
from seatledger.service.billing_run import BillingRunSummary, count_due, run_billing
from seatledger.service.ports import InvoiceKind, InvoiceStatus, SubscriptionStatus, UnitOfWork
from seatledger.store.tables import addons


def test_every_due_subscription_is_billed_once_in_batches(database_url: str) -> None:
    seeded = seed_due(database_url, accounts_count=4, per_account=3, anchor=at("2026-01-01"))
    with runtime_at(database_url, at("2026-03-15")) as (runtime, _):
        assert count_due(runtime) == 12
        batches: list[BillingRunSummary] = []
        summary = run_billing(runtime, batch_size=5, on_batch=batches.append)
        # Feb 1 and Mar 1 are due for each of the 12: 24 renewals of 2 seats x USD 10.
        assert summary.subscriptions_billed == 12
        assert summary.invoices_issued == 24
        assert summary.totals == {"USD": Money.of("480.00", "USD")}
        assert summary.failures == ()
        assert [b.subscriptions_billed for b in batches] == [5, 5, 2]
        assert sum(b.invoices_issued for b in batches) == 24
        assert count_due(runtime) == 0
        assert run_billing(runtime).subscriptions_billed == 0
        assert runtime.engine is not None
        assert renewal_counts(runtime.engine) == all_renewals(seeded, at("2026-03-15"))
        assert_gapless(invoice_numbers(runtime.engine), seeded.accounts)
        with runtime.uow() as uow:
            for account_id, sub_id in seeded.subscriptions:
                sub = uow.subscriptions.get(account_id, sub_id)
                assert sub.period == Period(at("2026-03-01"), at("2026-04-01"))
                numbers = [i.number for i in uow.invoices.for_subscription(account_id, sub_id)]
                assert len(numbers) == 2


def test_a_run_asks_for_fewer_young_collections_while_it_lasts(database_url: str) -> None:
    seed_due(database_url, accounts_count=2, per_account=2, anchor=at("2026-01-01"))
    before = gc.get_threshold()
    seen: list[int] = []
    with runtime_at(database_url, at("2026-02-15")) as (runtime, _):
        run_billing(runtime, batch_size=3, on_batch=lambda _: seen.append(gc.get_threshold()[0]))
    # 250 tracked objects a subscription of a batch, as the run allows them.
    assert seen == [max(before[0], 750)] * 2
    assert gc.get_threshold() == before


def test_a_run_leaves_no_garbage_for_the_cyclic_collector(database_url: str) -> None:
    """Guards against memory that grows with the number of renewals: a run asks for young
    collections only every 250 objects a subscription of a batch, so a reference cycle made per
    batch (the PostgreSQL account locks' statements, built per call, made two) stays until one
    comes, with everything it refers to."""
    seed_due(database_url, accounts_count=3, per_account=2, anchor=at("2026-01-01"))
    with runtime_at(database_url, at("2026-02-15")) as (runtime, _):
        run_billing(runtime, batch_size=2)  # the statements and caches made once, first
    collecting = gc.isenabled()
    with runtime_at(database_url, at("2026-03-15")) as (runtime, _):
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            summary = run_billing(runtime, batch_size=2)
            gc.collect()
            garbage = [type(o).__qualname__ for o in gc.garbage]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            if collecting:
                gc.enable()
    assert summary.subscriptions_billed == 6
    assert garbage == []


def test_totals_are_kept_per_currency(database_url: str) -> None:
    with runtime_at(database_url, at("2026-04-01")) as (runtime, clock):
        subscribe(runtime, "rallly-pro", 3)
        subscribe(runtime, "reviewer-pro", 3)
        clock.move_to(at("2026-05-01"))
        summary = run_billing(runtime)
    assert summary.totals == {
        "EUR": Money.of("198.00", "EUR"),
        "USD": Money.of("30.00", "USD"),
    }
    assert (summary.subscriptions_billed, summary.invoices_issued) == (2, 2)


def test_until_bills_only_what_is_due_by_then(database_url: str) -> None:
    with runtime_at(database_url, at("2026-01-10")) as (runtime, clock):
        account_id, _ = subscribe(runtime, "rallly-pro", 1)
        clock.move_to(at("2026-06-01"))
        # Periods end Feb 10, Mar 10, Apr 10: the one ending at `until` exactly is due.
        summary = run_billing(runtime, until=at("2026-04-10"))
        assert (summary.subscriptions_billed, summary.invoices_issued) == (1, 3)
        starts = [i.period.start for i in stored_invoices(runtime, account_id)]
        assert starts == [at("2026-01-10"), at("2026-02-10"), at("2026-03-10"), at("2026-04-10")]


def test_until_in_the_future_or_naive_or_a_bad_batch_size_is_refused(database_url: str) -> None:
    with runtime_at(database_url, at("2026-04-01")) as (runtime, _):
        with pytest.raises(InvalidInput) as future:
            run_billing(runtime, until=at("2026-04-01") + timedelta(seconds=1))
        assert future.value.field == "until"
        with pytest.raises(InvalidInput) as naive:
            run_billing(runtime, until=at("2026-03-01").replace(tzinfo=None))
        assert naive.value.field == "until"
        with pytest.raises(InvalidInput) as batch:
            run_billing(runtime, batch_size=0)
        assert batch.value.field == "batch_size"


def test_subscriptions_on_a_test_clock_are_left_to_their_clock(database_url: str) -> None:
    with runtime_at(database_url, at("2026-04-01")) as (runtime, clock):
        walled, _ = subscribe(runtime, "rallly-pro", 1)
        clocked = accounts.create_account(runtime, name="clocked")
        clock_id = test_clocks.create_test_clock(
            runtime, account_id=clocked, at=at("2026-04-01")
        ).id
        subscribe(runtime, "rallly-pro", 1, account_id=clocked, test_clock_id=clock_id)
        clock.move_to(at("2026-07-01"))
        assert count_due(runtime) == 1
        summary = run_billing(runtime)
        assert (summary.subscriptions_billed, summary.invoices_issued) == (1, 3)
        assert len(stored_invoices(runtime, walled)) == 4
        assert len(stored_invoices(runtime, clocked)) == 1


def test_role_expiries_before_a_renewal_run_at_their_own_instant(database_url: str) -> None:
    """Regression guard: an expiry inside the period must be billed from the day it happened, not
    from the renewal that found it (automatic seat mode, credit on the next invoice)."""
    policy = resolve_policy("voltasis-pro", {"expiring_roles": {"contractor": "P10D"}})
    with runtime_at(database_url, at("2026-03-01")) as (runtime, clock):
        account_id = accounts.create_account(runtime, name="expiring")
        subscriptions.subscribe(
            runtime,
            account_id=account_id,
            policy=policy,
            preset=None,
            workspaces=["main"],
            owner_email=OWNER,
            seats=1,
        )
        # A contractor from Mar 1 to Mar 11: 2 seats for 10 days, then 1.
        members.invite_members(
            runtime,
            account_id=account_id,
            workspace="main",
            actor=OWNER,
            emails=["c@main.test"],
            role="contractor",
        )
        clock.move_to(at("2026-04-01"))
        run_billing(runtime)
        renewal = stored_invoices(runtime, account_id)[-1]
    assert [(ln.kind, ln.amount.format(), ln.period.start) for ln in renewal.lines] == [
        (LineKind.PRORATION_CHARGE, "10.00", at("2026-03-01")),  # 1 x 10 x 31/31
        (LineKind.PRORATION_CREDIT, "-6.77", at("2026-03-11")),  # 1 x 10 x 21/31 = 6.774
        (LineKind.SEATS, "10.00", at("2026-04-01")),
    ]
    assert renewal.total.format() == "13.23"


def test_a_subscription_canceled_at_period_end_gets_a_final_invoice_and_no_renewal(
    database_url: str,
) -> None:
    with runtime_at(database_url, at("2026-03-01")) as (runtime, clock):
        account_id, _ = subscribe(runtime, "voltasis-pro", 1)
        common = {"account_id": account_id, "workspace": "main", "actor": OWNER}
        clock.move_to(at("2026-03-17"))
        members.invite_members(runtime, **common, emails=["a@main.test"], role="employee")
        subscriptions.cancel_subscription(runtime, **common, at_period_end=True)
        clock.move_to(at("2026-06-01"))
        summary = run_billing(runtime)
        assert (summary.subscriptions_billed, summary.invoices_issued) == (1, 1)
        final = stored_invoices(runtime, account_id)[-1]
        assert final.reason == "cancellation"
        # The pending line of the invite (1 x 10 x 15/31 = 4.838) is settled, nothing renewed.
        assert [(ln.kind, ln.amount.format()) for ln in final.lines] == [
            (LineKind.PRORATION_CHARGE, "4.84")
        ]
        with runtime.uow() as uow:
            sub = uow.subscriptions.for_account(account_id)[0]
        assert sub.status is SubscriptionStatus.CANCELED
        assert sub.canceled_at == at("2026-04-01")
        assert run_billing(runtime).invoices_issued == 0


def test_a_subscription_that_cannot_be_renewed_is_reported_and_the_others_are_billed(
    database_url: str,
) -> None:
    seeded = seed_due(database_url, accounts_count=3, per_account=2, anchor=at("2026-01-01"))
    broken_account, broken = seeded.subscriptions[2]
    with runtime_at(database_url, at("2026-02-10")) as (runtime, _):
        assert runtime.engine is not None
        with runtime.engine.begin() as conn:
            # An add-on the plan does not sell: pricing its renewal is refused.
            conn.execute(
                insert(addons).values(
                    account_id=broken_account,
                    subscription_id=broken,
                    name="retired_pack",
                    count=1,
                    updated_at=at("2026-01-01"),
                )
            )
        summary = run_billing(runtime, batch_size=2)
        assert summary.subscriptions_billed == 5
        assert [(f.subscription_id, f.code) for f in summary.failures] == [
            (broken, "invalid_input")
        ]
        assert "retired_pack" in summary.failures[0].message
        # Left due, and reported again by the next run; nothing of it was written.
        assert count_due(runtime) == 1
        assert [f.subscription_id for f in run_billing(runtime).failures] == [broken]
        assert [i.subscription_id for i in stored_invoices(runtime, broken_account)] == [
            seeded.subscriptions[3][1]
        ]


@pytest.mark.parametrize("batch_size", [6, 2])
def test_a_write_refused_half_way_rolls_back_its_batch_which_is_billed_one_by_one(
    database_url: str, batch_size: int
) -> None:
    """With batches of 2 the refused batch shares its account with the next one, which on
    PostgreSQL is priced (and holds the account's lock) while the refused one is written: it is
    committed before the refused batch is billed again, one subscription at a time."""
    seeded = seed_due(database_url, accounts_count=2, per_account=3, anchor=at("2026-01-01"))
    account_id, clashing = seeded.subscriptions[4]
    with runtime_at(database_url, at("2026-02-10")) as (runtime, _):
        period = Period(at("2026-02-01"), at("2026-03-01"))
        usd = Money.of("10.00", "USD")
        with runtime.uow() as uow:
            # A renewal of February written already (by hand), while the period still says
            # January: writing the run's own renewal breaks the one-per-period key.
            uow.invoices.add(
                account_id,
                clashing,
                kind=InvoiceKind.INVOICE,
                status=InvoiceStatus.OPEN,
                reason="renewal",
                period=period,
                currency="USD",
                lines=[InvoiceLine(LineKind.SEATS, "1 × Seat", 1, usd, usd, period)],
                issued_at=period.start,
                at=period.start,
                renewal_of=period.start,
            )
            uow.commit()
        summary = run_billing(runtime, batch_size=batch_size)
        assert summary.subscriptions_billed == 5
        assert [(f.subscription_id, f.code) for f in summary.failures] == [(clashing, "conflict")]
        assert runtime.engine is not None
        counts = renewal_counts(runtime.engine)
        assert all(n == 1 for n in counts.values())
        assert len(counts) == 6
        assert_gapless(invoice_numbers(runtime.engine), seeded.accounts)


class _Spied:
    """A unit of work that logs its claims (how many it got) and its commits, with the thread.

    A commit on another thread than the test's waits (up to 5 s) until the next claim is logged,
    so the log's order is the same in every run: a run that waited for each commit before its
    next claim would log the commit first anyway (after the wait)."""

    def __init__(self, inner: UnitOfWork, log: list[tuple[str, int, str]]) -> None:
        self._inner, self._log = inner, log
        self._claims_seen = 0

    def __enter__(self) -> _Spied:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.__exit__(*exc)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @property
    def subscriptions(self) -> Any:
        spied, inner = self, self._inner.subscriptions

        class Claims:
            def __getattr__(self, name: str) -> Any:
                return getattr(inner, name)

            def claim_due(self, until: datetime, *, limit: int) -> Any:
                found = inner.claim_due(until, limit=limit)
                with _CLAIMED:
                    spied._log.append(("claim", len(found), threading.current_thread().name))
                    spied._claims_seen = _claims(spied._log)
                    _CLAIMED.notify_all()
                return found

        return Claims()

    def commit(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            with _CLAIMED:
                _CLAIMED.wait_for(lambda: _claims(self._log) > self._claims_seen, timeout=5)
        self._inner.commit()
        self._log.append(("commit", 0, threading.current_thread().name))


_CLAIMED = threading.Condition()


def _claims(log: list[tuple[str, int, str]]) -> int:
    return sum(1 for event, _, _ in log if event == "claim")


def test_on_postgresql_a_batch_is_written_while_the_next_is_priced(database_url: str) -> None:
    """PostgreSQL: each batch is committed on the run's writing thread, and the next batch is
    claimed before the one before it commits. SQLite (its writers take turns): every batch is
    committed on the caller's thread before the next is claimed."""
    seed_due(database_url, accounts_count=3, per_account=2, anchor=at("2026-01-01"))
    with runtime_at(database_url, at("2026-02-10")) as (runtime, _):
        log: list[tuple[str, int, str]] = []
        spied = replace(runtime, uow=lambda: _Spied(runtime.uow(), log))
        summary = run_billing(spied, batch_size=2)
    assert summary.subscriptions_billed == 6
    main = threading.main_thread().name
    events = [(event, n, "main" if thread == main else "writer") for event, n, thread in log]
    assert runtime.engine is not None
    assert runtime.concurrent_writes == (runtime.engine.dialect.name == "postgresql")
    if runtime.concurrent_writes:
        assert events == [
            ("claim", 2, "main"),
            ("claim", 2, "main"),
            ("commit", 0, "writer"),
            ("claim", 2, "main"),
            ("commit", 0, "writer"),
            ("claim", 0, "main"),
            ("commit", 0, "writer"),
        ]
    else:
        assert events == [
            ("claim", 2, "main"),
            ("commit", 0, "main"),
            ("claim", 2, "main"),
            ("commit", 0, "main"),
            ("claim", 2, "main"),
            ("commit", 0, "main"),
            ("claim", 0, "main"),
        ]
