"""Test clocks: try billing over time without waiting for it.

A test clock belongs to an account and holds an instant of its own. Subscriptions attached to it
(at ``subscribe``, with ``test_clock_id``, or later with ``attach_test_clock``) live at the clock's
time: every use case on them acts at ``now_at``, and the wall-clock billing run leaves them alone.
Advancing the clock runs, in time order across all of its subscriptions, every renewal and role
expiry that falls due on the way, each written at its own instant, as the wall clock would have.

A clock never moves backwards, and a subscription can only join a clock that is not behind what
already happened to it (its last ledger entry): billing is a function of time, and time that ran
backwards could bill a period twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seatledger.clock import Clock
from seatledger.domain.errors import InvalidInput
from seatledger.domain.periods import require_utc
from seatledger.service.billing_engine import advance, next_due
from seatledger.service.context import Services
from seatledger.service.credit_locks import load_locked_states, refresh_balance
from seatledger.service.gateway import save_state
from seatledger.service.ports import SubscriptionStatus, TestClock, UnitOfWork, new_id
from seatledger.service.results import InvoiceView
from seatledger.service.state import Effects, SubscriptionState


@dataclass(frozen=True)
class ClockAdvance:
    """What advancing a test clock did: the clock afterwards and the invoices issued on the way,
    in the order they were issued."""

    clock: TestClock
    invoices: tuple[InvoiceView, ...]


def now_of(uow: UnitOfWork, state: SubscriptionState, clock: Clock) -> datetime:
    """The instant a subscription lives at: its test clock's time, or ``clock``'s (the wall)."""
    if state.test_clock_id is None:
        return clock.now()
    return uow.test_clocks.get(state.account_id, state.test_clock_id).now_at


def create_test_clock(svc: Services, *, account_id: str, at: datetime, name: str = "") -> TestClock:
    """A new test clock of the account, standing at ``at`` (any instant, past or future)."""
    at = require_utc(at, "at")
    with svc.uow() as uow:
        uow.accounts.get(account_id)
        clock = TestClock(
            account_id=account_id,
            id=new_id("clk"),
            name=name.strip() or f"clock at {at.isoformat()}",
            now_at=at,
            created_at=svc.clock.now(),
        )
        uow.test_clocks.add(clock)
        uow.commit()
    return clock


def get_test_clock(svc: Services, *, account_id: str, clock_id: str) -> TestClock:
    with svc.uow() as uow:
        return uow.test_clocks.get(account_id, clock_id)


def attach_test_clock(
    svc: Services, *, account_id: str, clock_id: str, subscription_id: str | None = None
) -> tuple[InvoiceView, ...]:
    """Put the account's active subscriptions (or only ``subscription_id``) on the clock.

    Each is first brought up to the clock's time: renewals and expiries due by ``now_at`` are
    issued, so attaching a clock that stands ahead bills what falls due in between. A clock
    standing before the subscription's last recorded change is refused (``InvalidInput`` naming
    ``test_clock``), and so is a subscription on another clock.
    """
    issued: list[InvoiceView] = []
    with svc.uow() as uow:
        clock = uow.test_clocks.get_for_update(account_id, clock_id)
        if subscription_id is None:
            ids = [
                s.id
                for s in uow.subscriptions.for_account(account_id)
                if s.status is SubscriptionStatus.ACTIVE
            ]
        else:
            ids = [subscription_id]
        for position, state in enumerate(load_locked_states(uow, account_id, ids)):
            sub_id = state.subscription_id
            if state.test_clock_id == clock.id:
                continue
            if state.test_clock_id is not None:
                raise InvalidInput(
                    "test_clock",
                    f"subscription {sub_id} is on test clock {state.test_clock_id} already",
                )
            entries = uow.ledger.entries(account_id, sub_id)
            last = max((entry.at for entry in entries), default=state.created_at or clock.now_at)
            if clock.now_at < last:
                raise InvalidInput(
                    "test_clock",
                    f"stands at {clock.now_at.isoformat()}, before subscription {sub_id}'s "
                    f"last change at {last.isoformat()}: a clock never takes one back in time",
                )
            state.test_clock_id = clock.id
            if position > 0:
                refresh_balance(uow, state)  # an attach before it in this loop may have moved it
            effects = Effects()
            advance(state, effects, until=clock.now_at)
            issued.extend(save_state(uow, state, effects, at=clock.now_at))
        uow.commit()
    return tuple(issued)


def advance_test_clock(
    svc: Services, *, account_id: str, clock_id: str, to: datetime
) -> ClockAdvance:
    """Move the clock forward to ``to`` and run what falls due on the way, in time order.

    Across the clock's subscriptions the earliest due renewal or role expiry always runs first,
    so invoices are numbered in the order they would have been issued and a credit balance shared
    by two subscriptions is spent in time order. Everything is one transaction: the clock and its
    subscriptions are locked, and either all of it happens or none. Moving back is refused
    (``InvalidInput`` naming ``to``); moving to the same instant runs nothing.
    """
    to = require_utc(to, "to")
    issued: list[InvoiceView] = []
    with svc.uow() as uow:
        clock = uow.test_clocks.get_for_update(account_id, clock_id)
        if to < clock.now_at:
            raise InvalidInput(
                "to",
                f"a test clock never moves backwards: {to.isoformat()} is before "
                f"{clock.now_at.isoformat()}",
            )
        states = load_locked_states(
            uow,
            account_id,
            [
                s.id
                for s in uow.subscriptions.for_account(account_id)
                if s.test_clock_id == clock.id and s.status is SubscriptionStatus.ACTIVE
            ],
        )
        while True:
            due = [(d, s.subscription_id, s) for s in states if (d := next_due(s)) is not None]
            due = [entry for entry in due if entry[0] <= to]
            if not due:
                break
            at, _, state = min(due, key=lambda entry: (entry[0], entry[1]))
            # Another subscription of the account may have moved the shared balance meanwhile.
            refresh_balance(uow, state)
            effects = Effects()
            advance(state, effects, until=at)
            issued.extend(save_state(uow, state, effects, at=at))
        moved = uow.test_clocks.move(account_id, clock.id, to)
        uow.commit()
    return ClockAdvance(clock=moved, invoices=tuple(issued))
