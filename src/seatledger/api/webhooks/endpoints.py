"""``/v1/webhook-endpoints`` and ``/v1/events`` (account managers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request
from fastapi.responses import JSONResponse

from seatledger.api import limits
from seatledger.api.idempotency import answer_once
from seatledger.api.pagination import CursorQuery, LimitQuery, Page, paginate
from seatledger.api.routing import path_id, resource_router
from seatledger.api.security import CallerDep, ServicesDep
from seatledger.api.webhooks.schemas import (
    DeliveryRead,
    EventRead,
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointRead,
)
from seatledger.domain.errors import NotFound
from seatledger.service import webhooks
from seatledger.service.context import Services

router = resource_router("webhooks")

EndpointId = Annotated[str, path_id("A webhook endpoint id (`whe_…`).")]
EventSeq = Annotated[int, Path(ge=1, le=2**62, description="An event's `seq`.")]


@router.post(
    "/webhook-endpoints",
    status_code=201,
    response_model=WebhookEndpointCreated,
    summary="Add a webhook endpoint",
)
def create_webhook_endpoint(
    body: WebhookEndpointCreate, request: Request, caller: CallerDep, svc: ServicesDep
) -> JSONResponse:
    """Send the account's events (or only ``event_types``) to ``url``, signed with the secret in
    the answer (shown this once)."""

    def run(s: Services) -> WebhookEndpointCreated:
        endpoint = webhooks.add_webhook_endpoint(
            s,
            caller=caller,
            url=body.url,
            event_types=body.event_types,
            description=body.description,
        )
        return WebhookEndpointCreated(
            endpoint=WebhookEndpointRead.of(endpoint), secret=endpoint.secret
        )

    return answer_once(request, svc, caller, run, body=body, status=201)


@router.get(
    "/webhook-endpoints", response_model=Page[WebhookEndpointRead], summary="Webhook endpoints"
)
def list_webhook_endpoints(
    caller: CallerDep, svc: ServicesDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[WebhookEndpointRead]:
    found = webhooks.webhook_endpoints(svc, caller=caller)
    items, next_cursor = paginate(
        found,
        key=lambda e: (e.created_at.isoformat(), e.id),
        limit=limit,
        cursor=cursor,
        read=WebhookEndpointRead.of,
    )
    return Page[WebhookEndpointRead](items=items, next_cursor=next_cursor)


@router.get(
    "/webhook-endpoints/{endpoint_id}",
    response_model=WebhookEndpointRead,
    summary="A webhook endpoint",
)
def get_webhook_endpoint(
    endpoint_id: EndpointId, caller: CallerDep, svc: ServicesDep
) -> WebhookEndpointRead:
    endpoint = webhooks.get_webhook_endpoint(svc, caller=caller, endpoint_id=endpoint_id)
    return WebhookEndpointRead.of(endpoint)


@router.delete(
    "/webhook-endpoints/{endpoint_id}",
    response_model=WebhookEndpointRead,
    summary="Disable a webhook endpoint",
)
def disable_webhook_endpoint(
    endpoint_id: EndpointId, request: Request, caller: CallerDep, svc: ServicesDep
) -> JSONResponse:
    """Send nothing more to this endpoint."""

    def run(s: Services) -> WebhookEndpointRead:
        endpoint = webhooks.disable_webhook_endpoint(s, caller=caller, endpoint_id=endpoint_id)
        return WebhookEndpointRead.of(endpoint)

    return answer_once(request, svc, caller, run)


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    response_model=Page[DeliveryRead],
    summary="Deliveries to an endpoint",
)
def list_deliveries(
    endpoint_id: EndpointId,
    caller: CallerDep,
    svc: ServicesDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[DeliveryRead]:
    """Each event sent (or on its way) to the endpoint, in event order, with its attempts."""
    found = webhooks.webhook_deliveries(svc, caller=caller, endpoint_id=endpoint_id)
    items, next_cursor = paginate(
        found, key=lambda d: (d.event_seq,), limit=limit, cursor=cursor, read=DeliveryRead.of
    )
    return Page[DeliveryRead](items=items, next_cursor=next_cursor)


@router.get("/events", response_model=Page[EventRead], summary="Events")
def list_events(
    caller: CallerDep,
    svc: ServicesDep,
    event_type: Annotated[
        str | None,
        Query(alias="type", max_length=limits.ROLE, description="Only this event type."),
    ] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[EventRead]:
    """The account's events, oldest first: what the webhooks deliver."""
    found = [e for e in webhooks.events(svc, caller=caller) if event_type in (None, e.event_type)]
    items, next_cursor = paginate(
        found, key=lambda e: (e.seq,), limit=limit, cursor=cursor, read=EventRead.of
    )
    return Page[EventRead](items=items, next_cursor=next_cursor)


@router.get("/events/{seq}", response_model=EventRead, summary="An event")
def get_event(seq: EventSeq, caller: CallerDep, svc: ServicesDep) -> EventRead:
    for event in webhooks.events(svc, caller=caller):
        if event.seq == seq:
            return EventRead.of(event)
    raise NotFound(kind="event", key=str(seq))
