"""Writes a unit of work defers on PostgreSQL (``driver_statements.defer_writes``): sent together before
the next statement that needs an answer or with the commit, refused there as the statement layer
refuses them, dropped by a rollback. On SQLite they run at once; what a caller sees is the same."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError, OperationalError
from store_builders import ACCOUNT, SUBSCRIPTION, World

from seatledger.clock import ManualClock
from seatledger.domain.errors import Conflict
from seatledger.service.ports import AuditRecord, OutboxEvent
from seatledger.store import SqlUnitOfWork, driver_statements


def audit(target: str, clock: ManualClock) -> AuditRecord:
    return AuditRecord(ACCOUNT, 0, at=clock.now(), actor="ana@acme.test", action="x", target=target)


def test_a_unit_reads_what_it_wrote_before_and_keeps_it_after_commit(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        saved = uow.subscriptions.save(replace(world.subscription, seats_total=9))
        uow.change_records.write(audit=[audit("first", clock)])
        # Through the statement layer and straight through the driver alike.
        assert uow.subscriptions.get(ACCOUNT, SUBSCRIPTION).seats_total == 9
        found = uow.subscriptions.find_for_workspace_name(ACCOUNT, "main", lock=True)
        assert found is not None and found.subscription.version == saved.version
        assert [a.target for a in uow.audit.entries(ACCOUNT)] == ["first"]
        uow.change_records.write(audit=[audit("second", clock)])
        uow.commit()
    with uow:
        assert [a.target for a in uow.audit.entries(ACCOUNT)] == ["first", "second"]
        assert uow.subscriptions.get(ACCOUNT, SUBSCRIPTION).version == saved.version


def test_a_refused_write_is_raised_by_the_next_statement_and_a_rollback_keeps_nothing(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        with pytest.raises(IntegrityError):
            uow.change_records.write(
                audit=[audit("kept?", clock)],
                outbox=[OutboxEvent("acc_none", 0, "x", {}, created_at=clock.now())],
            )
            uow.audit.entries(ACCOUNT)
        uow.rollback()
        assert uow.audit.entries(ACCOUNT) == ()
        # The unit goes on: a later write and commit work.
        uow.change_records.write(audit=[audit("after", clock)])
        uow.commit()
    with uow:
        assert [a.target for a in uow.audit.entries(ACCOUNT)] == ["after"]


@pytest.mark.parametrize("opened_by_a_read", [False, True])
def test_a_stale_version_is_a_conflict_by_the_commit_and_nothing_is_kept(
    uow: SqlUnitOfWork, world: World, clock: ManualClock, opened_by_a_read: bool
) -> None:
    # Opened by a read, the transaction has begun before the writes are queued (a seat change's
    # case): they go to the server on their own, with the commit.
    stale = replace(world.subscription, version=world.subscription.version + 5, seats_total=7)
    with uow:
        if opened_by_a_read:
            uow.subscriptions.get(ACCOUNT, SUBSCRIPTION)
        with pytest.raises(Conflict, match="changed meanwhile"):
            uow.change_records.write(audit=[audit("before the stale save", clock)])
            uow.subscriptions.save(stale)
            uow.change_records.write(audit=[audit("after it", clock)])
            uow.commit()
        uow.rollback()
    with uow:
        assert uow.subscriptions.get(ACCOUNT, SUBSCRIPTION) == world.subscription
        assert uow.audit.entries(ACCOUNT) == ()


def test_a_savepoint_rolled_back_drops_only_what_was_written_inside_it(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        uow.change_records.write(audit=[audit("outside", clock)])
        with uow.joined() as inner:
            inner.change_records.write(audit=[audit("inside", clock)])
            inner.rollback()
            inner.change_records.write(audit=[audit("inside, kept", clock)])
            inner.commit()
        uow.commit()
    with uow:
        assert [a.target for a in uow.audit.entries(ACCOUNT)] == ["outside", "inside, kept"]


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_on_postgresql_nothing_is_sent_before_it_is_needed(
    engine: Engine, uow: SqlUnitOfWork, world: World
) -> None:
    lock = text("SELECT version FROM subscriptions WHERE id = :id FOR UPDATE NOWAIT")
    with uow:
        uow.subscriptions.save(replace(world.subscription, seats_total=9))
        with engine.connect() as other:
            # Not sent yet: the row is not locked by the update, so another transaction may
            # take its lock at once.
            assert other.execute(lock, {"id": SUBSCRIPTION}).scalar_one() == 1
            other.rollback()
        uow.subscriptions.get(ACCOUNT, SUBSCRIPTION)  # needs an answer: the update goes first
        with engine.connect() as other, pytest.raises(OperationalError, match="could not obtain"):
            other.execute(lock, {"id": SUBSCRIPTION})
        uow.commit()


def test_after_a_commit_the_next_writes_are_a_new_transaction_that_a_rollback_undoes(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        uow.change_records.write(audit=[audit("committed", clock)])
        uow.commit()
        # Below the statement layer too, as its own statements do: not one by one on their own.
        uow.change_records.write(audit=[audit("rolled back", clock)])
        uow.subscriptions.save(replace(world.subscription, seats_total=9))
        uow.rollback()
        uow.change_records.write(audit=[audit("left open", clock)])
    with uow:
        assert [a.target for a in uow.audit.entries(ACCOUNT)] == ["committed"]
        assert uow.subscriptions.get(ACCOUNT, SUBSCRIPTION) == world.subscription


# Values the writes queued after a read (a seat change's: its transaction open, the writes sent
# together with the commit) must keep exactly.
AWKWARD = 'O\'Brien; DROP TABLE audit_log; -- 100% \\ "quoted" %s %(x)s é ✓'


def test_writes_after_a_read_keep_every_value_exactly(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    at = clock.now().replace(microsecond=123456)
    document = {"note": AWKWARD, "seats": 3, "none": None, "list": [1.5, "two"]}
    with uow:
        uow.subscriptions.get(ACCOUNT, SUBSCRIPTION)  # the transaction is open from here
        uow.change_records.write(
            audit=[
                AuditRecord(
                    ACCOUNT, 0, at=at, actor=AWKWARD, action="x", target="a", after=document
                ),
                AuditRecord(ACCOUNT, 0, at=at, actor="ana@acme.test", action="y", target="b"),
            ],
            outbox=[OutboxEvent(ACCOUNT, 0, "member.invited", document, created_at=at)],
        )
        uow.commit()
    with uow:
        first, second = uow.audit.entries(ACCOUNT)
        (event,) = uow.outbox.for_account(ACCOUNT)
    assert (first.actor, first.after, first.before, first.at) == (AWKWARD, document, None, at)
    assert (second.target, second.after) == ("b", None)
    assert (event.payload, event.created_at) == (document, at)


def test_a_refused_write_among_writes_after_a_read_keeps_nothing(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        uow.subscriptions.get(ACCOUNT, SUBSCRIPTION)
        with pytest.raises(IntegrityError, match="webhook_outbox"):
            uow.change_records.write(
                audit=[audit("kept?", clock)],
                outbox=[OutboxEvent("acc_none", 0, "x", {}, created_at=clock.now())],
            )
            uow.commit()
        uow.rollback()
    with uow:
        assert uow.audit.entries(ACCOUNT) == ()


def commits_sent(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each send of statements to the database carried the commit, in order."""
    sent: list[bool] = []
    send = driver_statements._send

    def recorded(conn: Any, queued: Any, **kwargs: Any) -> list[Any]:
        sent.append(bool(kwargs.get("commit", False)))
        return send(conn, queued, **kwargs)

    monkeypatch.setattr(driver_statements, "_send", recorded)
    return sent


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_on_postgresql_a_save_under_the_units_own_lock_goes_with_the_commit(
    uow: SqlUnitOfWork, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = commits_sent(monkeypatch)
    with uow:
        locked = uow.subscriptions.get_for_update(ACCOUNT, SUBSCRIPTION)
        uow.subscriptions.save(replace(locked, seats_total=9))
        sent.clear()
        uow.commit()
        assert sent == [True]  # the versioned write and the commit: one round trip

        read = uow.subscriptions.get(ACCOUNT, SUBSCRIPTION)  # no lock: checked first
        uow.subscriptions.save(replace(read, seats_total=10))
        sent.clear()
        uow.commit()
        assert sent == [False]
    with uow:
        assert uow.subscriptions.get(ACCOUNT, SUBSCRIPTION).seats_total == 10


def test_a_stale_copy_is_refused_under_the_lock_too(uow: SqlUnitOfWork, world: World) -> None:
    with uow:
        locked = uow.subscriptions.get_for_update(ACCOUNT, SUBSCRIPTION)
        uow.subscriptions.save(replace(locked, seats_total=9))
        with pytest.raises(Conflict, match="changed meanwhile"):
            uow.subscriptions.save(replace(locked, seats_total=11))  # the version it moved from
            uow.commit()
        uow.rollback()
    with uow:
        assert uow.subscriptions.get(ACCOUNT, SUBSCRIPTION) == world.subscription


def test_a_lock_ends_with_its_transaction(uow: SqlUnitOfWork, world: World, engine: Engine) -> None:
    with uow:
        locked = uow.subscriptions.find_for_workspace_name(ACCOUNT, "main", lock=True)
        assert locked is not None
        uow.commit()
        with engine.begin() as other:  # a change made once the lock is released
            other.execute(
                text("UPDATE subscriptions SET version = version + 1 WHERE id = :id"),
                {"id": SUBSCRIPTION},
            )
        with pytest.raises(Conflict, match="changed meanwhile"):
            uow.subscriptions.save(replace(locked.subscription, seats_total=9))
            uow.commit()
        uow.rollback()
    with uow:
        stored = uow.subscriptions.get(ACCOUNT, SUBSCRIPTION)
    assert stored == replace(world.subscription, version=world.subscription.version + 1)
