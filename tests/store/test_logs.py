"""The seat ledger, the audit log, credit entries, the outbox and idempotency keys."""

from __future__ import annotations

import inspect
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from store_builders import ACCOUNT, SUBSCRIPTION, World, add_account, new_subscription

from seatledger.clock import ManualClock
from seatledger.domain.errors import Conflict
from seatledger.domain.money import Money
from seatledger.service import ports
from seatledger.service.ports import IdempotencyRecord
from seatledger.store import SqlUnitOfWork
from seatledger.store.repositories.logs import SqlAudit, SqlCredits, SqlLedger


def public_methods(cls: type) -> set[str]:
    return {
        name for name, _ in inspect.getmembers(cls, inspect.isfunction) if not name.startswith("_")
    }


@pytest.mark.parametrize(
    ("port", "implementation", "methods"),
    [
        pytest.param(ports.LedgerRepository, SqlLedger, {"append", "entries"}, id="ledger"),
        pytest.param(ports.AuditRepository, SqlAudit, {"append", "entries"}, id="audit"),
        pytest.param(
            ports.CreditRepository,
            SqlCredits,
            {"add", "balance", "spendable_balance", "entries"},
            id="credits",
        ),
    ],
)
def test_append_only_records_offer_no_way_to_change_history(
    port: type, implementation: type, methods: set[str]
) -> None:
    assert public_methods(port) == methods
    assert public_methods(implementation) == methods


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("UPDATE seat_ledger SET seats_total = 99", id="ledger-update"),
        pytest.param("DELETE FROM seat_ledger", id="ledger-delete"),
        pytest.param("UPDATE audit_log SET actor = 'someone else'", id="audit-update"),
        pytest.param("DELETE FROM audit_log", id="audit-delete"),
        pytest.param("UPDATE credit_entries SET amount_minor = 0", id="credit-update"),
        pytest.param("DELETE FROM credit_entries", id="credit-delete"),
    ],
)
def test_the_database_refuses_to_rewrite_history(
    uow: SqlUnitOfWork, engine: Engine, world: World, clock: ManualClock, statement: str
) -> None:
    with uow:
        uow.ledger.append(
            ACCOUNT,
            SUBSCRIPTION,
            at=clock.now(),
            kind="subscribed",
            seats_total=2,
            seats_used=1,
            seats_at_renewal=2,
            seats_paid=2,
        )
        uow.audit.append(
            ACCOUNT, at=clock.now(), actor="per_1", action="subscribe", target=SUBSCRIPTION
        )
        uow.credits.add(ACCOUNT, amount=Money.of("5.00", "EUR"), reason="goodwill", at=clock.now())
        uow.commit()
    with engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text(statement))
    with uow:
        assert len(uow.ledger.entries(ACCOUNT, SUBSCRIPTION)) == 1
        assert len(uow.audit.entries(ACCOUNT)) == 1
        assert uow.credits.balance(ACCOUNT, "EUR") == Money.of("5.00", "EUR")


def test_ledger_rows_are_numbered_densely_per_subscription(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        uow.subscriptions.add(new_subscription("sub_two", clock.now()))
        for seats, sub in [(2, SUBSCRIPTION), (3, SUBSCRIPTION), (5, "sub_two"), (4, SUBSCRIPTION)]:
            uow.ledger.append(
                ACCOUNT,
                sub,
                at=clock.advance(timedelta(hours=1)),
                kind="seats_changed",
                seats_total=seats,
                seats_used=1,
                seats_at_renewal=seats,
                seats_paid=seats,
                detail={"from": seats - 1, "to": seats, "charged": "49.50"},
            )
        uow.commit()
    with uow:
        main = uow.ledger.entries(ACCOUNT, SUBSCRIPTION)
        other = uow.ledger.entries(ACCOUNT, "sub_two")
    assert [(e.seq, e.seats_total) for e in main] == [(1, 2), (2, 3), (3, 4)]
    assert [(e.seq, e.seats_total) for e in other] == [(1, 5)]
    assert main[1].detail == {"from": 2, "to": 3, "charged": "49.50"}
    assert main[0].at < main[1].at < main[2].at


def test_the_audit_log_keeps_before_and_after(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        first = uow.audit.append(
            ACCOUNT,
            at=clock.now(),
            actor="per_1",
            action="seats.set",
            target=SUBSCRIPTION,
            before={"seats_total": 2},
            after={"seats_total": 3},
        )
        second = uow.audit.append(
            ACCOUNT, at=clock.now(), actor="per_1", action="account.viewed", target=ACCOUNT
        )
        uow.commit()
    with uow:
        entries = uow.audit.entries(ACCOUNT)
    assert entries == (first, second)
    assert first.seq < second.seq
    assert (first.before, first.after) == ({"seats_total": 2}, {"seats_total": 3})
    assert (second.before, second.after) == (None, None)


def test_the_credit_balance_is_the_sum_of_its_movements_per_currency(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        assert uow.credits.balance(ACCOUNT, "EUR") == Money.of("0.00", "EUR")
        for amount in ("49.50", "-20.00", "0.01"):
            uow.credits.add(
                ACCOUNT, amount=Money.of(amount, "EUR"), reason="proration", at=clock.now()
            )
        uow.credits.add(
            ACCOUNT, amount=Money.of("7", "JPY"), reason="other currency", at=clock.now()
        )
        uow.commit()
    with uow:
        assert uow.credits.balance(ACCOUNT, "EUR") == Money.of("29.51", "EUR")
        assert uow.credits.balance(ACCOUNT, "JPY") == Money.of("7", "JPY")
        assert [e.amount.format() for e in uow.credits.entries(ACCOUNT)] == [
            "49.50",
            "-20.00",
            "0.01",
            "7",
        ]


def test_an_unsettled_credit_is_refused(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow, pytest.raises(ValueError, match="not settled"):
        uow.credits.add(ACCOUNT, amount=Money.of("0.005", "EUR"), reason="x", at=clock.now())


def test_an_idempotency_key_is_used_once_per_account(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    record = IdempotencyRecord(
        ACCOUNT, "key-1", "sha256:abc", {"status": 201, "body": {"id": "inv_1"}}, clock.now()
    )
    with uow:
        assert uow.idempotency.get(ACCOUNT, "key-1") is None
        uow.idempotency.put(record)
        uow.commit()
    with uow:
        with pytest.raises(Conflict, match="key-1"):
            uow.idempotency.put(IdempotencyRecord(ACCOUNT, "key-1", "sha256:def", {}, clock.now()))
        # Still usable after the refusal; another account has its own keys.
        add_account(uow, "acc_other", clock.now())
        uow.idempotency.put(IdempotencyRecord("acc_other", "key-1", "sha256:def", {}, clock.now()))
        uow.commit()
    with uow:
        assert uow.idempotency.get(ACCOUNT, "key-1") == record


def test_the_outbox_hands_out_undelivered_events_oldest_first(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        first = uow.outbox.append(
            ACCOUNT, event_type="seats.changed", payload={"total": 3}, at=clock.now()
        )
        second = uow.outbox.append(
            ACCOUNT,
            event_type="invoice.issued",
            payload={"number": 1},
            at=clock.advance(timedelta(seconds=1)),
        )
        uow.commit()
    with uow:
        assert uow.outbox.claim_undelivered(limit=10) == (first, second)
        uow.outbox.mark_failed(ACCOUNT, first.seq)
        uow.outbox.mark_delivered([(ACCOUNT, second.seq)], at=clock.now())
        uow.commit()
    with uow:
        (waiting,) = uow.outbox.claim_undelivered(limit=10)
        assert (waiting.seq, waiting.attempts, waiting.payload) == (first.seq, 1, {"total": 3})
        delivered = uow.outbox.for_account(ACCOUNT)[1]
        assert delivered.delivered_at == clock.now()
