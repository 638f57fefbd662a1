"""``/v1/workspaces`` and ``/v1/bundles``."""

from __future__ import annotations

from seatledger.api.pagination import CursorQuery, LimitQuery, Page, paginate
from seatledger.api.routing import WorkspaceId, resource_router
from seatledger.api.security import CallerDep, ServicesDep
from seatledger.api.workspaces.schemas import BundleRead, WorkspaceRead
from seatledger.service import listings

router = resource_router("workspaces")


@router.get("/workspaces", response_model=Page[WorkspaceRead], summary="The workspaces")
def list_workspaces(
    caller: CallerDep, svc: ServicesDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[WorkspaceRead]:
    """The account's workspaces by name, each with the subscription covering it."""
    views = listings.workspaces(svc, caller=caller)
    items, next_cursor = paginate(
        views,
        key=lambda v: (v.workspace.name, v.workspace.id),
        limit=limit,
        cursor=cursor,
        read=WorkspaceRead.of,
    )
    return Page[WorkspaceRead](items=items, next_cursor=next_cursor)


@router.get("/workspaces/{workspace_id}", response_model=WorkspaceRead, summary="A workspace")
def get_workspace(workspace_id: WorkspaceId, caller: CallerDep, svc: ServicesDep) -> WorkspaceRead:
    return WorkspaceRead.of(listings.workspace(svc, caller=caller, workspace_id=workspace_id))


@router.get("/bundles", response_model=Page[BundleRead], summary="The bundles")
def list_bundles(
    caller: CallerDep, svc: ServicesDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[BundleRead]:
    """Each subscription's workspaces with its seats: one person counts once across them."""
    views = listings.subscriptions(svc, caller=caller)
    items, next_cursor = paginate(
        views,
        key=lambda v: (v.subscription.created_at.isoformat(), v.subscription.id),
        limit=limit,
        cursor=cursor,
        read=BundleRead.of,
    )
    return Page[BundleRead](items=items, next_cursor=next_cursor)
