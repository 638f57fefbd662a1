"""The fair-billing keys of a policy: ``billing_basis`` (with ``true_up_months``) and
``auto_purchase``.

Split from ``policy`` (which re-exports every name here and reads the keys through
``billing_basis_from_mapping`` / ``auto_purchase_from_mapping``) so each stays a readable size. The
keys, with one worked example each, are in DESIGN.md, "The seat policy"; ``auto_purchase`` decides
how many seats an action buys and ``peak_billing`` prices peaks and true-ups.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from seatledger.domain.errors import InvalidInput


class BillingBasis(StrEnum):
    """What the seats line of a period bills: the seats bought, the period's peak, or the seats
    bought with the overage reconciled every ``true_up_months``."""

    PURCHASED = "purchased"  # seats are bought ahead and billed in advance (the default)
    PEAK = "peak"  # the most seats used in a period, billed in arrears at its end
    TRUE_UP = "true_up"  # a commitment billed ahead; usage above it is reconciled periodically


# GitLab reconciles quarterly: three months is the default window of ``true_up``.
DEFAULT_TRUE_UP_MONTHS = 3


@dataclass(frozen=True, slots=True)
class AutoPurchase:
    """``auto_purchase``: in manual seat mode, buy the seats an action lacks instead of refusing it.

    ``up_to_seats`` is the most bought seats automatic purchases may reach (add-on packs aside);
    None means up to the policy's ``max_seats`` (unbounded without one).
    """

    enabled: bool = False
    up_to_seats: int | None = None


AUTO_PURCHASE_KEYS = frozenset({"enabled", "up_to_seats"})


def billing_basis_from_mapping(data: Mapping[str, Any]) -> tuple[BillingBasis, int]:
    """``billing_basis`` and ``true_up_months`` of a policy mapping, validated.

    ``billing_basis`` is one of ``purchased`` (default), ``peak``, ``true_up``. ``true_up_months``
    is a whole number of months >= 1 (default 3, also when null), allowed only with ``true_up``.
    Example:
    ``{billing_basis: true_up, true_up_months: 3}`` gives ``(TRUE_UP, 3)``; ``{billing_basis:
    peak, true_up_months: 1}`` is refused naming ``true_up_months``.
    """
    value = data.get("billing_basis", BillingBasis.PURCHASED.value)
    try:
        basis = BillingBasis(value)
    except ValueError:
        allowed = ", ".join(b.value for b in BillingBasis)
        raise InvalidInput("billing_basis", f"must be one of {allowed}; got {value!r}") from None
    months = data.get("true_up_months")
    if months is None:
        return basis, DEFAULT_TRUE_UP_MONTHS
    if basis is not BillingBasis.TRUE_UP:
        raise InvalidInput("true_up_months", "applies only with billing_basis: true_up")
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise InvalidInput("true_up_months", f"must be a whole number >= 1, got {months!r}")
    return basis, months


def auto_purchase_from_mapping(value: Any, max_seats: int | None) -> AutoPurchase:
    """The ``auto_purchase`` table, validated: ``{enabled?, up_to_seats?}`` or null (off).

    A table turns the purchase on unless it says ``enabled: false``. ``up_to_seats`` is a whole
    number >= 1 or null, and never above ``max_seats``. Example: ``{up_to_seats: 12}`` gives
    ``AutoPurchase(enabled=True, up_to_seats=12)``; ``{up_to: 12}`` is refused naming
    ``auto_purchase.up_to``.
    """
    if value is None:
        return AutoPurchase()
    if not isinstance(value, Mapping):
        raise InvalidInput("auto_purchase", "must be {enabled, up_to_seats} or null")
    unknown = sorted(set(value) - AUTO_PURCHASE_KEYS, key=str)
    if unknown:
        raise InvalidInput(
            f"auto_purchase.{unknown[0]}",
            f"is not an auto_purchase key; allowed: {', '.join(sorted(AUTO_PURCHASE_KEYS))}",
        )
    enabled = value.get("enabled", True)
    if not isinstance(enabled, bool):
        raise InvalidInput("auto_purchase.enabled", f"must be true or false, got {enabled!r}")
    cap = value.get("up_to_seats")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
        raise InvalidInput(
            "auto_purchase.up_to_seats", f"must be a whole number >= 1 or null, got {cap!r}"
        )
    if cap is not None and max_seats is not None and cap > max_seats:
        raise InvalidInput("auto_purchase.up_to_seats", f"must not exceed max_seats ({max_seats})")
    return AutoPurchase(enabled=enabled, up_to_seats=cap)


def fair_keys_to_mapping(
    basis: BillingBasis, true_up_months: int, auto_purchase: AutoPurchase
) -> dict[str, Any]:
    """The plain mapping form of the fair-billing keys, which the readers above read back equal;
    ``true_up_months`` is null unless the basis is ``true_up``."""
    return {
        "billing_basis": basis.value,
        "true_up_months": true_up_months if basis is BillingBasis.TRUE_UP else None,
        "auto_purchase": {
            "enabled": auto_purchase.enabled,
            "up_to_seats": auto_purchase.up_to_seats,
        },
    }
