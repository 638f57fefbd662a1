"""The seat policy: every knob of DESIGN.md's table, typed and validated.

A policy is read from a plain mapping (parsed from YAML, TOML or JSON by the caller: the domain does
no I/O). ``merge_policy`` lays overrides over a preset key by key, nested tables included, so a
scenario can say ``proration: {unit: second}`` and keep the preset's other proration keys.

Every refusal names the key and what is allowed: ``proration.unit: must be one of second, minute,
day, month, none; got 'hour'``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from seatledger.domain.errors import InvalidInput
from seatledger.domain.fair_policy import (
    AutoPurchase,
    BillingBasis,
    auto_purchase_from_mapping,
    billing_basis_from_mapping,
    fair_keys_to_mapping,
)
from seatledger.domain.inactivity_policy import (
    inactive_after_from_mapping,
    inactive_after_to_mapping,
)
from seatledger.domain.money import Money, Rounding, minor_unit
from seatledger.domain.periods import Interval
from seatledger.domain.proration_policy import (
    DAY_COUNTS as DAY_COUNTS,
)
from seatledger.domain.proration_policy import (
    MAX_FRACTION_SCALE as MAX_FRACTION_SCALE,
)
from seatledger.domain.proration_policy import (
    PRORATION_KEYS as PRORATION_KEYS,
)
from seatledger.domain.proration_policy import (
    ChangeDay as ChangeDay,
)
from seatledger.domain.proration_policy import (
    CreditBasis as CreditBasis,
)
from seatledger.domain.proration_policy import (
    OnDecrease as OnDecrease,
)
from seatledger.domain.proration_policy import (
    OnIncrease as OnIncrease,
)
from seatledger.domain.proration_policy import (
    PartialPeriodBasis as PartialPeriodBasis,
)
from seatledger.domain.proration_policy import (
    ProrationPolicy as ProrationPolicy,
)
from seatledger.domain.proration_policy import (
    ProrationUnit as ProrationUnit,
)
from seatledger.domain.proration_policy import (
    RoundingStage as RoundingStage,
)
from seatledger.domain.proration_policy import (
    parse_enum,
    proration_from_mapping,
    proration_to_mapping,
)
from seatledger.domain.proration_styles import with_proration_style


class SeatMode(StrEnum):
    """How the seat count moves: bought ahead (manual) or following usage (automatic)."""

    MANUAL = "manual"  # seats are bought first; an action that needs one more is refused
    AUTOMATIC = "automatic"  # seats follow usage; each added person is billed


class DecreaseRelease(StrEnum):
    """When removed seats stop being bought: at once, or when the current period ends."""

    IMMEDIATE = "immediate"
    PERIOD_END = "period_end"


@dataclass(frozen=True, slots=True)
class FreeAllowance:
    """``per_paid_seat`` holders of ``role`` come free with each paid seat (Plaky: 5 viewers)."""

    role: str
    per_paid_seat: int


@dataclass(frozen=True, slots=True)
class Addon:
    """A seat pack on top of the plan: ``seats`` more seats for ``price`` per billing interval."""

    name: str
    seats: int
    price: Money


@dataclass(frozen=True, slots=True)
class Policy:
    """A complete seat policy. Prices are per billing interval (a yearly plan: the yearly price)."""

    billable_roles: tuple[str, ...]
    free_roles: tuple[str, ...]
    currency: str
    interval: Interval
    seat_price: Money
    base_price: Money
    count_pending_invites: bool = False
    count_deactivated: bool = False
    seat_mode: SeatMode = SeatMode.MANUAL
    included_seats: int = 0
    min_seats: int | None = None
    max_seats: int | None = None
    free_allowance: FreeAllowance | None = None
    proration: ProrationPolicy = field(default_factory=ProrationPolicy)
    decrease_release: DecreaseRelease = DecreaseRelease.IMMEDIATE
    refill_paid_seat_free: bool = False
    remove_only_unused: bool = True
    batch_atomic: bool = True
    seat_managers: tuple[str, ...] = ("owner",)
    member_managers: tuple[str, ...] = ("owner", "admin")
    owner_role: str = "owner"  # the role `subscribe` gives the creator; transfer_ownership moves it
    required_roles: tuple[str, ...] = ()
    expiring_roles: Mapping[str, timedelta] = field(default_factory=dict)
    addons: Mapping[str, Addon] = field(default_factory=dict)
    rounding: Rounding = Rounding.HALF_UP
    # Fair billing: a seat holder idle this long is not billed while idle (domain/fair_billing.py).
    inactive_after: timedelta | None = None
    billing_basis: BillingBasis = BillingBasis.PURCHASED
    true_up_months: int = 3
    auto_purchase: AutoPurchase = field(default_factory=AutoPurchase)

    @property
    def roles(self) -> frozenset[str]:
        """Every role the policy knows, billable or free."""
        return frozenset(self.billable_roles) | frozenset(self.free_roles)

    def is_billable(self, role: str) -> bool:
        """Whether a holder of ``role`` uses a seat."""
        return role in self.billable_roles

    def billed_seats(self, seats_total: int) -> int:
        """Seats that cost ``seat_price``: those beyond ``included_seats`` (never negative)."""
        return max(0, seats_total - self.included_seats)


# The keys a policy file may carry: exactly DESIGN.md's table, plus member_managers and owner_role.
POLICY_KEYS = frozenset(
    {
        "billable_roles",
        "free_roles",
        "count_pending_invites",
        "count_deactivated",
        "seat_mode",
        "included_seats",
        "min_seats",
        "max_seats",
        "currency",
        "interval",
        "seat_price",
        "base_price",
        "free_allowance",
        "proration",
        "decrease_release",
        "refill_paid_seat_free",
        "remove_only_unused",
        "batch_atomic",
        "seat_managers",
        "member_managers",
        "owner_role",
        "required_roles",
        "expiring_roles",
        "addons",
        "rounding",
        "inactive_after",
        "billing_basis",
        "true_up_months",
        "auto_purchase",
    }
)
REQUIRED_KEYS = ("billable_roles", "free_roles", "currency", "interval", "seat_price")

# Matched whole (fullmatch): a trailing newline, which `$` would let through, is not a role name.
_ROLE = re.compile(r"[a-z][a-z0-9_]*")
_DURATION = re.compile(
    r"P(?:(?P<weeks>[0-9]+)W|(?:(?P<days>[0-9]+)D)?(?:T(?:(?P<hours>[0-9]+)H)?"
    r"(?:(?P<minutes>[0-9]+)M)?(?:(?P<seconds>[0-9]+)S)?)?)"
)


def merge_policy(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` laid over it; nested mappings merge key by key."""
    merged: dict[str, Any] = dict(base)
    for key, value in overrides.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = merge_policy(current, value)
        else:
            merged[key] = value
    return merged


def parse_duration(text: str, key: str) -> timedelta:
    """An ISO 8601 duration of fixed length (``P30D``, ``PT12H``, ``P2W``); months are refused
    because their length depends on when they start."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise InvalidInput(key, f"must be an ISO 8601 duration such as P30D or PT12H, got {text!r}")
    parts = {k: int(v) for k, v in match.groupdict().items() if v}
    return timedelta(**parts)


def format_duration(value: timedelta) -> str:
    """The ISO 8601 form ``parse_duration`` reads back: ``P30D``, ``PT12H``, ``P1DT30M``."""
    days, seconds = value.days, value.seconds
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    clock = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    return (
        "P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "")
        if (days or clock)
        else "PT0S"
    )


def policy_from_mapping(data: Mapping[str, Any]) -> Policy:
    """Validate a complete policy mapping and build the ``Policy``.

    Unknown keys, missing required keys, wrong types and unknown enum values are refused with an
    ``InvalidInput`` naming the key and the rule.
    """
    if not isinstance(data, Mapping):
        raise InvalidInput("policy", "must be a mapping of policy keys")
    data = with_proration_style(data)
    unknown = sorted(set(data) - POLICY_KEYS, key=str)
    if unknown:
        raise InvalidInput(
            str(unknown[0]), f"is not a policy key; allowed: {', '.join(sorted(POLICY_KEYS))}"
        )
    for key in REQUIRED_KEYS:
        if key not in data:
            raise InvalidInput(key, "is required")
    currency = _text(data, "currency")
    minor_unit(currency)
    billable = _roles(data, "billable_roles")
    free = _roles(data, "free_roles")
    both = sorted(set(billable) & set(free))
    if both:
        raise InvalidInput("free_roles", f"{both[0]!r} cannot be both billable and free")
    known_roles = set(billable) | set(free)
    owner_role = _owner_role(data, billable)
    # Left out, the managers default to the owner (and admins, where the policy has that role), so
    # a policy without an `admin` role needs no manager keys to be valid.
    admins = ("admin",) if "admin" in known_roles and owner_role != "admin" else ()
    interval = _interval(data)
    basis, true_up_months = billing_basis_from_mapping(data)
    policy = Policy(
        billable_roles=billable,
        free_roles=free,
        currency=currency,
        interval=interval,
        seat_price=_price(data, "seat_price", currency),
        base_price=_price(data, "base_price", currency)
        if "base_price" in data
        else Money.zero(currency),
        count_pending_invites=_bool(data, "count_pending_invites", False),
        count_deactivated=_bool(data, "count_deactivated", False),
        seat_mode=parse_enum(data, "seat_mode", SeatMode, SeatMode.MANUAL),
        included_seats=_count(data, "included_seats", 0) or 0,
        min_seats=_count(data, "min_seats", None),
        max_seats=_count(data, "max_seats", None),
        free_allowance=_free_allowance(data),
        proration=proration_from_mapping(data.get("proration", {}), interval),
        decrease_release=parse_enum(
            data, "decrease_release", DecreaseRelease, DecreaseRelease.IMMEDIATE
        ),
        refill_paid_seat_free=_bool(data, "refill_paid_seat_free", False),
        remove_only_unused=_bool(data, "remove_only_unused", True),
        batch_atomic=_bool(data, "batch_atomic", True),
        seat_managers=_roles(data, "seat_managers", (owner_role,), known_roles),
        member_managers=_roles(data, "member_managers", (owner_role, *admins), known_roles),
        owner_role=owner_role,
        required_roles=_roles(data, "required_roles", (), known_roles),
        expiring_roles=_expiring_roles(data, known_roles),
        addons=_addons(data, currency),
        rounding=_rounding(data),
        inactive_after=inactive_after_from_mapping(data),
        billing_basis=basis,
        true_up_months=true_up_months,
        auto_purchase=auto_purchase_from_mapping(
            data.get("auto_purchase"), _count(data, "max_seats", None)
        ),
    )
    if (
        policy.min_seats is not None
        and policy.max_seats is not None
        and policy.min_seats > policy.max_seats
    ):
        raise InvalidInput("min_seats", f"must not exceed max_seats ({policy.max_seats})")
    return policy


def policy_to_mapping(policy: Policy) -> dict[str, Any]:
    """The plain mapping form of ``policy`` (amounts as strings), which ``policy_from_mapping``
    reads back to an equal policy."""
    return {
        "billable_roles": list(policy.billable_roles),
        "free_roles": list(policy.free_roles),
        "count_pending_invites": policy.count_pending_invites,
        "count_deactivated": policy.count_deactivated,
        "seat_mode": policy.seat_mode.value,
        "included_seats": policy.included_seats,
        "min_seats": policy.min_seats,
        "max_seats": policy.max_seats,
        "currency": policy.currency,
        "interval": str(policy.interval),
        "seat_price": policy.seat_price.format(),
        "base_price": policy.base_price.format(),
        "free_allowance": None
        if policy.free_allowance is None
        else {
            "role": policy.free_allowance.role,
            "per_paid_seat": policy.free_allowance.per_paid_seat,
        },
        "proration": proration_to_mapping(policy.proration),
        "decrease_release": policy.decrease_release.value,
        "refill_paid_seat_free": policy.refill_paid_seat_free,
        "remove_only_unused": policy.remove_only_unused,
        "batch_atomic": policy.batch_atomic,
        "seat_managers": list(policy.seat_managers),
        "member_managers": list(policy.member_managers),
        "owner_role": policy.owner_role,
        "required_roles": list(policy.required_roles),
        "expiring_roles": {r: format_duration(d) for r, d in policy.expiring_roles.items()},
        "addons": {
            n: {"seats": a.seats, "price": a.price.format()} for n, a in policy.addons.items()
        },
        "rounding": policy.rounding.value,
        **inactive_after_to_mapping(policy.inactive_after),
        **fair_keys_to_mapping(policy.billing_basis, policy.true_up_months, policy.auto_purchase),
    }


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value:
        raise InvalidInput(key, f"must be a non-empty string, got {value!r}")
    return value


def _bool(data: Mapping[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise InvalidInput(key, f"must be true or false, got {value!r}")
    return value


def _count(data: Mapping[str, Any], key: str, default: int | None, prefix: str = "") -> int | None:
    value = data.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(prefix + key, f"must be a whole number >= 0 or null, got {value!r}")
    return value


def _roles(
    data: Mapping[str, Any],
    key: str,
    default: tuple[str, ...] = (),
    known: set[str] | None = None,
) -> tuple[str, ...]:
    value = data.get(key, list(default))
    if not isinstance(value, list | tuple) or not all(isinstance(r, str) for r in value):
        raise InvalidInput(key, f"must be a list of role names, got {value!r}")
    for role in value:
        if not _ROLE.fullmatch(role):
            raise InvalidInput(key, f"role names are snake_case, got {role!r}")
        if known is not None and role not in known:
            allowed = ", ".join(sorted(known))
            raise InvalidInput(key, f"{role!r} is not one of the policy's roles ({allowed})")
    if len(set(value)) != len(value):
        raise InvalidInput(key, "lists a role twice")
    return tuple(value)


def _owner_role(data: Mapping[str, Any], billable: tuple[str, ...]) -> str:
    value = data.get("owner_role", "owner")
    if value not in billable:
        allowed = ", ".join(billable) or "none"
        raise InvalidInput(
            "owner_role", f"must be one of the billable roles ({allowed}), got {value!r}"
        )
    return str(value)


def _interval(data: Mapping[str, Any]) -> Interval:
    value = data["interval"]
    if not isinstance(value, str):
        raise InvalidInput("interval", f"must be a string such as month or year, got {value!r}")
    return Interval.parse(value)


def _price(data: Mapping[str, Any], key: str, currency: str, prefix: str = "") -> Money:
    value = data[key]
    key = prefix + key
    # Prices are decimal strings (or whole numbers): a float in a policy file is refused, because
    # 0.1 written as a YAML float is already not 0.1.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidInput(key, f'must be a decimal string such as "99.00", got {value!r}')
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise InvalidInput(
            key, f'must be a decimal string such as "99.00", got {value!r}'
        ) from None
    if not amount.is_finite() or amount < 0:
        raise InvalidInput(key, f"must be a non-negative amount, got {value!r}")
    price = Money(amount, currency)
    if not price.is_settled:
        raise InvalidInput(
            key, f"has more decimals than {currency} allows ({minor_unit(currency)})"
        )
    return price


def _free_allowance(data: Mapping[str, Any]) -> FreeAllowance | None:
    value = data.get("free_allowance")
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) != {"role", "per_paid_seat"}:
        raise InvalidInput("free_allowance", "must be {role, per_paid_seat} or null")
    role = value["role"]
    if role not in data.get("free_roles", ()):
        raise InvalidInput("free_allowance.role", f"must be one of the free roles, got {role!r}")
    per = _count(value, "per_paid_seat", 0, "free_allowance.")
    if per is None:
        raise InvalidInput("free_allowance.per_paid_seat", "must be a whole number >= 0")
    return FreeAllowance(role=role, per_paid_seat=per)


def _rounding(data: Mapping[str, Any]) -> Rounding:
    # ``proration.rounding`` wins over the top-level ``rounding`` it stands for: a proration style
    # laid over a preset must be able to set it.
    proration = data.get("proration")
    if isinstance(proration, Mapping) and "rounding" in proration:
        return parse_enum(proration, "rounding", Rounding, Rounding.HALF_UP, "proration.")
    return parse_enum(data, "rounding", Rounding, Rounding.HALF_UP)


def _expiring_roles(data: Mapping[str, Any], known: set[str]) -> dict[str, timedelta]:
    value = data.get("expiring_roles", {}) or {}
    if not isinstance(value, Mapping):
        raise InvalidInput("expiring_roles", "must map role names to ISO 8601 durations")
    result = {}
    for role, text in value.items():
        if role not in known:
            allowed = ", ".join(sorted(known))
            raise InvalidInput(
                "expiring_roles", f"{role!r} is not one of the policy's roles ({allowed})"
            )
        result[role] = parse_duration(text, f"expiring_roles.{role}")
    return result


def _addons(data: Mapping[str, Any], currency: str) -> dict[str, Addon]:
    value = data.get("addons", {}) or {}
    if not isinstance(value, Mapping):
        raise InvalidInput("addons", "must map add-on names to {seats, price}")
    result = {}
    for name, spec in value.items():
        key = f"addons.{name}"
        if not isinstance(spec, Mapping) or set(spec) != {"seats", "price"}:
            raise InvalidInput(key, "must be {seats, price}")
        seats = _count(spec, "seats", 0, f"{key}.")
        if not seats:
            raise InvalidInput(f"{key}.seats", "must be a whole number >= 1")
        price = _price(spec, "price", currency, f"{key}.")
        result[name] = Addon(name=name, seats=seats, price=price)
    return result
