"""Webhook endpoints, their deliveries, and the account's events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from seatledger.api import limits
from seatledger.service.ports import DeliveryStatus, OutboxEvent, WebhookDelivery, WebhookEndpoint

EventType = Annotated[
    str,
    Field(
        min_length=3,
        max_length=limits.ROLE,
        pattern=r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$",
        examples=["seats.changed"],
    ),
]


class WebhookEndpointCreate(BaseModel):
    url: str = Field(
        min_length=8, max_length=limits.URL, examples=["https://example.com/hooks/seatledger"]
    )
    event_types: list[EventType] = Field(
        default_factory=list,
        max_length=50,
        description="Only these events (`seats.changed`, `member.invited`, `invoice.issued`, "
        "...); every event when empty.",
    )
    description: str = Field(default="", max_length=limits.NAME)


class WebhookEndpointRead(BaseModel):
    id: str
    url: str
    description: str
    event_types: list[str]
    created_at: datetime
    disabled_at: datetime | None

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> WebhookEndpointRead:
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            description=endpoint.description,
            event_types=list(endpoint.event_types),
            created_at=endpoint.created_at,
            disabled_at=endpoint.disabled_at,
        )


class WebhookEndpointCreated(BaseModel):
    """The new endpoint and its signing ``secret``, shown this once (null when a retried request
    is answered again): check each request's ``Seatledger-Signature`` with it."""

    endpoint: WebhookEndpointRead
    secret: str | None


class DeliveryRead(BaseModel):
    event_seq: int
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None

    @classmethod
    def of(cls, delivery: WebhookDelivery) -> DeliveryRead:
        return cls(
            event_seq=delivery.event_seq,
            status=delivery.status,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
            delivered_at=delivery.delivered_at,
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
        )


class EventRead(BaseModel):
    """An event, as written with the change it announces. ``seq`` orders an account's events."""

    seq: int
    type: str
    created_at: datetime
    data: dict[str, Any]

    @classmethod
    def of(cls, event: OutboxEvent) -> EventRead:
        return cls(
            seq=event.seq, type=event.event_type, created_at=event.created_at, data=event.payload
        )
