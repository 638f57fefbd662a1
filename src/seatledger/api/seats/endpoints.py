"""``/v1/workspaces/{id}/seats`` and ``/addons``: the seat pool the workspace draws from."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from seatledger.api import limits
from seatledger.api.routing import WorkspaceId, resource_router
from seatledger.api.schemas import ChangeRead
from seatledger.api.seats.schemas import (
    AddonRead,
    AddonUpdate,
    SeatPreviewRead,
    SeatsUpdate,
    SeatUsageRead,
)
from seatledger.api.security import CallerDep, ServicesDep
from seatledger.service import listings, subscriptions

router = resource_router("seats")

AddonName = Annotated[str, Path(min_length=1, max_length=limits.ID, description="An add-on.")]


@router.get("/workspaces/{workspace_id}/seats", response_model=SeatUsageRead, summary="Seats")
def get_seats(workspace_id: WorkspaceId, caller: CallerDep, svc: ServicesDep) -> SeatUsageRead:
    """Seats total, used and available now (and free places), for the subscription covering the
    workspace: shared by every workspace of its bundle."""
    view = listings.seats(svc, caller=caller, workspace_id=workspace_id)
    return SeatUsageRead.of_view(view)


@router.post(
    "/workspaces/{workspace_id}/seats/preview",
    response_model=SeatPreviewRead,
    summary="Preview a seat change",
)
def preview_seats(
    workspace_id: WorkspaceId, body: SeatsUpdate, caller: CallerDep, svc: ServicesDep
) -> SeatPreviewRead:
    """The exact charge or credit of moving to ``seats`` now, and the next invoice; nothing
    changes. Refused as the change itself would be (seat managers only, limits)."""
    workspace = listings.workspace_name(svc, caller=caller, workspace_id=workspace_id)
    preview = subscriptions.preview_seat_change(
        svc, account_id=caller.account_id, workspace=workspace, actor=caller.email, seats=body.seats
    )
    return SeatPreviewRead.of(preview)


@router.put("/workspaces/{workspace_id}/seats", response_model=ChangeRead, summary="Set seats")
def set_seats(
    workspace_id: WorkspaceId, body: SeatsUpdate, caller: CallerDep, svc: ServicesDep
) -> ChangeRead:
    """Buy or release seats (the new total), billed as the policy says. Only the policy's seat
    managers may (``not_permitted`` otherwise)."""
    workspace = listings.workspace_name(svc, caller=caller, workspace_id=workspace_id)
    result = subscriptions.change_seat_count(
        svc, account_id=caller.account_id, workspace=workspace, actor=caller.email, seats=body.seats
    )
    return ChangeRead.of(result)


@router.get("/workspaces/{workspace_id}/addons", response_model=list[AddonRead], summary="Add-ons")
def list_addons(workspace_id: WorkspaceId, caller: CallerDep, svc: ServicesDep) -> list[AddonRead]:
    """Every add-on pack the plan offers, with the packs held now."""
    return [AddonRead.of(v) for v in listings.addons(svc, caller=caller, workspace_id=workspace_id)]


@router.put(
    "/workspaces/{workspace_id}/addons/{name}", response_model=ChangeRead, summary="Set an add-on"
)
def set_addon(
    workspace_id: WorkspaceId,
    name: AddonName,
    body: AddonUpdate,
    caller: CallerDep,
    svc: ServicesDep,
) -> ChangeRead:
    """Hold ``count`` packs of add-on ``name`` (0 removes it), billed like seats."""
    workspace = listings.workspace_name(svc, caller=caller, workspace_id=workspace_id)
    result = subscriptions.set_addon(
        svc,
        account_id=caller.account_id,
        workspace=workspace,
        actor=caller.email,
        name=name,
        count=body.count,
    )
    return ChangeRead.of(result)
