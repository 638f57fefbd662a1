"""``/v1/workspaces/{id}/seats`` and ``/addons``: the seat pool the workspace draws from."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request
from fastapi.responses import JSONResponse

from seatledger.api import limits
from seatledger.api.idempotency import answer_once
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
from seatledger.service.context import Services

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
    workspace_id: WorkspaceId,
    body: SeatsUpdate,
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
) -> JSONResponse:
    """The exact charge or credit of moving to ``seats`` now, and the next invoice; nothing
    changes. Refused as the change itself would be (seat managers only, limits)."""

    def run(s: Services) -> SeatPreviewRead:
        workspace = listings.workspace_name(s, caller=caller, workspace_id=workspace_id)
        preview = subscriptions.preview_seat_change(
            s,
            account_id=caller.account_id,
            workspace=workspace,
            actor=caller.email,
            seats=body.seats,
        )
        return SeatPreviewRead.of(preview)

    return answer_once(request, svc, caller, run, body=body)


@router.put("/workspaces/{workspace_id}/seats", response_model=ChangeRead, summary="Set seats")
def set_seats(
    workspace_id: WorkspaceId,
    body: SeatsUpdate,
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
) -> JSONResponse:
    """Buy or release seats (the new total), billed as the policy says. Only the policy's seat
    managers may (``not_permitted`` otherwise)."""

    def run(s: Services) -> ChangeRead:
        workspace = listings.workspace_name(s, caller=caller, workspace_id=workspace_id)
        result = subscriptions.change_seat_count(
            s,
            account_id=caller.account_id,
            workspace=workspace,
            actor=caller.email,
            seats=body.seats,
        )
        return ChangeRead.of(result)

    return answer_once(request, svc, caller, run, body=body)


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
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
) -> JSONResponse:
    """Hold ``count`` packs of add-on ``name`` (0 removes it), billed like seats."""

    def run(s: Services) -> ChangeRead:
        workspace = listings.workspace_name(s, caller=caller, workspace_id=workspace_id)
        result = subscriptions.set_addon(
            s,
            account_id=caller.account_id,
            workspace=workspace,
            actor=caller.email,
            name=name,
            count=body.count,
        )
        return ChangeRead.of(result)

    return answer_once(request, svc, caller, run, body=body)
