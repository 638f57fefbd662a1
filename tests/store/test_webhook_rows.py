"""Webhook endpoints and deliveries in the store, and the outbox events handed on in one go: what
the webhook worker's dispatch reads and writes, one statement per table for a whole batch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from store_builders import ACCOUNT, World, add_account

from seatledger.clock import ManualClock
from seatledger.domain.errors import Conflict, NotFound
from seatledger.service.ports import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from seatledger.store import SqlUnitOfWork

OTHER = "acc_other"
QUIET = "acc_quiet"


def endpoint(account_id: str, endpoint_id: str, clock: ManualClock) -> WebhookEndpoint:
    return WebhookEndpoint(
        account_id=account_id,
        id=endpoint_id,
        url=f"https://hooks.example/{endpoint_id}",
        secret="s3cret",
        description="",
        event_types=("seats.changed",),
        created_at=clock.advance(timedelta(seconds=1)),
    )


def delivery(account_id: str, endpoint_id: str, seq: int, clock: ManualClock) -> WebhookDelivery:
    return WebhookDelivery(
        account_id=account_id,
        endpoint_id=endpoint_id,
        event_seq=seq,
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=clock.now(),
        created_at=clock.now(),
    )


@pytest.fixture
def endpoints(uow: SqlUnitOfWork, world: World, clock: ManualClock) -> list[WebhookEndpoint]:
    made = [endpoint(ACCOUNT, "we_b", clock), endpoint(OTHER, "we_c", clock)]
    made.insert(1, endpoint(ACCOUNT, "we_a", clock))  # made later than we_b
    with uow:
        add_account(uow, OTHER, clock.now())
        add_account(uow, QUIET, clock.now())
        for each in made:
            uow.webhook_endpoints.add(each)
        uow.commit()
    return made


def test_endpoints_of_many_accounts_are_read_at_once_oldest_first(
    uow: SqlUnitOfWork, endpoints: list[WebhookEndpoint]
) -> None:
    b, a, c = endpoints
    with uow:
        found = uow.webhook_endpoints.for_accounts([ACCOUNT, OTHER, QUIET, "acc_unknown"])
        assert found == {ACCOUNT: (b, a), OTHER: (c,)}
        assert found[ACCOUNT] == uow.webhook_endpoints.for_account(ACCOUNT)
        assert uow.webhook_endpoints.for_accounts([QUIET]) == {}
        assert uow.webhook_endpoints.for_accounts([]) == {}


def test_deliveries_are_added_together_or_not_at_all(
    uow: SqlUnitOfWork, endpoints: list[WebhookEndpoint], clock: ManualClock
) -> None:
    with uow:
        mine, theirs = (
            uow.outbox.append(a, event_type="seats.changed", payload={}, at=clock.now()).seq
            for a in (ACCOUNT, OTHER)
        )
        uow.webhook_deliveries.add_all(
            [delivery(ACCOUNT, "we_a", mine, clock), delivery(OTHER, "we_c", theirs, clock)]
        )
        uow.commit()
    with uow:
        stored = uow.webhook_deliveries.get(OTHER, "we_c", theirs)
        assert stored == delivery(OTHER, "we_c", theirs, clock)
        with pytest.raises(Conflict, match="on its way"):
            uow.webhook_deliveries.add_all(
                [delivery(ACCOUNT, "we_b", mine, clock), delivery(ACCOUNT, "we_a", mine, clock)]
            )
        # The refused batch left nothing behind, and the transaction goes on.
        with pytest.raises(NotFound):
            uow.webhook_deliveries.get(ACCOUNT, "we_b", mine)
        uow.webhook_deliveries.add_all([])
        uow.webhook_deliveries.add_all([delivery(ACCOUNT, "we_b", mine, clock)])
        uow.commit()
    with uow:
        assert uow.webhook_deliveries.get(ACCOUNT, "we_b", mine).status is DeliveryStatus.PENDING


def test_events_are_marked_handed_on_together(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        events = [
            uow.outbox.append(ACCOUNT, event_type="seats.changed", payload={"n": n}, at=clock.now())
            for n in range(3)
        ]
        uow.commit()
    at = clock.advance(timedelta(minutes=1))
    with uow:
        uow.outbox.mark_delivered([(ACCOUNT, events[0].seq), (ACCOUNT, events[2].seq)], at=at)
        uow.outbox.mark_delivered([], at=at)
        uow.commit()
    with uow:
        stored = {e.seq: e.delivered_at for e in uow.outbox.for_account(ACCOUNT)}
        assert stored == {events[0].seq: at, events[1].seq: None, events[2].seq: at}
        (waiting,) = uow.outbox.claim_undelivered(limit=10)
        assert waiting.seq == events[1].seq
        with pytest.raises(NotFound, match="outbox event"):
            uow.outbox.mark_delivered([(ACCOUNT, events[1].seq), (ACCOUNT, 999)], at=at)
