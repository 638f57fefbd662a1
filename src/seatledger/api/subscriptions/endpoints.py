"""``/v1/subscriptions``: subscribe, list, show, cancel, and the seat ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Request
from fastapi.responses import JSONResponse

from seatledger.api.idempotency import answer_once
from seatledger.api.pagination import CursorQuery, LimitQuery, Page, paginate
from seatledger.api.routing import SubscriptionId, resource_router
from seatledger.api.schemas import ChangeRead
from seatledger.api.security import CallerDep, ServicesDep
from seatledger.api.subscriptions.schemas import (
    LedgerEntryRead,
    SubscriptionCancel,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionRead,
)
from seatledger.policy_files import resolve_policy
from seatledger.service import listings, subscriptions
from seatledger.service.access import require_manager
from seatledger.service.context import Services

router = resource_router("subscriptions")


@router.post(
    "/subscriptions", status_code=201, response_model=SubscriptionCreated, summary="Subscribe"
)
def create_subscription(
    body: SubscriptionCreate, request: Request, caller: CallerDep, svc: ServicesDep
) -> JSONResponse:
    """Create a subscription (account managers) and issue its first invoice, in advance."""

    def run(s: Services) -> SubscriptionCreated:
        require_manager(s, caller)
        policy = resolve_policy(body.preset, body.policy)
        result = subscriptions.subscribe(
            s,
            account_id=caller.account_id,
            policy=policy,
            preset=body.preset,
            workspaces=body.workspaces,
            owner_email=body.owner_email or caller.email,
            seats=body.seats,
            anchor_at=body.anchor_at,
            test_clock_id=body.test_clock_id,
        )
        view = listings.subscription_as_written(
            s, account_id=caller.account_id, subscription_id=str(result.detail["subscription_id"])
        )
        return SubscriptionCreated(
            subscription=SubscriptionRead.of(view), change=ChangeRead.of(result)
        )

    return answer_once(request, svc, caller, run, body=body, status=201)


@router.get("/subscriptions", response_model=Page[SubscriptionRead], summary="The subscriptions")
def list_subscriptions(
    caller: CallerDep, svc: ServicesDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[SubscriptionRead]:
    views = listings.subscriptions(svc, caller=caller)
    items, next_cursor = paginate(
        views,
        key=lambda v: (v.subscription.created_at.isoformat(), v.subscription.id),
        limit=limit,
        cursor=cursor,
        read=SubscriptionRead.of,
    )
    return Page[SubscriptionRead](items=items, next_cursor=next_cursor)


@router.get(
    "/subscriptions/{subscription_id}", response_model=SubscriptionRead, summary="A subscription"
)
def get_subscription(
    subscription_id: SubscriptionId, caller: CallerDep, svc: ServicesDep
) -> SubscriptionRead:
    view = listings.subscription(svc, caller=caller, subscription_id=subscription_id)
    return SubscriptionRead.of(view)


@router.post("/subscriptions/{subscription_id}/cancel", response_model=ChangeRead, summary="Cancel")
def cancel_subscription(
    subscription_id: SubscriptionId,
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
    body: Annotated[SubscriptionCancel | None, Body()] = None,
) -> JSONResponse:
    """Cancel at the end of the paid period, or now (the policy's seat managers)."""
    wanted = body or SubscriptionCancel()

    def run(s: Services) -> ChangeRead:
        workspace = listings.managing_workspace(s, caller=caller, subscription_id=subscription_id)
        result = subscriptions.cancel_subscription(
            s,
            account_id=caller.account_id,
            workspace=workspace,
            actor=caller.email,
            at_period_end=wanted.at_period_end,
        )
        return ChangeRead.of(result)

    return answer_once(request, svc, caller, run, body=wanted)


@router.get(
    "/subscriptions/{subscription_id}/ledger",
    response_model=Page[LedgerEntryRead],
    summary="The seat ledger",
)
def list_ledger(
    subscription_id: SubscriptionId,
    caller: CallerDep,
    svc: ServicesDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[LedgerEntryRead]:
    """Every change of seats, append-only, in order (account managers)."""
    records = listings.ledger(svc, caller=caller, subscription_id=subscription_id)
    items, next_cursor = paginate(
        records, key=lambda r: (r.seq,), limit=limit, cursor=cursor, read=LedgerEntryRead.of
    )
    return Page[LedgerEntryRead](items=items, next_cursor=next_cursor)
