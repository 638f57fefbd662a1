"""``/v1/subscriptions``: subscribe, list, show, cancel, and the seat ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body

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

router = resource_router("subscriptions")


@router.post(
    "/subscriptions", status_code=201, response_model=SubscriptionCreated, summary="Subscribe"
)
def create_subscription(
    body: SubscriptionCreate, caller: CallerDep, svc: ServicesDep
) -> SubscriptionCreated:
    """Create a subscription (account managers) and issue its first invoice, in advance."""
    require_manager(svc, caller)
    policy = resolve_policy(body.preset, body.policy)
    result = subscriptions.subscribe(
        svc,
        account_id=caller.account_id,
        policy=policy,
        preset=body.preset,
        workspaces=body.workspaces,
        owner_email=body.owner_email or caller.email,
        seats=body.seats,
        anchor_at=body.anchor_at,
        test_clock_id=body.test_clock_id,
    )
    subscription_id = str(result.detail["subscription_id"])
    view = listings.subscription_as_written(
        svc, account_id=caller.account_id, subscription_id=subscription_id
    )
    return SubscriptionCreated(subscription=SubscriptionRead.of(view), change=ChangeRead.of(result))


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
    caller: CallerDep,
    svc: ServicesDep,
    body: Annotated[SubscriptionCancel | None, Body()] = None,
) -> ChangeRead:
    """Cancel at the end of the paid period, or now (the policy's seat managers)."""
    workspace = listings.managing_workspace(svc, caller=caller, subscription_id=subscription_id)
    result = subscriptions.cancel_subscription(
        svc,
        account_id=caller.account_id,
        workspace=workspace,
        actor=caller.email,
        at_period_end=(body or SubscriptionCancel()).at_period_end,
    )
    return ChangeRead.of(result)


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
