"""Webhook endpoints and the deliveries of outbox events to them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, insert, or_, select, update

from seatledger.domain.errors import NotFound
from seatledger.service.ports import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from seatledger.store.repositories._common import (
    Repository,
    execute_unique,
    ids_in,
    insert_unique,
)
from seatledger.store.tables import webhook_deliveries, webhook_endpoints


def _endpoint(row: Any) -> WebhookEndpoint:
    return WebhookEndpoint(
        account_id=row.account_id,
        id=row.id,
        url=row.url,
        secret=row.secret,
        description=row.description,
        event_types=tuple(row.event_types),
        created_at=row.created_at,
        disabled_at=row.disabled_at,
    )


class SqlWebhookEndpoints(Repository):
    def add(self, endpoint: WebhookEndpoint) -> None:
        insert_unique(
            self._conn,
            insert(webhook_endpoints).values(
                account_id=endpoint.account_id,
                id=endpoint.id,
                url=endpoint.url,
                secret=endpoint.secret,
                description=endpoint.description,
                event_types=list(endpoint.event_types),
                created_at=endpoint.created_at,
                disabled_at=endpoint.disabled_at,
            ),
            lambda: f"Webhook endpoint {endpoint.id!r} exists already.",
        )

    def get(self, account_id: str, endpoint_id: str) -> WebhookEndpoint:
        row = self._conn.execute(
            select(webhook_endpoints).where(
                webhook_endpoints.c.account_id == account_id, webhook_endpoints.c.id == endpoint_id
            )
        ).one_or_none()
        if row is None:
            raise NotFound(kind="webhook endpoint", key=endpoint_id)
        return _endpoint(row)

    def for_account(self, account_id: str) -> tuple[WebhookEndpoint, ...]:
        rows = self._conn.execute(
            select(webhook_endpoints)
            .where(webhook_endpoints.c.account_id == account_id)
            .order_by(webhook_endpoints.c.created_at, webhook_endpoints.c.id)
        )
        return tuple(_endpoint(r) for r in rows)

    def for_accounts(self, account_ids: Sequence[str]) -> dict[str, tuple[WebhookEndpoint, ...]]:
        found: dict[str, list[WebhookEndpoint]] = {}
        if not account_ids:
            return {}
        for row in self._conn.execute(
            select(webhook_endpoints)
            .where(ids_in(self._conn, webhook_endpoints.c.account_id, account_ids))
            .order_by(webhook_endpoints.c.created_at, webhook_endpoints.c.id)
        ):
            found.setdefault(row.account_id, []).append(_endpoint(row))
        return {account_id: tuple(endpoints) for account_id, endpoints in found.items()}

    def disable(self, account_id: str, endpoint_id: str, *, at: datetime) -> WebhookEndpoint:
        result = self._conn.execute(
            update(webhook_endpoints)
            .where(
                webhook_endpoints.c.account_id == account_id, webhook_endpoints.c.id == endpoint_id
            )
            .values(disabled_at=func.coalesce(webhook_endpoints.c.disabled_at, at))
        )
        if result.rowcount != 1:
            raise NotFound(kind="webhook endpoint", key=endpoint_id)
        return self.get(account_id, endpoint_id)


def _delivery(row: Any) -> WebhookDelivery:
    return WebhookDelivery(
        account_id=row.account_id,
        endpoint_id=row.endpoint_id,
        event_seq=row.event_seq,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        lease_until=row.lease_until,
        delivered_at=row.delivered_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
    )


def _key(account_id: str, endpoint_id: str, event_seq: int) -> Any:
    return and_(
        webhook_deliveries.c.account_id == account_id,
        webhook_deliveries.c.endpoint_id == endpoint_id,
        webhook_deliveries.c.event_seq == event_seq,
    )


def _delivery_values(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "account_id": delivery.account_id,
        "endpoint_id": delivery.endpoint_id,
        "event_seq": delivery.event_seq,
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
        "lease_until": delivery.lease_until,
        "created_at": delivery.created_at,
        "delivered_at": delivery.delivered_at,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
    }


class SqlWebhookDeliveries(Repository):
    def add(self, delivery: WebhookDelivery) -> None:
        insert_unique(
            self._conn,
            insert(webhook_deliveries).values(**_delivery_values(delivery)),
            lambda: (
                f"Event {delivery.event_seq} is on its way to {delivery.endpoint_id!r} already."
            ),
        )

    def add_all(self, deliveries: Sequence[WebhookDelivery]) -> None:
        if not deliveries:
            return
        rows = [_delivery_values(d) for d in deliveries]
        execute_unique(
            self._conn,
            lambda: self._conn.execute(insert(webhook_deliveries), rows),
            lambda: "One of these events is on its way to its endpoint already.",
        )

    def get(self, account_id: str, endpoint_id: str, event_seq: int) -> WebhookDelivery:
        row = self._conn.execute(
            select(webhook_deliveries).where(_key(account_id, endpoint_id, event_seq))
        ).one_or_none()
        if row is None:
            raise NotFound(kind="webhook delivery", key=f"{endpoint_id}/{event_seq}")
        return _delivery(row)

    def due(self, at: datetime, *, limit: int) -> tuple[WebhookDelivery, ...]:
        earlier = webhook_deliveries.alias("earlier")
        pending = DeliveryStatus.PENDING.value
        # Only the head of each endpoint's queue: a later event waits for the earlier one.
        blocked = exists().where(
            earlier.c.account_id == webhook_deliveries.c.account_id,
            earlier.c.endpoint_id == webhook_deliveries.c.endpoint_id,
            earlier.c.status == pending,
            earlier.c.event_seq < webhook_deliveries.c.event_seq,
        )
        rows = self._conn.execute(
            select(webhook_deliveries)
            .where(
                webhook_deliveries.c.status == pending,
                webhook_deliveries.c.next_attempt_at <= at,
                or_(
                    webhook_deliveries.c.lease_until.is_(None),
                    webhook_deliveries.c.lease_until <= at,
                ),
                ~blocked,
            )
            .order_by(
                webhook_deliveries.c.next_attempt_at,
                webhook_deliveries.c.account_id,
                webhook_deliveries.c.event_seq,
            )
            .limit(limit)
        )
        return tuple(_delivery(r) for r in rows)

    def lease(
        self, account_id: str, endpoint_id: str, event_seq: int, *, at: datetime, until: datetime
    ) -> bool:
        result = self._conn.execute(
            update(webhook_deliveries)
            .where(
                _key(account_id, endpoint_id, event_seq),
                webhook_deliveries.c.status == DeliveryStatus.PENDING.value,
                or_(
                    webhook_deliveries.c.lease_until.is_(None),
                    webhook_deliveries.c.lease_until <= at,
                ),
            )
            .values(lease_until=until)
        )
        return result.rowcount == 1

    def record_attempt(
        self,
        account_id: str,
        endpoint_id: str,
        event_seq: int,
        *,
        status: DeliveryStatus,
        at: datetime,
        next_attempt_at: datetime,
        status_code: int | None,
        error: str | None,
    ) -> WebhookDelivery:
        result = self._conn.execute(
            update(webhook_deliveries)
            .where(_key(account_id, endpoint_id, event_seq))
            .values(
                status=status.value,
                attempts=webhook_deliveries.c.attempts + 1,
                next_attempt_at=next_attempt_at,
                lease_until=None,
                delivered_at=at if status is DeliveryStatus.DELIVERED else None,
                last_status_code=status_code,
                last_error=None if error is None else error[:500],
            )
        )
        if result.rowcount != 1:
            raise NotFound(kind="webhook delivery", key=f"{endpoint_id}/{event_seq}")
        return self.get(account_id, endpoint_id, event_seq)

    def for_endpoint(self, account_id: str, endpoint_id: str) -> tuple[WebhookDelivery, ...]:
        rows = self._conn.execute(
            select(webhook_deliveries)
            .where(
                webhook_deliveries.c.account_id == account_id,
                webhook_deliveries.c.endpoint_id == endpoint_id,
            )
            .order_by(webhook_deliveries.c.event_seq)
        )
        return tuple(_delivery(r) for r in rows)
