"""The ``proration`` table of a policy: the unit of time, where charges and credits go, and how a
share of a period becomes money.

Split from ``policy`` (which re-exports every name here) so each stays a readable size. The keys,
with one worked example each, are in DESIGN.md, "The seat policy"; ``proration`` computes shares
and ``billing`` turns them into lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from seatledger.domain.errors import InvalidInput
from seatledger.domain.money import Rounding
from seatledger.domain.periods import Interval

E = TypeVar("E", bound=StrEnum)


class ProrationUnit(StrEnum):
    """The grain of a mid-period change's share of the period (see ``proration``)."""

    SECOND = "second"
    MINUTE = "minute"
    DAY = "day"
    MONTH = "month"
    NONE = "none"


class OnIncrease(StrEnum):
    """Where the prorated charge of more seats goes: an invoice now, the next invoice, one invoice
    at the end of each month of the period (in arrears), or nowhere."""

    CHARGE_NOW = "charge_now"
    NEXT_INVOICE = "next_invoice"
    MONTHLY = "monthly"
    NONE = "none"


class OnDecrease(StrEnum):
    """Where the prorated credit of fewer seats goes: a credit now, the next invoice, nowhere."""

    CREDIT_NOW = "credit_now"
    CREDIT_NEXT_INVOICE = "credit_next_invoice"
    NONE = "none"


class ChangeDay(StrEnum):
    """With day units, who pays for the day of a change: the new quantity or the old one."""

    REMAINING = "remaining"  # the day of the change is billed to the new quantity
    USED = "used"  # the day of the change is billed to the old quantity


class PartialPeriodBasis(StrEnum):
    """The denominator of a leading partial period ``[start, anchor)`` before the billing anchor."""

    ANCHOR_PERIOD = "anchor_period"  # the full period that ends at the anchor
    START_PERIOD = "start_period"  # the full period that starts at the start


class RoundingStage(StrEnum):
    """Where a prorated line is rounded: once for the line, or per unit before the quantity."""

    LINE = "line"  # fraction x price x quantity, settled once
    UNIT = "unit"  # fraction x price settled first, then x quantity


class CreditBasis(StrEnum):
    """What a decrease credits: the price's share, or a share of what was actually invoiced."""

    PRICE = "price"
    INVOICED = "invoiced"


@dataclass(frozen=True, slots=True)
class ProrationPolicy:
    """The ``proration`` table of a policy (DESIGN.md, "The seat policy", one example per key).

    ``day_count`` is None for ``actual`` (the real length of the period) or the fixed number of
    days every month counts; ``credit_rounding`` None rounds credits like charges
    (``Policy.rounding``); ``fraction_scale`` None keeps the share exact; ``timezone`` is the IANA
    name of the zone whose calendar days ``unit: day`` counts.
    """

    unit: ProrationUnit = ProrationUnit.SECOND
    on_increase: OnIncrease = OnIncrease.CHARGE_NOW
    on_decrease: OnDecrease = OnDecrease.CREDIT_NOW
    day_count: int | None = None
    change_day: ChangeDay = ChangeDay.REMAINING
    partial_period_basis: PartialPeriodBasis = PartialPeriodBasis.ANCHOR_PERIOD
    credit_rounding: Rounding | None = None
    rounding_stage: RoundingStage = RoundingStage.LINE
    fraction_scale: int | None = None
    credit_basis: CreditBasis = CreditBasis.PRICE
    timezone: str = "UTC"


PRORATION_KEYS = frozenset(
    {
        "unit",
        "on_increase",
        "on_decrease",
        "day_count",
        "change_day",
        "partial_period_basis",
        "rounding",
        "credit_rounding",
        "rounding_stage",
        "fraction_scale",
        "credit_basis",
        "timezone",
    }
)
# Fixed day counts a month may take: a month has at least 28 days and at most 31.
DAY_COUNTS = range(28, 32)
# Decimals a share may be rounded to: beyond this no price meets a difference.
MAX_FRACTION_SCALE = 30


def parse_enum(data: Mapping[str, Any], key: str, kind: type[E], default: E, prefix: str = "") -> E:
    """The member of ``kind`` named by ``data[key]`` (``default`` when absent); an unknown name is an
    ``InvalidInput`` naming ``prefix + key`` and listing the allowed values."""
    value = data.get(key, default)
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise InvalidInput(prefix + key, f"must be one of {allowed}; got {value!r}") from None


def proration_from_mapping(value: Any, interval: Interval) -> ProrationPolicy:
    """Validate the ``proration`` table of a policy whose interval is ``interval``.

    Each refusal is an ``InvalidInput`` naming the key path (``proration.day_count``) and what is
    allowed; a key that would be silently ignored with its unit or interval is refused too
    (``change_day: used`` without ``unit: day``).
    """
    if not isinstance(value, Mapping):
        raise InvalidInput(
            "proration",
            "must be a mapping of unit, on_increase, on_decrease and the proration keys",
        )
    unknown = sorted(set(value) - PRORATION_KEYS)
    if unknown:
        raise InvalidInput(
            f"proration.{unknown[0]}",
            f"is not a proration key; allowed: {', '.join(sorted(PRORATION_KEYS))}",
        )
    p = "proration."
    proration = ProrationPolicy(
        unit=parse_enum(value, "unit", ProrationUnit, ProrationUnit.SECOND, p),
        on_increase=parse_enum(value, "on_increase", OnIncrease, OnIncrease.CHARGE_NOW, p),
        on_decrease=parse_enum(value, "on_decrease", OnDecrease, OnDecrease.CREDIT_NOW, p),
        day_count=_day_count(value),
        change_day=parse_enum(value, "change_day", ChangeDay, ChangeDay.REMAINING, p),
        partial_period_basis=parse_enum(
            value, "partial_period_basis", PartialPeriodBasis, PartialPeriodBasis.ANCHOR_PERIOD, p
        ),
        credit_rounding=None
        if value.get("credit_rounding") is None
        else parse_enum(value, "credit_rounding", Rounding, Rounding.HALF_UP, p),
        rounding_stage=parse_enum(value, "rounding_stage", RoundingStage, RoundingStage.LINE, p),
        fraction_scale=_fraction_scale(value),
        credit_basis=parse_enum(value, "credit_basis", CreditBasis, CreditBasis.PRICE, p),
        timezone=_timezone(value),
    )
    _check_proration(proration, interval)
    return proration


def _check_proration(proration: ProrationPolicy, interval: Interval) -> None:
    """Refuse keys that would be silently ignored with the unit or interval they come with."""
    by_day = proration.unit is ProrationUnit.DAY
    if proration.day_count is not None and not by_day:
        raise InvalidInput(
            "proration.day_count",
            f"a fixed day count needs unit: day, got unit: {proration.unit}; use actual",
        )
    if proration.day_count is not None and interval.months is None:
        raise InvalidInput(
            "proration.day_count",
            f"a fixed day count per month needs a month, quarter or year interval, got {interval}",
        )
    if proration.change_day is ChangeDay.USED and not by_day:
        raise InvalidInput(
            "proration.change_day",
            f"used needs unit: day (it says who pays the day of a change), got unit: "
            f"{proration.unit}; use remaining",
        )
    if proration.on_increase is OnIncrease.MONTHLY and interval.months is None:
        raise InvalidInput(
            "proration.on_increase",
            f"monthly needs a month, quarter or year interval, got {interval}",
        )


def _day_count(value: Mapping[str, Any]) -> int | None:
    count = value.get("day_count", "actual")
    if count == "actual":
        return None
    if isinstance(count, bool) or not isinstance(count, int) or count not in DAY_COUNTS:
        raise InvalidInput(
            "proration.day_count",
            f"must be actual or a whole number of days per month from {DAY_COUNTS.start} to "
            f"{DAY_COUNTS.stop - 1}; got {count!r}",
        )
    return count


def _fraction_scale(value: Mapping[str, Any]) -> int | None:
    scale = value.get("fraction_scale")
    if scale is None:
        return None
    if (
        isinstance(scale, bool)
        or not isinstance(scale, int)
        or not 0 <= scale <= MAX_FRACTION_SCALE
    ):
        raise InvalidInput(
            "proration.fraction_scale",
            f"must be null (exact) or a whole number of decimals from 0 to {MAX_FRACTION_SCALE}; "
            f"got {scale!r}",
        )
    return scale


def _timezone(value: Mapping[str, Any]) -> str:
    name = value.get("timezone", "UTC")
    try:
        if not isinstance(name, str):
            raise ValueError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            "proration.timezone",
            f"must be an IANA time zone name such as UTC or Europe/Berlin; got {name!r}",
        ) from None
    return name


def proration_to_mapping(proration: ProrationPolicy) -> dict[str, Any]:
    """The plain ``proration`` table of ``proration`` (``proration_from_mapping`` reads it back);
    ``rounding`` is left to the top-level key that carries it."""
    return {
        "unit": proration.unit.value,
        "on_increase": proration.on_increase.value,
        "on_decrease": proration.on_decrease.value,
        "day_count": "actual" if proration.day_count is None else proration.day_count,
        "change_day": proration.change_day.value,
        "partial_period_basis": proration.partial_period_basis.value,
        "credit_rounding": None
        if proration.credit_rounding is None
        else proration.credit_rounding.value,
        "rounding_stage": proration.rounding_stage.value,
        "fraction_scale": proration.fraction_scale,
        "credit_basis": proration.credit_basis.value,
        "timezone": proration.timezone,
    }
