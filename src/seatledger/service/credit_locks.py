"""Spending an account's credit balance: under the account's row lock, taken last.

Every subscription of an account draws on one credit balance. Two transactions changing two
subscriptions of the account at once (a seat change on each, a seat change and the billing run, two
runs) would each read the balance, apply it to an invoice and both spend the same credit, leaving
the balance below zero: each holds only its own subscription's lock. So a state whose balance holds
credit reads it again once the account's row is locked (``CreditRepository.spendable_balance``,
until the transaction ends); the second transaction waits there and reads what the first left.

A state that read no credit takes no lock: it spends none, and what it adds (a credit note) is a
movement of its own. Seat changes, most of which issue no invoice against a balance, so take no
lock beyond their subscription's.

The account's lock comes after every subscription lock of the transaction, in every flow: a flow
over several subscriptions locks them all (in id order) before it reads a balance it may spend. A
seat change holding its subscription and waiting for the account can then never be waited on by
the account's holder.
"""

from __future__ import annotations

from collections.abc import Iterable

from seatledger.service.gateway import load_state_by_id
from seatledger.service.ports import UnitOfWork
from seatledger.service.state import SubscriptionState


def guard_balance(uow: UnitOfWork, state: SubscriptionState) -> None:
    """Make ``state.balance`` safe to spend: re-read under the account's lock when it holds
    credit. Call it once the transaction holds every subscription lock it will take."""
    balance = state.balance
    if balance is not None and not balance.is_zero and not balance.is_negative:
        state.balance = uow.credits.spendable_balance(state.account_id, state.policy.currency)


def refresh_balance(uow: UnitOfWork, state: SubscriptionState) -> None:
    """Read ``state.balance`` again (another subscription of this transaction may have moved it)
    and guard it."""
    state.balance = uow.credits.balance(state.account_id, state.policy.currency)
    guard_balance(uow, state)


def load_locked_states(
    uow: UnitOfWork, account_id: str, subscription_ids: Iterable[str]
) -> list[SubscriptionState]:
    """The states of several subscriptions of one account, locked in id order (the order every
    such flow takes them), each balance guarded once all are locked. A flow that writes one of
    them before using the next calls ``refresh_balance`` on the next."""
    states = [load_state_by_id(uow, account_id, i) for i in sorted(subscription_ids)]
    for state in states:
        guard_balance(uow, state)
    return states
