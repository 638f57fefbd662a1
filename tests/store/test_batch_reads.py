"""A billing batch reads every subscription's parts and credit balances at once
(``repositories/batch_reads.py``): each the same as the subscription read alone gives, whatever
characters its keys hold, the parts in one round trip."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event
from store_builders import add_account, add_invoice, month_from, new_subscription, seats_line

from seatledger.clock import ManualClock
from seatledger.domain.money import Money
from seatledger.domain.seats import Member, MemberStatus, RoleGrant, Roster
from seatledger.service.ports import Subscription, Workspace
from seatledger.store import SqlUnitOfWork, driver_statements

ACTIVE, PENDING = MemberStatus.ACTIVE, MemberStatus.PENDING
# Keys a JSON parameter must carry exactly: a quote, a backslash, a comma, braces, non-ASCII.
ODD = 'acc_"odd\\,{x}_ü'


def _roster(workspaces: tuple[str, str], at: datetime, tag: str) -> Roster:
    main, side = workspaces
    return Roster(
        (
            Member(f"ana-{tag}@x.test", main, ACTIVE, frozenset({RoleGrant("admin")})),
            Member(
                f"ana-{tag}@x.test",
                side,
                ACTIVE,
                frozenset({RoleGrant("reviewer", scope="p1"), RoleGrant("member", scope='p,2"}')}),
            ),
            Member(
                f"bo-{tag}@x.test",
                side,
                PENDING,
                frozenset({RoleGrant("member", expires_at=at + timedelta(hours=12))}),
            ),
            Member(f"cy-{tag}@x.test", main, ACTIVE, frozenset()),
        )
    )


def _subscribed(uow: SqlUnitOfWork, account_id: str, at: datetime) -> Subscription:
    """An account whose subscription covers two workspaces with members, add-ons, pending lines
    (one of them billed) and credit in two currencies."""
    sub_id = f"sub_{account_id}"
    workspaces = (f"ws_{account_id}_b", f"ws_{account_id}_a")
    subscription = new_subscription(sub_id, at, account_id=account_id)
    month = month_from(at)
    with uow:
        add_account(uow, account_id, at)
        for n, ws in enumerate(workspaces):
            uow.workspaces.add(
                Workspace(account_id=account_id, id=ws, name=f"team {n}", created_at=at)
            )
        uow.subscriptions.add(subscription)
        uow.subscriptions.set_workspaces(account_id, sub_id, workspaces)
        uow.rosters.save(account_id, workspaces, _roster(workspaces, at, account_id[-3:]), at=at,
                         version=1)  # fmt: skip
        for name, count in (("zeta", 3), ("alpha", 1)):
            uow.addons.set_count(account_id, sub_id, name, count, at=at)
        line = seats_line(month)
        uow.pending_lines.add(account_id, sub_id, line, at=at)
        billed = uow.pending_lines.add(account_id, sub_id, line, at=at + timedelta(hours=1))
        invoice = add_invoice(uow, month, account_id=account_id, subscription_id=sub_id)
        uow.pending_lines.mark_billed(account_id, [billed.id], invoice.id)
        for amount, currency in (("12.50", "EUR"), ("-2.25", "EUR"), ("7.00", "USD")):
            uow.credits.add(account_id, amount=Money.of(amount, currency), reason="test", at=at)
        uow.commit()
    return subscription


@contextmanager
def statements_sent(engine: Engine) -> Iterator[list[str]]:
    sent: list[str] = []

    def seen(*args: Any) -> None:
        sent.append(args[2])

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def test_a_batch_reads_each_subscription_as_it_is_read_alone(
    uow: SqlUnitOfWork, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = clock.now()
    batch = [_subscribed(uow, account_id, at) for account_id in (ODD, "acc_plain")]
    sends: list[int] = []
    send = driver_statements._send

    def counted(*args: Any, **kwargs: Any) -> Any:
        sends.append(len(kwargs.get("reads", ())))
        return send(*args, **kwargs)

    monkeypatch.setattr(driver_statements, "_send", counted)
    with uow:
        with statements_sent(uow.engine) as sent:
            parts = uow.renewal_batches.parts(batch)
        # One statement per table, sent together (one round trip on PostgreSQL).
        assert (len(sent), sends) == (5, [5])
        for sub in batch:
            key = (sub.account_id, sub.id)
            names = uow.subscriptions.workspace_names(sub.account_id, sub.id)
            alone = uow.parts.load(sub.account_id, sub.id, version=sub.version)
            assert parts[key].workspace_names == names
            assert parts[key].roster == uow.rosters.get(sub.account_id, sorted(names))
            assert len(parts[key].roster.members) == 4
            assert parts[key].addons == dict(alone.addons) == {"alpha": 1, "zeta": 3}
            assert parts[key].pending == alone.pending
            assert len(parts[key].pending) == 1
        balances = uow.renewal_batches.balances(
            [(sub.account_id, c) for sub in batch for c in ("EUR", "USD", "GBP")]
        )
        for sub in batch:
            assert balances[(sub.account_id, "EUR")] == Money.of("10.25", "EUR")
            assert balances[(sub.account_id, "USD")] == Money.of("7.00", "USD")
            assert balances[(sub.account_id, "GBP")] == Money.zero("GBP")
        uow.rollback()


def test_a_batch_of_no_subscription_reads_nothing(uow: SqlUnitOfWork) -> None:
    with uow, statements_sent(uow.engine) as sent:
        assert uow.renewal_batches.parts([]) == {}
        assert uow.renewal_batches.balances([]) == {}
    assert sent == []
