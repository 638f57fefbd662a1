"""Rosters committed at a subscription's version are answered again without a read, and nothing
uncommitted is ever remembered (``store/version_cache.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta

from sqlalchemy import Engine, event
from store_builders import World, add_invoice, month_from, seats_line

from seatledger.clock import ManualClock
from seatledger.domain.invoices import InvoiceLine
from seatledger.domain.periods import Period
from seatledger.domain.seats import Member, MemberStatus, RoleGrant, Roster
from seatledger.service.ports import StoredRoster, SubscriptionParts, SubscriptionVersion
from seatledger.store import SqlUnitOfWork
from seatledger.store.read_ahead import Contended, Covered, ReadAhead
from seatledger.store.version_cache import VersionCache

AT_START = SubscriptionVersion("sub_demo", 0)
AT_NEXT = SubscriptionVersion("sub_demo", 1)


@contextmanager
def reads_from(engine: Engine, *tables: str) -> Iterator[list[str]]:
    """The SELECTs from any of ``tables`` run on ``engine`` while the block runs."""
    seen: list[str] = []

    def record(*args: object) -> None:
        statement = str(args[2])
        if statement.lstrip().startswith("SELECT") and any(
            f"FROM {table}" in statement for table in tables
        ):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def roster_reads(engine: Engine) -> AbstractContextManager[list[str]]:
    return reads_from(engine, "memberships")


def parts_reads(engine: Engine) -> AbstractContextManager[list[str]]:
    return reads_from(engine, "addons", "pending_lines")


def ana(workspace: str) -> Roster:
    return Roster(
        (Member("ana@x.test", workspace, MemberStatus.ACTIVE, frozenset({RoleGrant("admin")})),)
    )


def load(
    uow: SqlUnitOfWork, world: World, version: SubscriptionVersion, *, remember: bool
) -> StoredRoster:
    with uow:
        return uow.rosters.load(
            world.account_id, world.workspace_ids, version=version, remember=remember
        )


def save_and_remember(uow: SqlUnitOfWork, world: World, at: datetime) -> StoredRoster:
    stored = uow.rosters.save(
        world.account_id,
        world.workspace_ids,
        ana(world.workspace_ids[0]),
        at=at,
        version=AT_NEXT.version,
    )
    uow.rosters.remember(world.account_id, world.workspace_ids, stored, version=AT_NEXT)
    return stored


def test_a_roster_read_under_the_lock_is_answered_again_without_a_read(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        uow.rosters.save(
            world.account_id,
            world.workspace_ids,
            ana(world.workspace_ids[0]),
            at=clock.now(),
            version=AT_START.version,
        )
        uow.commit()
    with roster_reads(uow.engine) as reads:
        first = load(uow, world, AT_START, remember=True)
        again = load(uow, world, AT_START, remember=True)
    assert len(reads) == 1
    assert again is first
    assert first.roster == ana(world.workspace_ids[0])


def test_a_read_not_asked_to_be_remembered_is_read_every_time(
    uow: SqlUnitOfWork, world: World
) -> None:
    with roster_reads(uow.engine) as reads:
        load(uow, world, AT_START, remember=False)
        load(uow, world, AT_START, remember=False)
    assert len(reads) == 2


def test_another_version_is_read_from_the_rows(uow: SqlUnitOfWork, world: World) -> None:
    kept = load(uow, world, AT_START, remember=True)
    with roster_reads(uow.engine) as reads:
        later = load(uow, world, AT_NEXT, remember=True)
    # Caught up from the kept one (test_roster_catch_up.py): the rows written since are read.
    assert reads != []
    assert later == kept


def test_a_saved_roster_is_known_at_its_version_once_committed_and_never_if_rolled_back(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        save_and_remember(uow, world, clock.now())
        uow.rollback()
    with roster_reads(uow.engine) as reads:
        after_rollback = load(uow, world, AT_NEXT, remember=False)
    assert len(reads) == 1
    assert after_rollback.roster == Roster()

    with uow:
        saved = save_and_remember(uow, world, clock.now())
        uow.commit()
    with roster_reads(uow.engine) as reads:
        known = load(uow, world, AT_NEXT, remember=False)
    assert reads == []
    assert known is saved
    with uow:
        assert uow.rosters.get(world.account_id, world.workspace_ids) == saved.roster


def test_a_unit_left_without_committing_remembers_nothing(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        save_and_remember(uow, world, clock.now())
    with roster_reads(uow.engine) as reads:
        load(uow, world, AT_NEXT, remember=False)
    assert len(reads) == 1


def test_a_joined_unit_remembers_only_when_the_outer_transaction_commits(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        inner = uow.joined()
        with inner:
            save_and_remember(inner, world, clock.now())
            inner.commit()
        uow.rollback()
    with roster_reads(uow.engine) as reads:
        load(uow, world, AT_NEXT, remember=False)
    assert len(reads) == 1

    with uow:
        inner = uow.joined()
        with inner:
            save_and_remember(inner, world, clock.now())
            inner.commit()
        uow.commit()
    with roster_reads(uow.engine) as reads:
        load(uow, world, AT_NEXT, remember=False)
    assert reads == []


def test_two_engines_on_one_database_keep_their_own_rosters(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    load(uow, world, AT_START, remember=True)
    other = SqlUnitOfWork(uow.engine.execution_options())  # the same pool, not the same engine
    assert other.engine is not uow.engine
    with roster_reads(uow.engine) as reads:
        load(other, world, AT_START, remember=False)
    assert len(reads) == 1


def test_the_cache_keeps_the_most_recently_used_entries() -> None:
    cache: VersionCache[StoredRoster] = VersionCache(size=2)
    keys = [("acc", f"sub_{n}", 0, ("ws",)) for n in range(3)]
    for key in keys[:2]:
        cache.put(key, StoredRoster())
    assert cache.get(keys[0]) is not None  # now the most recently used
    cache.put(keys[2], StoredRoster())
    assert len(cache) == 2
    assert cache.get(keys[1]) is None
    assert cache.get(keys[0]) is not None
    assert cache.get(keys[2]) is not None


def test_a_cleared_cache_answers_nothing_and_keeps_what_is_put_after() -> None:
    cache: VersionCache[StoredRoster] = VersionCache()
    key = ("acc", "sub_1", 3, ("ws",))
    cache.put(key, StoredRoster())
    cache.clear()
    assert len(cache) == 0
    assert cache.get(key) is None
    assert cache.earlier(("acc", "sub_1", 4, ("ws",))) is None
    cache.put(key, StoredRoster())
    assert cache.get(key) is not None


def load_parts(
    uow: SqlUnitOfWork, world: World, version: int, *, remember: bool
) -> SubscriptionParts:
    with uow:
        return uow.parts.load(world.account_id, "sub_demo", version=version, remember=remember)


def test_parts_read_under_the_lock_are_answered_again_without_a_read(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        uow.addons.set_count(world.account_id, "sub_demo", "extra", 2, at=clock.now())
        uow.commit()
    with parts_reads(uow.engine) as reads:
        first = load_parts(uow, world, 0, remember=True)
        again = load_parts(uow, world, 0, remember=False)
        load_parts(uow, world, 1, remember=False)
    assert len(reads) == 2  # add-ons and pending lines in one read: at version 0, then at 1
    assert again is first
    assert first == SubscriptionParts({"extra": 2}, ())


def starting(month: Period, day: int) -> InvoiceLine:
    return seats_line(Period(month.start + timedelta(days=day), month.end))


def test_parts_are_read_in_one_statement_add_ons_by_name_and_lines_in_billing_order(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    at = clock.now()
    month = month_from(at)
    with uow:
        for name, count in (("zeta", 3), ("alpha", 1), ("gone", 0)):
            uow.addons.set_count(world.account_id, "sub_demo", name, count, at=at)
        # Two lines parked at one instant are billed in the order of their own start.
        later = uow.pending_lines.add(world.account_id, "sub_demo", starting(month, 9), at=at)
        earlier = uow.pending_lines.add(world.account_id, "sub_demo", starting(month, 2), at=at)
        billed = uow.pending_lines.add(world.account_id, "sub_demo", starting(month, 1), at=at)
        invoice = add_invoice(uow, month)
        uow.pending_lines.mark_billed(world.account_id, [billed.id], invoice.id)
        uow.commit()
    with parts_reads(uow.engine) as reads:
        parts = load_parts(uow, world, 0, remember=False)
    assert len(reads) == 1
    assert list(parts.addons.items()) == [("alpha", 1), ("zeta", 3)]
    assert parts.pending == (earlier, later)
    with uow:
        assert uow.pending_lines.unbilled(world.account_id, "sub_demo") == parts.pending


def test_parts_remembered_for_a_version_count_once_committed_only(
    uow: SqlUnitOfWork, world: World
) -> None:
    parts = SubscriptionParts({"extra": 1}, ())
    with uow:
        uow.parts.remember(world.account_id, "sub_demo", parts, version=1)
        uow.rollback()
    with parts_reads(uow.engine) as reads:
        assert load_parts(uow, world, 1, remember=False) == SubscriptionParts({}, ())
    assert len(reads) == 1

    with uow:
        uow.parts.remember(world.account_id, "sub_demo", parts, version=1)
        uow.commit()
    with parts_reads(uow.engine) as reads:
        assert load_parts(uow, world, 1, remember=False) is parts
    assert reads == []


def test_only_the_latest_version_of_a_subscription_is_kept() -> None:
    cache: VersionCache[StoredRoster] = VersionCache(size=8)
    first, second = StoredRoster(), StoredRoster()
    cache.put(("acc", "sub", 1, ("ws",)), first)
    cache.put(("acc", "sub", 2, ("ws",)), second)
    assert len(cache) == 1
    assert cache.get(("acc", "sub", 1, ("ws",))) is None
    assert cache.get(("acc", "sub", 2, ("ws",))) is second
    # A late put of an earlier version (a slow transaction's after-commit) changes nothing.
    cache.put(("acc", "sub", 1, ("ws",)), first)
    assert cache.get(("acc", "sub", 2, ("ws",))) is second
    assert cache.get(("acc", "sub", 1, ("ws",))) is None


def test_contended_names_are_bounded_and_forgotten() -> None:
    contended = Contended(2)
    first, second = Covered("sub_a", ("ws_a",)), Covered("sub_b", ("ws_b", "ws_c"))
    contended.mark("acc", "a", first)
    contended.mark("acc", "b", second)
    contended.mark("acc", "a", first)  # used again: the latest
    contended.mark("acc", "c", first)  # one too many: the least recently marked goes

    assert (contended.get("acc", "a"), contended.get("acc", "b")) == (first, None)
    assert contended.get("other", "a") is None
    contended.forget("acc", "a")
    contended.forget("acc", "never")
    assert (len(contended), contended.get("acc", "a"), contended.get("acc", "c")) == (
        1,
        None,
        first,
    )


def test_read_ahead_rows_are_taken_once_and_only_by_what_they_were_read_for() -> None:
    ahead = ReadAhead(Contended(4))
    key = ("acc", "sub_a", 7, ("ws_a",))
    ahead.keep_roster(key, 5, ["row"])
    ahead.keep_parts("acc", "sub_a", 7, [])

    assert ahead.take_roster(key, 6) is None  # caught up from another version
    assert ahead.take_parts("acc", "sub_a", 8) is None
    assert (ahead.take_roster(key, 5), ahead.take_parts("acc", "sub_a", 7)) == (["row"], [])
    assert (ahead.take_roster(key, 5), ahead.take_parts("acc", "sub_a", 7)) == (None, None)
    ahead.keep_parts("acc", "sub_a", 7, ["line"])
    ahead.clear()
    assert ahead.take_parts("acc", "sub_a", 7) is None
