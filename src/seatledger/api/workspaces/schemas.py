"""Workspaces, and bundles: the workspaces one subscription covers, counted as one seat pool."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from seatledger.api.schemas import SeatsRead
from seatledger.service.listings import SubscriptionView, WorkspaceView
from seatledger.service.ports import Workspace


class WorkspaceRef(BaseModel):
    id: str
    name: str

    @classmethod
    def of(cls, workspace: Workspace) -> WorkspaceRef:
        return cls(id=workspace.id, name=workspace.name)


class WorkspaceRead(BaseModel):
    id: str
    name: str
    created_at: datetime
    subscription_id: str | None

    @classmethod
    def of(cls, view: WorkspaceView) -> WorkspaceRead:
        return cls(
            id=view.workspace.id,
            name=view.workspace.name,
            created_at=view.workspace.created_at,
            subscription_id=view.subscription_id,
        )


class BundleRead(BaseModel):
    """One subscription's workspaces: a person holding roles in several counts once."""

    subscription_id: str
    workspaces: list[WorkspaceRef]
    seats: SeatsRead

    @classmethod
    def of(cls, view: SubscriptionView) -> BundleRead:
        return cls(
            subscription_id=view.subscription.id,
            workspaces=[WorkspaceRef.of(w) for w in view.workspaces],
            seats=SeatsRead.of(view.seats),
        )
