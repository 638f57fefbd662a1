"""Schemas of ``/v1/invoices``' explanation: each line and the people and seat intervals behind it.

Amounts are strings with the currency's minor digits; the entries of a line add up exactly to its
``quantity`` and ``amount``.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from seatledger.api.schemas import Amount, InvoiceLineRead, InvoiceRead, amount
from seatledger.domain.seat_intervals import (
    EntryKind,
    ExplanationEntry,
    HoldingKind,
    IntervalReason,
    LineExplanation,
    SeatInterval,
)
from seatledger.service.explain import InvoiceExplanation


class SeatIntervalRead(BaseModel):
    """A person's holding of a role in a workspace over ``[started_at, ended_at)`` (``ended_at``
    null while it lasts), with why it started and ended."""

    person_id: str
    workspace_id: str
    workspace: str = Field(examples=["main"])
    role: str = Field(examples=["reviewer"])
    scope: str | None = None
    kind: HoldingKind
    started_at: datetime
    start_reason: IntervalReason
    ended_at: datetime | None = None
    end_reason: IntervalReason | None = None

    @classmethod
    def of(cls, explanation: InvoiceExplanation, interval: SeatInterval) -> SeatIntervalRead:
        return cls(
            person_id=interval.person,
            workspace_id=interval.workspace,
            workspace=explanation.workspace(interval),
            role=interval.role,
            scope=interval.scope,
            kind=interval.kind,
            started_at=interval.started_at,
            start_reason=interval.start_reason,
            ended_at=interval.ended_at,
            end_reason=interval.end_reason,
        )


class ExplanationEntryRead(BaseModel):
    """A part of a line: a ``person`` holding a billed seat, an ``unassigned`` purchased seat, a
    holder the plan's ``included`` seats cover (quantity 0), or the line itself (``charge``: base
    fee, add-on packs, credit)."""

    kind: EntryKind
    label: str = Field(
        description="Who: the person's e-mail (erased-<id> once erased), or what the entry is.",
        examples=["ana@example.com"],
    )
    person_id: str | None = None
    quantity: int = Field(examples=[1])
    amount: Amount
    intervals: list[SeatIntervalRead]

    @classmethod
    def of(cls, explanation: InvoiceExplanation, entry: ExplanationEntry) -> ExplanationEntryRead:
        return cls(
            kind=entry.kind,
            label=explanation.who(entry),
            person_id=entry.person,
            quantity=entry.quantity,
            amount=amount(entry.amount),
            intervals=[SeatIntervalRead.of(explanation, i) for i in entry.intervals],
        )


class LineExplanationRead(BaseModel):
    line: InvoiceLineRead
    entries: list[ExplanationEntryRead]

    @classmethod
    def of(cls, explanation: InvoiceExplanation, line: LineExplanation) -> LineExplanationRead:
        return cls(
            line=InvoiceLineRead.of(line.line),
            entries=[ExplanationEntryRead.of(explanation, e) for e in line.entries],
        )


class InvoiceExplanationRead(BaseModel):
    """An invoice and, for each of its lines in order, the entries that add up to it."""

    invoice: InvoiceRead
    lines: list[LineExplanationRead]

    @classmethod
    def of(cls, explanation: InvoiceExplanation) -> InvoiceExplanationRead:
        return cls(
            invoice=InvoiceRead.of_view(explanation.invoice, explanation.subscription_id),
            lines=[LineExplanationRead.of(explanation, line) for line in explanation.lines],
        )
