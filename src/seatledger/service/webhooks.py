"""Use cases on webhooks: endpoints, and delivering the outbox's events to them.

Every change writes its events to the outbox in its own transaction (``uow.outbox``), so an event
exists exactly when its change does. Delivering happens after, in two steps a worker repeats:

1. ``dispatch_events`` hands each undelivered outbox event to the account's endpoints: one
   delivery row per (endpoint, event), for the endpoints that were there when the event happened
   and want its type; the outbox event is then marked delivered (handed on).
2. ``deliver_due`` sends what is due. Each endpoint gets its events one at a time in event order:
   a later event waits while an earlier one is pending, so a receiver never sees ``seats.changed``
   before the ``member.invited`` that caused it. A failed attempt (no answer, or not 2xx) is
   retried after ``backoff(attempts)``, doubling each time; after ``max_attempts`` the delivery is
   failed for good and the endpoint's next events go ahead.

An attempt is leased before it is sent (a conditional update), and the HTTP call happens outside
any transaction, so several workers (``serve --workers N``) never send one delivery twice at once
and never hold a lock while waiting on a receiver.

The body is the event as JSON; ``Seatledger-Signature: t=<unix seconds>,v1=<hex>`` carries
HMAC-SHA256 over ``"<t>." + body`` with the endpoint's secret (``signature``), so a receiver can
check the sender and refuse replays of old timestamps.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from seatledger.domain.errors import InvalidInput
from seatledger.service.access import Caller, require_account_manager
from seatledger.service.context import Services
from seatledger.service.ports import (
    DeliveryStatus,
    OutboxEvent,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSender,
    new_id,
)

SIGNATURE_HEADER = "Seatledger-Signature"
EVENT_HEADER = "Seatledger-Event"
DELIVERY_HEADER = "Seatledger-Delivery"
EVENT_TYPE = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$")
URL_LENGTH = 2048
MAX_EVENT_TYPES = 50
DESCRIPTION_LENGTH = 200
LEASE = timedelta(minutes=2)


def exponential_backoff(attempts: int) -> timedelta:
    """The wait before attempt ``attempts + 1``: 10 s, 20 s, 40 s ... doubling, at most 1 hour."""
    doublings = min(max(0, attempts - 1), 16)  # 10 s x 2**16 is far past the cap already
    return min(timedelta(seconds=10) * (1 << doublings), timedelta(hours=1))


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Seatledger-Signature`` header value: ``t=<timestamp>,v1=<hex HMAC-SHA256 of
    "<timestamp>." + body keyed by secret>``. Example: ``t=1775001600,v1=5f2b...``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def event_body(event: OutboxEvent) -> bytes:
    """What an endpoint receives for ``event``: compact JSON with sorted keys (stable bytes, so
    the signature of a retry is computed over the same body)."""
    document = {
        "id": f"{event.account_id}/{event.seq}",
        "account_id": event.account_id,
        "seq": event.seq,
        "type": event.event_type,
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": event.payload,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _url(url: str) -> str:
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("url", f"must be an http:// or https:// URL, got {url!r}")
    if len(text) > URL_LENGTH:
        raise InvalidInput("url", f"must be at most {URL_LENGTH} characters, got {len(text)}")
    return text


def _event_types(types: Sequence[str]) -> tuple[str, ...]:
    if len(types) > MAX_EVENT_TYPES:
        raise InvalidInput("event_types", f"must list at most {MAX_EVENT_TYPES}, got {len(types)}")
    for index, name in enumerate(types):
        if not EVENT_TYPE.match(name):
            raise InvalidInput(
                f"event_types[{index}]",
                f"must be an event type such as seats.changed, got {name!r}",
            )
    return tuple(dict.fromkeys(types))


def add_webhook_endpoint(
    svc: Services,
    *,
    caller: Caller,
    url: str,
    event_types: Sequence[str] = (),
    description: str = "",
) -> WebhookEndpoint:
    """Register ``url`` for the account's events (all of them when ``event_types`` is empty), with
    a fresh signing secret. Account managers only."""
    if len(description) > DESCRIPTION_LENGTH:
        raise InvalidInput(
            "description",
            f"must be at most {DESCRIPTION_LENGTH} characters, got {len(description)}",
        )
    endpoint_url, types = _url(url), _event_types(event_types)
    at = svc.clock.now()
    with svc.uow() as uow:
        require_account_manager(uow, caller, at)
        endpoint = WebhookEndpoint(
            account_id=caller.account_id,
            id=new_id("whe"),
            url=endpoint_url,
            secret=f"whsec_{secrets.token_urlsafe(32)}",
            description=description.strip(),
            event_types=types,
            created_at=at,
        )
        uow.webhook_endpoints.add(endpoint)
        uow.audit.append(
            caller.account_id,
            at=at,
            actor=caller.person_id,
            action="add_webhook_endpoint",
            target=endpoint.id,
            after={"url": endpoint.url, "event_types": list(types)},
        )
        uow.commit()
    return endpoint


def webhook_endpoints(svc: Services, *, caller: Caller) -> tuple[WebhookEndpoint, ...]:
    with svc.uow() as uow:
        require_account_manager(uow, caller, svc.clock.now())
        return uow.webhook_endpoints.for_account(caller.account_id)


def get_webhook_endpoint(svc: Services, *, caller: Caller, endpoint_id: str) -> WebhookEndpoint:
    with svc.uow() as uow:
        require_account_manager(uow, caller, svc.clock.now())
        return uow.webhook_endpoints.get(caller.account_id, endpoint_id)


def disable_webhook_endpoint(svc: Services, *, caller: Caller, endpoint_id: str) -> WebhookEndpoint:
    """Stop sending to an endpoint: it gets no new events; its deliveries still pending are
    dropped as failed the next time they come up."""
    at = svc.clock.now()
    with svc.uow() as uow:
        require_account_manager(uow, caller, at)
        endpoint = uow.webhook_endpoints.disable(caller.account_id, endpoint_id, at=at)
        uow.audit.append(
            caller.account_id,
            at=at,
            actor=caller.person_id,
            action="disable_webhook_endpoint",
            target=endpoint.id,
        )
        uow.commit()
    return endpoint


def webhook_deliveries(
    svc: Services, *, caller: Caller, endpoint_id: str
) -> tuple[WebhookDelivery, ...]:
    with svc.uow() as uow:
        require_account_manager(uow, caller, svc.clock.now())
        uow.webhook_endpoints.get(caller.account_id, endpoint_id)
        return uow.webhook_deliveries.for_endpoint(caller.account_id, endpoint_id)


def events(svc: Services, *, caller: Caller) -> tuple[OutboxEvent, ...]:
    """The account's events, oldest first (account managers only)."""
    with svc.uow() as uow:
        require_account_manager(uow, caller, svc.clock.now())
        return uow.outbox.for_account(caller.account_id)


def _wants(endpoint: WebhookEndpoint, event: OutboxEvent) -> bool:
    return (
        endpoint.disabled_at is None
        and endpoint.created_at <= event.created_at
        and (not endpoint.event_types or event.event_type in endpoint.event_types)
    )


def dispatch_events(svc: Services, *, limit: int = 100) -> int:
    """Hand up to ``limit`` undelivered outbox events (any account, oldest first) to their
    endpoints; returns how many events were handed on."""
    at = svc.clock.now()
    with svc.uow() as uow:
        claimed = uow.outbox.claim_undelivered(limit=limit)
        endpoints = uow.webhook_endpoints.for_accounts(sorted({e.account_id for e in claimed}))
        uow.webhook_deliveries.add_all(
            [
                WebhookDelivery(
                    account_id=event.account_id,
                    endpoint_id=endpoint.id,
                    event_seq=event.seq,
                    status=DeliveryStatus.PENDING,
                    attempts=0,
                    next_attempt_at=at,
                    created_at=at,
                )
                for event in sorted(claimed, key=lambda e: (e.account_id, e.seq))
                for endpoint in endpoints.get(event.account_id, ())
                if _wants(endpoint, event)
            ]
        )
        uow.outbox.mark_delivered([(e.account_id, e.seq) for e in claimed], at=at)
        uow.commit()
    return len(claimed)


@dataclass(frozen=True)
class Attempt:
    """One attempt to send one event to one endpoint, and how it went."""

    delivery: WebhookDelivery
    status_code: int | None
    error: str | None


def _unix(at: datetime) -> int:
    return calendar.timegm(at.utctimetuple())


def deliver_due(
    svc: Services,
    sender: WebhookSender,
    *,
    limit: int = 100,
    max_attempts: int = 8,
    backoff: Callable[[int], timedelta] = exponential_backoff,
    max_rounds: int = 50,
) -> list[Attempt]:
    """Send every delivery that is due now, in rounds: each round takes the head of each
    endpoint's queue, so an endpoint's next event goes in the next round once the earlier one is
    delivered (or failed for good). Returns the attempts made, in order."""
    attempts: list[Attempt] = []
    for _ in range(max_rounds):
        made = _deliver_round(svc, sender, limit=limit, max_attempts=max_attempts, backoff=backoff)
        attempts.extend(made)
        if not made:
            break
    return attempts


def _deliver_round(
    svc: Services,
    sender: WebhookSender,
    *,
    limit: int,
    max_attempts: int,
    backoff: Callable[[int], timedelta],
) -> list[Attempt]:
    at = svc.clock.now()
    leased: list[tuple[WebhookDelivery, WebhookEndpoint, OutboxEvent]] = []
    with svc.uow() as uow:
        outboxes: dict[str, dict[int, OutboxEvent]] = {}
        for delivery in uow.webhook_deliveries.due(at, limit=limit):
            key = (delivery.account_id, delivery.endpoint_id, delivery.event_seq)
            if not uow.webhook_deliveries.lease(*key, at=at, until=at + LEASE):
                continue  # another deliverer took it between the read and the lease
            if delivery.account_id not in outboxes:
                outbox = uow.outbox.for_account(delivery.account_id)
                outboxes[delivery.account_id] = {e.seq: e for e in outbox}
            endpoint = uow.webhook_endpoints.get(delivery.account_id, delivery.endpoint_id)
            leased.append((delivery, endpoint, outboxes[delivery.account_id][delivery.event_seq]))
        uow.commit()
    made = []
    for delivery, endpoint, event in leased:
        status_code, error = None, None
        if endpoint.disabled_at is not None:
            error = "the endpoint was disabled"
        else:
            body = event_body(event)
            headers = {
                "Content-Type": "application/json",
                EVENT_HEADER: event.event_type,
                DELIVERY_HEADER: f"{event.account_id}/{event.seq}",
                SIGNATURE_HEADER: signature(endpoint.secret, _unix(at), body),
            }
            try:
                status_code = sender.send(endpoint.url, body, headers)
            except OSError as exc:
                error = f"{type(exc).__name__}: {exc}"
            else:
                if not 200 <= status_code < 300:
                    error = f"the endpoint answered {status_code}"
        made.append(_record(svc, delivery, endpoint, status_code, error, max_attempts, backoff, at))
    return made


def _record(
    svc: Services,
    delivery: WebhookDelivery,
    endpoint: WebhookEndpoint,
    status_code: int | None,
    error: str | None,
    max_attempts: int,
    backoff: Callable[[int], timedelta],
    at: datetime,
) -> Attempt:
    tries = delivery.attempts + 1
    if error is None:
        status = DeliveryStatus.DELIVERED
    elif tries >= max_attempts or endpoint.disabled_at is not None:
        status = DeliveryStatus.FAILED
    else:
        status = DeliveryStatus.PENDING
    with svc.uow() as uow:
        recorded = uow.webhook_deliveries.record_attempt(
            delivery.account_id,
            delivery.endpoint_id,
            delivery.event_seq,
            status=status,
            at=at,
            next_attempt_at=at + backoff(tries) if status is DeliveryStatus.PENDING else at,
            status_code=status_code,
            error=error,
        )
        uow.commit()
    return Attempt(delivery=recorded, status_code=status_code, error=error)
