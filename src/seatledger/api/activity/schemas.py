"""Activity reports of fair billing (``inactive_after``): one member's, or a batch across
workspaces, and what each report did."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from seatledger.api import limits
from seatledger.api.schemas import Amount, Instant, InvoiceRead, amount
from seatledger.service.activity import MAX_BATCH, ActivityOutcome, ActivityResult

Email = Annotated[str, Field(min_length=3, max_length=limits.EMAIL)]
At = Annotated[
    Instant | None,
    Field(
        default=None,
        description="When the member was active (not later than now); default now.",
    ),
]


class ActivityCreate(BaseModel):
    """A member of the workspace used the product. Members report their own activity; reporting
    someone else's needs a role of the policy's ``member_managers``."""

    email: Email
    at: At = None


class ActivityReportCreate(BaseModel):
    workspace_id: str = Field(min_length=1, max_length=limits.ID, description="A workspace id.")
    email: Email
    at: At = None


class ActivityBatchCreate(BaseModel):
    """Reports across the account's workspaces, kept in one transaction: all of them, or none
    (the first refusal answers)."""

    reports: list[ActivityReportCreate] = Field(min_length=1, max_length=MAX_BATCH)


class ActivityOutcomeRead(BaseModel):
    """What one report did. ``tracked``: kept for fair billing (false when the plan has no
    ``inactive_after`` or the member holds no seat); ``billed``: the member's seat is billed now;
    ``back``: it was not before this report, and is billed again from ``at``."""

    workspace_id: str
    email: str
    at: datetime
    last_active_at: datetime | None
    tracked: bool
    billed: bool
    back: bool

    @classmethod
    def of(cls, outcome: ActivityOutcome, workspace_id: str) -> ActivityOutcomeRead:
        return cls(
            workspace_id=workspace_id,
            email=outcome.email,
            at=outcome.at,
            last_active_at=outcome.last_active_at,
            tracked=outcome.tracked,
            billed=outcome.billed,
            back=outcome.back,
        )


class ActivityRead(BaseModel):
    """Every report's outcome in the order given; the invoices the members who came back were
    billed by (and anything that fell due meanwhile), and the credit created, per currency."""

    reports: list[ActivityOutcomeRead]
    invoices: list[InvoiceRead]
    credited: dict[str, Amount] = Field(examples=[{"USD": "5.33"}])

    @classmethod
    def of(cls, result: ActivityResult, workspace_ids: list[str]) -> ActivityRead:
        return cls(
            reports=[
                ActivityOutcomeRead.of(o, w)
                for o, w in zip(result.outcomes, workspace_ids, strict=True)
            ],
            invoices=[InvoiceRead.of_view(v) for v in result.invoices],
            credited={currency: amount(m) for currency, m in sorted(result.credited.items())},
        )
