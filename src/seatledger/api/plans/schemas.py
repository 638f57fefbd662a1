"""Plans: the presets (one complete seat policy per seed product) and policies built on them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from seatledger.api import limits
from seatledger.api.schemas import Amount, Currency
from seatledger.domain.policy import Policy, SeatMode


class PresetSummary(BaseModel):
    name: str
    currency: Currency
    interval: str
    seat_mode: SeatMode
    seat_price: Amount
    base_price: Amount

    @classmethod
    def of(cls, name: str, policy: Policy) -> PresetSummary:
        return cls(
            name=name,
            currency=policy.currency,
            interval=str(policy.interval),
            seat_mode=policy.seat_mode,
            seat_price=policy.seat_price.format(),
            base_price=policy.base_price.format(),
        )


class PlanRead(BaseModel):
    """A complete seat policy: every knob of DESIGN.md's table, amounts as strings."""

    preset: str | None
    policy: dict[str, Any]


class PlanResolve(BaseModel):
    """A preset and overrides laid over it key by key (nested tables merge); without a preset
    ``policy`` must be complete."""

    preset: str | None = Field(default=None, max_length=limits.ID, examples=["rallly-pro"])
    policy: dict[str, Any] | None = Field(
        default=None, examples=[{"proration": {"unit": "second"}}]
    )
