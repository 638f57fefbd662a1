"""Subscriptions: an account's plan, seats and billing period, over one workspace or a bundle."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from seatledger.api import limits
from seatledger.api.schemas import ChangeRead, Instant, SeatsRead
from seatledger.api.workspaces.schemas import WorkspaceRef
from seatledger.domain.policy import policy_to_mapping
from seatledger.service.listings import SubscriptionView
from seatledger.service.ports import LedgerRecord, SubscriptionStatus

WorkspaceName = Annotated[str, Field(min_length=1, max_length=limits.NAME)]


class SubscriptionCreate(BaseModel):
    """Subscribe: the plan (a preset, overrides, or a complete ``policy``), the workspaces it
    covers (created when missing; several make a bundle), the owner and the seats bought."""

    preset: str | None = Field(default=None, max_length=limits.ID, examples=["rallly-pro"])
    policy: dict[str, Any] | None = Field(
        default=None,
        description="Policy keys laid over the preset (or a complete policy without one).",
        examples=[{"free_roles": ["viewer"]}],
    )
    workspaces: list[WorkspaceName] = Field(
        min_length=1,
        max_length=limits.MAX_WORKSPACES,
        description="Workspace names; the owner holds the owner role in the first.",
        examples=[["main"]],
    )
    owner_email: str | None = Field(
        default=None,
        min_length=3,
        max_length=limits.EMAIL,
        description="Who owns the subscription (default: the acting person).",
    )
    seats: int = Field(ge=0, le=limits.MAX_SEATS, examples=[3])
    anchor_at: Instant | None = Field(
        default=None, description="The first renewal instant; the partial period is prorated."
    )
    test_clock_id: str | None = Field(
        default=None,
        max_length=limits.ID,
        description="Live on this test clock of the account from the start.",
    )


class SubscriptionRead(BaseModel):
    id: str
    status: SubscriptionStatus
    preset: str | None
    policy: dict[str, Any]
    workspaces: list[WorkspaceRef]
    seats: SeatsRead
    seats_at_renewal: int = Field(description="What the next period bills.")
    seats_paid: int = Field(description="What the current period has been paid for.")
    addons: dict[str, int]
    anchor_at: datetime
    period_start: datetime
    period_end: datetime
    cancel_at_period_end: bool
    canceled_at: datetime | None
    test_clock_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, view: SubscriptionView) -> SubscriptionRead:
        sub = view.subscription
        return cls(
            id=sub.id,
            status=sub.status,
            preset=sub.preset,
            policy=policy_to_mapping(sub.policy),
            workspaces=[WorkspaceRef.of(w) for w in view.workspaces],
            seats=SeatsRead.of(view.seats),
            seats_at_renewal=sub.seats_at_renewal,
            seats_paid=sub.seats_paid,
            addons=view.addons,
            anchor_at=sub.anchor_at,
            period_start=sub.period.start,
            period_end=sub.period.end,
            cancel_at_period_end=sub.cancel_at_period_end,
            canceled_at=sub.canceled_at,
            test_clock_id=sub.test_clock_id,
            created_at=sub.created_at,
        )


class SubscriptionCreated(BaseModel):
    subscription: SubscriptionRead
    change: ChangeRead


class SubscriptionCancel(BaseModel):
    at_period_end: bool = Field(
        default=True,
        description="End when the paid period ends (no further invoice), or now (unused seat "
        "time credited as the policy says).",
    )


class LedgerEntryRead(BaseModel):
    """A row of the append-only seat ledger: the counts right after a change."""

    seq: int
    at: datetime
    kind: str
    seats_total: int
    seats_used: int
    seats_at_renewal: int
    seats_paid: int
    person_id: str | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, record: LedgerRecord) -> LedgerEntryRead:
        return cls(
            seq=record.seq,
            at=record.at,
            kind=record.kind,
            seats_total=record.seats_total,
            seats_used=record.seats_used,
            seats_at_renewal=record.seats_at_renewal,
            seats_paid=record.seats_paid,
            person_id=record.person_id,
            detail=record.detail,
        )
