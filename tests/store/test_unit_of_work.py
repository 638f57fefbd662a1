"""The unit of work: all or nothing, one at a time, and the seat lock that serializes writers."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from store_builders import ACCOUNT, SUBSCRIPTION, World, add_account, month_from, new_subscription

from seatledger.clock import ManualClock
from seatledger.domain.errors import Conflict, NotFound
from seatledger.domain.money import Money
from seatledger.service.ports import Account, Subscription, SubscriptionStatus
from seatledger.store import SqlUnitOfWork, make_engine

LOCK_WAIT_SECONDS = 10


class Boom(Exception):
    pass


def test_an_exception_rolls_back_everything_written(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with pytest.raises(Boom), uow:
        uow.accounts.add(Account("acc_new", "New", clock.now()))
        uow.ledger.append(
            ACCOUNT,
            SUBSCRIPTION,
            at=clock.now(),
            kind="x",
            seats_total=1,
            seats_used=1,
            seats_at_renewal=1,
            seats_paid=1,
        )
        uow.subscriptions.save(replace(world.subscription, seats_total=9))
        raise Boom
    with uow:
        with pytest.raises(NotFound):
            uow.accounts.get("acc_new")
        assert uow.ledger.entries(ACCOUNT, SUBSCRIPTION) == ()
        assert uow.subscriptions.get(ACCOUNT, SUBSCRIPTION) == world.subscription


def test_leaving_without_commit_writes_nothing(uow: SqlUnitOfWork, clock: ManualClock) -> None:
    with uow:
        uow.accounts.add(Account("acc_new", "New", clock.now()))
    with uow, pytest.raises(NotFound):
        uow.accounts.get("acc_new")


def test_an_explicit_rollback_undoes_what_came_before_it(
    uow: SqlUnitOfWork, clock: ManualClock
) -> None:
    with uow:
        uow.accounts.add(Account("acc_gone", "Gone", clock.now()))
        uow.rollback()
        uow.accounts.add(Account("acc_kept", "Kept", clock.now()))
        uow.commit()
    with uow:
        assert uow.accounts.get("acc_kept").name == "Kept"
        with pytest.raises(NotFound):
            uow.accounts.get("acc_gone")


def test_a_unit_of_work_is_one_transaction_at_a_time(uow: SqlUnitOfWork) -> None:
    with pytest.raises(RuntimeError, match="inside `with uow:`"):
        uow.accounts.get("acc_any")
    with uow, pytest.raises(RuntimeError, match="open already"), uow:
        pass
    with uow, pytest.raises(NotFound):  # usable again after the refused nesting
        uow.accounts.get("acc_any")


def test_a_finished_unit_is_freed_at_once_without_the_garbage_collector(
    engine: Engine, world: World
) -> None:
    # Its repositories do not refer back to it: a unit used by every request is freed when the
    # request drops it, not by a collection that every few requests walks them all.
    collecting = gc.isenabled()
    gc.disable()
    try:
        uow = SqlUnitOfWork(engine)
        with uow:
            uow.subscriptions.get(ACCOUNT, SUBSCRIPTION)
            with uow.joined() as inner:
                inner.subscriptions.get(ACCOUNT, SUBSCRIPTION)
                inner.commit()
            uow.commit()
        units = [weakref.ref(uow), weakref.ref(inner)]
        del uow, inner
        assert [unit() for unit in units] == [None, None]
    finally:
        if collecting:
            gc.enable()


def test_repositories_of_a_unit_outside_its_block_are_refused(engine: Engine, world: World) -> None:
    uow = SqlUnitOfWork(engine)
    with pytest.raises(RuntimeError, match="inside `with uow:`"):
        uow.subscriptions.get(ACCOUNT, SUBSCRIPTION)
    with uow:
        inner = uow.joined()
        with pytest.raises(RuntimeError, match="inside `with uow:`"):
            inner.subscriptions.get(ACCOUNT, SUBSCRIPTION)
        with inner:
            assert inner.subscriptions.get(ACCOUNT, SUBSCRIPTION).id == SUBSCRIPTION
        with pytest.raises(RuntimeError, match="inside `with uow:`"):
            inner.subscriptions.get(ACCOUNT, SUBSCRIPTION)
    with pytest.raises(RuntimeError, match="inside `with uow:`"):
        uow.subscriptions.get(ACCOUNT, SUBSCRIPTION)


def test_a_subscription_round_trips_and_saves_with_a_version_check(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        loaded = uow.subscriptions.get_for_update(ACCOUNT, SUBSCRIPTION)
        assert loaded == world.subscription
        assert loaded.policy == world.subscription.policy
        later = clock.advance(timedelta(days=10))
        changed = replace(
            loaded,
            seats_total=3,
            seats_paid=3,
            cancel_at_period_end=True,
            canceled_at=later,
            test_clock_id="clk_1",
        )
        saved = uow.subscriptions.save(changed)
        assert saved.version == loaded.version + 1
        uow.commit()
    # The stale copy: refused when the update runs (on PostgreSQL a unit sends its writes
    # together, by the commit at the latest), and nothing of it is kept.
    with uow, pytest.raises(Conflict, match="changed meanwhile"):
        uow.subscriptions.save(replace(changed, seats_total=4))
        uow.commit()
    with uow:
        assert uow.subscriptions.get(ACCOUNT, SUBSCRIPTION) == saved
        assert uow.subscriptions.for_account(ACCOUNT) == (saved,)
        with pytest.raises(NotFound):
            uow.subscriptions.get(ACCOUNT, "sub_nowhere")


def test_a_workspace_belongs_to_one_subscription_at_most(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        uow.subscriptions.add(new_subscription("sub_two", clock.now()))
        with pytest.raises(Conflict, match="at most one subscription"):
            uow.subscriptions.set_workspaces(ACCOUNT, "sub_two", ["ws_side"])
        uow.subscriptions.set_workspaces(ACCOUNT, SUBSCRIPTION, ["ws_main"])
        uow.subscriptions.set_workspaces(ACCOUNT, "sub_two", ["ws_side"])
        uow.commit()
    with uow:
        assert uow.subscriptions.workspace_ids(ACCOUNT, SUBSCRIPTION) == ("ws_main",)
        covering = uow.subscriptions.find_for_workspace(ACCOUNT, "ws_side")
        assert covering is not None and covering.id == "sub_two"


def test_claim_due_finds_active_subscriptions_whose_period_has_ended(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    start = clock.now()
    with uow:
        uow.subscriptions.add(new_subscription("sub_later", start + timedelta(days=5)))
        canceled = replace(
            new_subscription("sub_canceled", start), status=SubscriptionStatus.CANCELED
        )
        uow.subscriptions.add(canceled)
        uow.commit()
    end = month_from(start).end
    with uow:
        assert uow.subscriptions.claim_due(end - timedelta(seconds=1), limit=10) == ()
        assert [s.id for s in uow.subscriptions.claim_due(end, limit=10)] == [SUBSCRIPTION]
        assert [s.id for s in uow.subscriptions.claim_due(end + timedelta(days=5), limit=10)] == [
            SUBSCRIPTION,
            "sub_later",
        ]
        assert len(uow.subscriptions.claim_due(end + timedelta(days=5), limit=1)) == 1


def test_claim_due_takes_month_end_dues_after_every_ended_period_and_within_the_limit(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    start = clock.now()
    end = month_from(start).end
    run_at = end + timedelta(days=5)
    with uow:
        # Due by a month end only: its period ends after the run's instant.
        uow.subscriptions.add(
            replace(new_subscription("sub_month_end", start + timedelta(days=10)), month_end_at=end)
        )
        # A month end left from before its period started is not due.
        uow.subscriptions.add(
            replace(
                new_subscription("sub_stale_month_end", start + timedelta(days=10)),
                month_end_at=start + timedelta(days=9),
            )
        )
        # Due both ways: claimed once.
        uow.subscriptions.add(
            replace(new_subscription("sub_later", start + timedelta(days=5)), month_end_at=end)
        )
        uow.commit()
    with uow:
        claimed = uow.subscriptions.claim_due(run_at, limit=10)
        assert [s.id for s in claimed] == [SUBSCRIPTION, "sub_later", "sub_month_end"]
        assert uow.subscriptions.count_due(run_at) == 3
    with uow:
        # A full batch of ended periods leaves the month-end due for the next claim.
        assert [s.id for s in uow.subscriptions.claim_due(run_at, limit=2)] == [
            SUBSCRIPTION,
            "sub_later",
        ]
        assert [s.id for s in uow.subscriptions.claim_due(run_at, limit=3)][2:] == ["sub_month_end"]


def second_waited_for_first(
    engine: Engine,
    first: Callable[[SqlUnitOfWork], Callable[[], None]],
    second: Callable[[SqlUnitOfWork], None],
) -> bool:
    """Run ``first`` (it takes the lock and returns what finishes its unit) in a unit on one
    thread and, once it holds the lock, ``second`` in a unit on another; ``first``'s finish
    runs half a second later. Whether ``second`` was still waiting then; either one's error is
    raised here."""
    first_locked, release_first = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def run_first() -> None:
        try:
            with SqlUnitOfWork(engine) as uow:
                finish = first(uow)
                first_locked.set()
                release_first.wait(LOCK_WAIT_SECONDS)
                finish()
        except BaseException as error:  # reported by the main thread
            errors.append(error)
            first_locked.set()

    def run_second() -> None:
        try:
            with SqlUnitOfWork(engine) as uow:
                second(uow)
        except BaseException as error:
            errors.append(error)

    one, two = threading.Thread(target=run_first), threading.Thread(target=run_second)
    one.start()
    assert first_locked.wait(LOCK_WAIT_SECONDS)
    two.start()
    two.join(timeout=0.5)
    waited = two.is_alive()
    release_first.set()
    one.join(LOCK_WAIT_SECONDS)
    two.join(LOCK_WAIT_SECONDS)
    if errors:
        raise errors[0]
    return waited


def test_a_second_writer_waits_for_the_first_to_commit(
    engine: Engine, world: World, clock: ManualClock
) -> None:
    """Guards against lost seat updates: two changes read the same seat count and both write.

    The first unit takes the seat lock (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite
    ``BEGIN IMMEDIATE``) and holds it; the second must block until the first commits, and then
    read what the first wrote rather than the count they both started from.
    """
    seen_by_second: list[int] = []

    def add_a_seat(uow: SqlUnitOfWork, sub: Subscription) -> None:
        uow.subscriptions.save(replace(sub, seats_total=sub.seats_total + 1))
        uow.commit()

    def first(uow: SqlUnitOfWork) -> Callable[[], None]:
        sub = uow.subscriptions.get_for_update(ACCOUNT, SUBSCRIPTION)
        return lambda: add_a_seat(uow, sub)

    def second(uow: SqlUnitOfWork) -> None:
        sub = uow.subscriptions.get_for_update(ACCOUNT, SUBSCRIPTION)
        seen_by_second.append(sub.seats_total)
        add_a_seat(uow, sub)

    assert second_waited_for_first(engine, first, second), "the second writer did not wait"
    assert seen_by_second == [world.subscription.seats_total + 1]
    with SqlUnitOfWork(engine) as uow:
        assert (
            uow.subscriptions.get(ACCOUNT, SUBSCRIPTION).seats_total
            == world.subscription.seats_total + 2
        )


def test_the_locked_read_brings_the_credit_balances_the_last_lock_holder_committed(
    engine: Engine, world: World, clock: ManualClock
) -> None:
    # The balances are read with the subscription, in the same round trip on PostgreSQL: they
    # must be what the change that held the lock before committed, not what was there when the
    # read was sent.
    seen: list[Mapping[str, Money] | None] = []

    def credit_and_commit(uow: SqlUnitOfWork) -> None:
        uow.credits.add(ACCOUNT, amount=Money.of("12.50", "EUR"), reason="x", at=clock.now())
        uow.commit()

    def first(uow: SqlUnitOfWork) -> Callable[[], None]:
        uow.subscriptions.find_for_workspace_name(ACCOUNT, "main", lock=True)
        return lambda: credit_and_commit(uow)

    def second(uow: SqlUnitOfWork) -> None:
        found = uow.subscriptions.find_for_workspace_name(ACCOUNT, "main", lock=True)
        assert found is not None
        seen.append(found.balances)

    assert second_waited_for_first(engine, first, second), "the second reader did not wait"
    assert seen == [{"EUR": Money.of("12.50", "EUR")}]


def test_balances_come_with_the_locked_read_only_and_match_the_credit_balance(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        found = uow.subscriptions.find_for_workspace_name(ACCOUNT, "main", lock=True)
        assert found is not None and found.balances == {}
        for amount in (Money.of("10.00", "EUR"), Money.of("-2.25", "EUR"), Money.of("3", "USD")):
            uow.credits.add(ACCOUNT, amount=amount, reason="x", at=clock.now())
        found = uow.subscriptions.find_for_workspace_name(ACCOUNT, "main", lock=True)
        assert found is not None and found.balances == {
            "EUR": uow.credits.balance(ACCOUNT, "EUR"),
            "USD": uow.credits.balance(ACCOUNT, "USD"),
        }
        assert found.balances["EUR"] == Money.of("7.75", "EUR")
        unlocked = uow.subscriptions.find_for_workspace_name(ACCOUNT, "main", lock=False)
        assert unlocked is not None and unlocked.balances is None


@pytest.mark.postgres
def test_billing_workers_skip_subscriptions_another_worker_holds(
    postgres_database_url: str, clock: ManualClock
) -> None:
    """Guards against billing workers queueing behind each other (or billing one subscription
    twice at once): ``claim_due`` skips rows locked by another transaction."""
    engine = make_engine(postgres_database_url)
    try:
        start = clock.now()
        with SqlUnitOfWork(engine) as uow:
            add_account(uow, ACCOUNT, start)
            for sub in ("sub_a", "sub_b"):
                uow.subscriptions.add(new_subscription(sub, start))
            uow.commit()
        due = month_from(start).end
        with SqlUnitOfWork(engine) as worker_one, SqlUnitOfWork(engine) as worker_two:
            (claimed_one,) = worker_one.subscriptions.claim_due(due, limit=1)
            claimed_two = worker_two.subscriptions.claim_due(due, limit=10)
            assert [s.id for s in claimed_two] == sorted({"sub_a", "sub_b"} - {claimed_one.id})
    finally:
        engine.dispose()


def test_add_on_counts_are_set_changed_and_removed(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        assert uow.addons.counts(ACCOUNT, SUBSCRIPTION) == {}
        uow.addons.set_count(ACCOUNT, SUBSCRIPTION, "admin_seat_pack", 1, at=clock.now())
        uow.addons.set_count(ACCOUNT, SUBSCRIPTION, "extra_pack", 2, at=clock.now())
        uow.addons.set_count(ACCOUNT, SUBSCRIPTION, "admin_seat_pack", 3, at=clock.now())
        uow.commit()
    with uow:
        assert uow.addons.counts(ACCOUNT, SUBSCRIPTION) == {"admin_seat_pack": 3, "extra_pack": 2}
        uow.addons.set_count(ACCOUNT, SUBSCRIPTION, "extra_pack", 0, at=clock.now())
        with pytest.raises(ValueError, match="never negative"):
            uow.addons.set_count(ACCOUNT, SUBSCRIPTION, "extra_pack", -1, at=clock.now())
        uow.commit()
    with uow:
        assert uow.addons.counts(ACCOUNT, SUBSCRIPTION) == {"admin_seat_pack": 3}


def test_a_workspace_outside_every_bundle_has_no_subscription(
    uow: SqlUnitOfWork, world: World
) -> None:
    with uow:
        uow.subscriptions.set_workspaces(ACCOUNT, SUBSCRIPTION, [])
        assert uow.subscriptions.workspace_ids(ACCOUNT, SUBSCRIPTION) == ()
        assert uow.subscriptions.find_for_workspace(ACCOUNT, "ws_main") is None
