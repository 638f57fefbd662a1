"""Test clocks: move an account's billing through time without waiting for it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from seatledger.api import limits
from seatledger.api.schemas import Instant, InvoiceRead
from seatledger.service.ports import TestClock


class TestClockCreate(BaseModel):
    __test__ = False  # a schema, not a pytest test class

    at: Instant = Field(description="Where the clock stands to begin with (any instant).")
    name: str = Field(default="", max_length=limits.NAME)


class TestClockRead(BaseModel):
    __test__ = False

    id: str
    name: str
    now_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, clock: TestClock) -> TestClockRead:
        return cls(id=clock.id, name=clock.name, now_at=clock.now_at, created_at=clock.created_at)


class TestClockAdvance(BaseModel):
    __test__ = False

    to: Instant = Field(description="The instant to move to; never before the clock's time.")


class TestClockAttach(BaseModel):
    __test__ = False

    subscription_id: str | None = Field(
        default=None,
        max_length=limits.ID,
        description="Only this subscription; every active one of the account when left out.",
    )


class TestClockAdvanced(BaseModel):
    __test__ = False

    clock: TestClockRead
    invoices: list[InvoiceRead] = Field(description="Issued on the way, in order.")


class TestClockAttached(BaseModel):
    __test__ = False

    invoices: list[InvoiceRead] = Field(description="Issued to bring them to the clock's time.")
