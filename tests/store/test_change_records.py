"""A change's ledger, audit and outbox rows written together (``change_records.write``): numbered
and stored as the logs' own ``append`` stores them, in order, all or nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from store_builders import ACCOUNT, SUBSCRIPTION, World

from seatledger.clock import ManualClock
from seatledger.service.ports import AuditRecord, LedgerRecord, OutboxEvent
from seatledger.store import SqlUnitOfWork, driver_statements


def ledger(seats: int, clock: ManualClock) -> LedgerRecord:
    return LedgerRecord(
        ACCOUNT,
        SUBSCRIPTION,
        0,
        at=clock.now(),
        kind="seats_changed",
        seats_total=seats,
        seats_used=1,
        seats_at_renewal=seats,
        seats_paid=seats,
        detail={"from": seats - 1, "note": 'é ünïcode, "quotes" and \\\\ backslash'},
    )


def audit(n: int, clock: ManualClock) -> AuditRecord:
    return AuditRecord(
        ACCOUNT,
        0,
        at=clock.now(),
        actor="ana@acme.test",
        action="set_seats",
        target=f"seats {n}",
        before={"seats": n - 1, "nested": {"list": [1, None, "x"]}},
        after=None,
    )


def test_written_together_is_stored_as_appended_one_by_one(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        first = uow.ledger.append(
            ACCOUNT,
            SUBSCRIPTION,
            at=clock.now(),
            kind="seats_changed",
            seats_total=3,
            seats_used=1,
            seats_at_renewal=3,
            seats_paid=3,
            detail=ledger(3, clock).detail,
        )
        first_audit = uow.audit.append(
            ACCOUNT,
            at=clock.now(),
            actor="ana@acme.test",
            action="set_seats",
            target="seats 3",
            before=audit(3, clock).before,
        )
        first_event = uow.outbox.append(
            ACCOUNT, event_type="seats.changed", payload={"seats": 3}, at=clock.now()
        )
        clock.advance(timedelta(minutes=1))
        uow.change_records.write(
            ledger=[ledger(4, clock), ledger(5, clock)],
            audit=[audit(4, clock), audit(5, clock)],
            outbox=[
                OutboxEvent(ACCOUNT, 0, "seats.changed", {"seats": 4}, created_at=clock.now()),
                OutboxEvent(ACCOUNT, 0, "seats.changed", {"seats": 5}, created_at=clock.now()),
            ],
        )
        uow.change_records.write()  # nothing to write
        uow.commit()
    with uow:
        entries = uow.ledger.entries(ACCOUNT, SUBSCRIPTION)
        logged = uow.audit.entries(ACCOUNT)
        events = uow.outbox.for_account(ACCOUNT)
    assert entries[0] == first
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[1:] == (replace(ledger(4, clock), seq=2), replace(ledger(5, clock), seq=3))
    # The per-account logs number after what was appended before, in the order given.
    assert logged[0] == first_audit and events[0] == first_event
    assert [a.target for a in logged] == ["seats 3", "seats 4", "seats 5"]
    assert logged[1].seq > first_audit.seq and logged[2].seq > logged[1].seq
    assert logged[1].before == audit(4, clock).before and logged[1].after is None
    assert [(e.payload, e.created_at) for e in events[1:]] == [
        ({"seats": 4}, clock.now()),
        ({"seats": 5}, clock.now()),
    ]
    assert events[2].seq > events[1].seq > first_event.seq


def test_a_refused_row_keeps_none_of_them(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        # Refused when the rows reach the database: at once on SQLite, with the commit on
        # PostgreSQL, where a unit of work sends its writes together (driver_statements.defer_writes).
        with pytest.raises(IntegrityError):
            uow.change_records.write(
                ledger=[ledger(4, clock)],
                audit=[audit(4, clock)],
                # No such account: the outbox row breaks its foreign key, after the others ran.
                outbox=[OutboxEvent("acc_none", 0, "seats.changed", {}, created_at=clock.now())],
            )
            uow.commit()
        uow.rollback()
        assert uow.ledger.entries(ACCOUNT, SUBSCRIPTION) == ()
        assert uow.audit.entries(ACCOUNT) == ()


def test_without_pipeline_mode_the_rows_go_one_at_a_time_alike(
    uow: SqlUnitOfWork, world: World, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What runs with a libpq older than 14, which has no pipeline mode.
    monkeypatch.setattr(driver_statements, "_pipelines", lambda: False)
    with uow:
        uow.change_records.write(
            ledger=[ledger(4, clock), ledger(5, clock)], audit=[audit(4, clock)]
        )
        uow.commit()
    with uow:
        entries = uow.ledger.entries(ACCOUNT, SUBSCRIPTION)
        assert entries == (replace(ledger(4, clock), seq=1), replace(ledger(5, clock), seq=2))
        assert [a.target for a in uow.audit.entries(ACCOUNT)] == ["seats 4"]
