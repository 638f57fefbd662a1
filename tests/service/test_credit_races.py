"""One credit balance, two transactions: every subscription of an account draws on its balance.

PostgreSQL only (SQLite's writers take turns, so its transactions never overlap). Each test holds
the account's row from a connection of its own while two transactions start, waits until both are
stuck on a lock, then lets them go: had each read the balance before taking the account's lock,
both would spend the same credit and leave the balance below zero.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from lock_waits import WAIT_SECONDS, wait_for_waiters
from service_world import Subscribed, subscribe, subscribe_alongside
from sqlalchemy import Connection, Engine, text

from seatledger.bootstrap import Runtime, bootstrap
from seatledger.clock import ManualClock
from seatledger.domain.money import Money
from seatledger.service import billing_run, members, subscriptions, test_clocks
from seatledger.service.ports import InvoiceKind

pytestmark = pytest.mark.postgres

CREDIT = Money.of("50.00", "USD")


@pytest.fixture
def runtime(postgres_database_url: str, clock: ManualClock) -> Iterator[Runtime]:
    built = bootstrap(postgres_database_url, clock=clock)
    yield built
    built.dispose()


def two_subscriptions_with_credit(
    runtime: Runtime, clock: ManualClock, *, apart: timedelta = timedelta(0)
) -> tuple[Subscribed, Subscribed]:
    """Two subscriptions (workspaces ``a`` and ``b``, the second taken ``apart`` later) of one
    account holding ``CREDIT``."""
    first = subscribe(runtime, "rallly-pro", seats=3, workspaces=("a",))
    clock.advance(apart)
    second = subscribe_alongside(first, "b", seats=3)
    with runtime.uow() as uow:
        uow.credits.add(first.account_id, amount=CREDIT, reason="goodwill", at=runtime.clock.now())
        uow.commit()
    return first, second


def held_account(engine: Engine, account_id: str) -> Connection:
    """A connection holding the account's row lock, as the engine takes it, until it is closed.
    (FOR NO KEY UPDATE: rows that refer to the account can still be written.)"""
    conn = engine.connect()
    conn.begin()
    conn.execute(
        text("SELECT id FROM accounts WHERE id = :id FOR NO KEY UPDATE"), {"id": account_id}
    )
    return conn


def run_while_held(
    engine: Engine,
    account_id: str,
    work: list[Callable[[], object]],
    *,
    waiting: int,
    one_by_one: bool = False,
) -> None:
    """Start ``work`` (one thread each) while the account is held; release it once ``waiting``
    transactions wait on a lock, and wait for all of them. Errors are raised here. With
    ``one_by_one`` each job is started once the one before it waits on a lock, so they queue
    for the account in the order given."""
    errors: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        try:
            job()
        except BaseException as error:  # reported by the test's thread
            errors.append(error)

    holder = held_account(engine, account_id)
    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    try:
        for started, thread in enumerate(threads, start=1):
            thread.start()
            if one_by_one:
                wait_for_waiters(engine, started)
        wait_for_waiters(engine, waiting)
    finally:
        holder.rollback()
        holder.close()
    for thread in threads:
        thread.join(WAIT_SECONDS)
    if errors:
        raise errors[0]


def credit_used(runtime: Runtime, account_id: str) -> list[Money]:
    """The credit each invoice of the account drew from the balance, in issue order."""
    with runtime.uow() as uow:
        entries = uow.credits.entries(account_id)
    return [-entry.amount for entry in entries if entry.amount.is_negative]


def balance(runtime: Runtime, account_id: str) -> Money:
    with runtime.uow() as uow:
        return uow.credits.balance(account_id, "USD")


def test_two_seat_purchases_on_one_account_spend_its_credit_once(
    runtime: Runtime, clock: ManualClock
) -> None:
    """Each purchase charges more than the balance holds: the first takes all of it, the second
    finds none left. Read outside the account's lock, both took 50.00."""
    first, second = two_subscriptions_with_credit(runtime, clock)
    clock.advance(timedelta(days=10))

    def buy(world: Subscribed) -> Callable[[], object]:
        return lambda: subscriptions.change_seat_count(
            runtime, **world.common(world.workspaces[0]), actor=world.owner, seats=13
        )

    run_while_held(first.engine, first.account_id, [buy(first), buy(second)], waiting=2)

    assert credit_used(runtime, first.account_id) == [CREDIT]
    assert balance(runtime, first.account_id) == Money.zero("USD")
    assert first.subscription().seats_total == second.subscription().seats_total == 13


def test_two_billing_runs_renewing_one_account_spend_its_credit_once(
    runtime: Runtime, clock: ManualClock
) -> None:
    """Two runs side by side, one subscription each (batches of one, ``SKIP LOCKED``)."""
    first, _ = two_subscriptions_with_credit(runtime, clock)
    clock.advance(timedelta(days=31))

    def run() -> object:
        return billing_run.run_billing(runtime, batch_size=1)

    run_while_held(first.engine, first.account_id, [run, run], waiting=2)

    with runtime.uow() as uow:
        renewals = [
            i for i in uow.invoices.for_account(first.account_id) if i.kind is InvoiceKind.INVOICE
        ]
    assert len([i for i in renewals if i.renewal_of is not None]) == 2
    # Each renewal is 30.00: the first takes 30.00, the second the 20.00 left.
    assert credit_used(runtime, first.account_id) == [
        Money.of("30.00", "USD"),
        CREDIT - Money.of("30.00", "USD"),
    ]
    assert balance(runtime, first.account_id) == Money.zero("USD")


def test_a_seat_purchase_and_a_renewal_of_one_account_spend_its_credit_once(
    runtime: Runtime, clock: ManualClock
) -> None:
    """The second subscription began ten days after the first: the run renews the first while
    the purchase is charged on the second."""
    first, second = two_subscriptions_with_credit(runtime, clock, apart=timedelta(days=10))
    clock.advance(timedelta(days=21))

    def buy() -> object:
        return subscriptions.change_seat_count(
            runtime, **second.common("b"), actor=second.owner, seats=13
        )

    def run() -> object:
        return billing_run.run_billing(runtime)

    run_while_held(first.engine, first.account_id, [buy, run], waiting=2)

    used = credit_used(runtime, first.account_id)
    assert sum(used, Money.zero("USD")) == CREDIT
    assert balance(runtime, first.account_id) == Money.zero("USD")


def test_a_change_on_an_account_without_credit_takes_no_account_lock(runtime: Runtime) -> None:
    """A seat change that read no credit spends none: it does not wait for the account's row."""
    world = subscribe(runtime, "rallly-pro", seats=5)
    outcome: list[object] = []

    def invite() -> None:
        outcome.append(
            members.invite_members(
                runtime,
                **world.common(),
                actor=world.owner,
                emails=["ana@main.test"],
                role="member",
            )
        )

    holder = held_account(world.engine, world.account_id)
    try:
        thread = threading.Thread(target=invite)
        thread.start()
        thread.join(WAIT_SECONDS)
        assert not thread.is_alive(), "the invitation waited for the account's row"
    finally:
        holder.rollback()
        holder.close()
    assert len(outcome) == 1
    assert world.person_id("ana@main.test")


def test_a_test_clock_advance_and_a_purchase_on_one_of_its_subscriptions_never_deadlock(
    runtime: Runtime, clock: ManualClock
) -> None:
    """The advance locks every subscription of its clock before the account; the purchase locks
    its subscription, then the account. The advance starts first: had it taken the account with
    its first subscription, it would queue for the account ahead of the purchase, get it, and
    wait for the second subscription, which the purchase holds while it waits for the account
    (PostgreSQL then aborts one of them as a deadlock)."""
    first, second = two_subscriptions_with_credit(runtime, clock)
    made = test_clocks.create_test_clock(runtime, account_id=first.account_id, at=clock.now())
    test_clocks.attach_test_clock(runtime, account_id=first.account_id, clock_id=made.id)

    def advance() -> object:
        return test_clocks.advance_test_clock(
            runtime,
            account_id=first.account_id,
            clock_id=made.id,
            to=clock.now() + timedelta(days=31),
        )

    # The purchase is on the subscription the advance locks last (ids are random).
    last = max(first, second, key=lambda world: world.subscription_id)

    def buy() -> object:
        return subscriptions.change_seat_count(
            runtime, **last.common(last.workspaces[0]), actor=last.owner, seats=13
        )

    run_while_held(first.engine, first.account_id, [advance, buy], waiting=2, one_by_one=True)

    assert sum(credit_used(runtime, first.account_id), Money.zero("USD")) == CREDIT
    assert balance(runtime, first.account_id) == Money.zero("USD")
    assert last.subscription().seats_total == 13
