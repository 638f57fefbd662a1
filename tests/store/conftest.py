"""The store tests' world: an account with two workspaces and one subscription covering both (a
bundle), committed, so each test starts from the same small state."""

from __future__ import annotations

import pytest
from store_builders import ACCOUNT, SUBSCRIPTION, WORKSPACES, World, add_account, new_subscription

from seatledger.clock import ManualClock
from seatledger.service.ports import Workspace
from seatledger.store import SqlUnitOfWork


@pytest.fixture
def world(uow: SqlUnitOfWork, clock: ManualClock) -> World:
    at = clock.now()
    subscription = new_subscription(SUBSCRIPTION, at)
    with uow:
        add_account(uow, ACCOUNT, at)
        for ws in WORKSPACES:
            uow.workspaces.add(
                Workspace(account_id=ACCOUNT, id=ws, name=ws.removeprefix("ws_"), created_at=at)
            )
        uow.subscriptions.add(subscription)
        uow.subscriptions.set_workspaces(ACCOUNT, SUBSCRIPTION, WORKSPACES)
        uow.commit()
    return World(ACCOUNT, WORKSPACES, subscription)
