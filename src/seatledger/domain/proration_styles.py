"""Named proration styles: the ``proration`` keys set the way a well-known billing engine bills.

A team moving to seatledger from another billing engine writes ``proration: {style: killbill}``
and gets every proration key the way that engine computes a mid-period change: the unit of time,
the day count, who pays the day of the change, the denominator of a leading partial period,
rounding (mode and stage), the precision of the share, the credit basis and where charges and
credits go. Keys written next to ``style`` override the style's, one by one:
``{style: killbill, day_count: 30}`` is Kill Bill with its fixed 30-day months switched on.

The expansion happens before the table is validated, so a style is nothing but the keys it lists
(``STYLES``); ``policy_to_mapping`` writes the expanded keys, never ``style``, and reads back to an
equal policy. ``timezone`` is left out of every style: the engines that count days count them in
the account's zone, which a style cannot know (set ``proration.timezone``).

docs/proration-styles.md gives each style's keys with the public source of every value.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from seatledger.domain.errors import InvalidInput

STYLE_KEY = "style"

# A style lists every proration key but ``timezone``, so the defaults of the keys never leak into
# it: a style means the same thing whatever the defaults become. Values are written as in a policy
# file; tests/unit/test_proration_styles.py parses each one.
STYLES: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        # Stripe Billing: prorated to the second; a leading partial period over an interval that
        # starts at the start date (backdating docs); credits from what was debited (flexible
        # billing mode); prorations wait as pending items for the next invoice by default.
        "stripe": MappingProxyType(
            {
                "unit": "second",
                "day_count": "actual",
                "change_day": "remaining",
                "partial_period_basis": "start_period",
                "rounding": "half_up",
                "credit_rounding": "half_up",
                "rounding_stage": "line",
                "fraction_scale": None,
                "credit_basis": "invoiced",
                "on_increase": "next_invoice",
                "on_decrease": "credit_next_invoice",
            }
        ),
        # Kill Bill: whole days (LocalDate) over the actual days of the period, the share kept to
        # 9 decimals half-up (KillBillMoney.MAX_SCALE), rate x quantity x share rounded half-up once;
        # a repair credits a share of the invoiced item, capped by what earlier repairs left.
        "killbill": MappingProxyType(
            {
                "unit": "day",
                "day_count": "actual",
                "change_day": "remaining",
                "partial_period_basis": "anchor_period",
                "rounding": "half_up",
                "credit_rounding": "half_up",
                "rounding_stage": "line",
                "fraction_scale": 9,
                "credit_basis": "invoiced",
                "on_increase": "charge_now",
                "on_decrease": "credit_now",
            }
        ),
        # Lago (pay-in-advance prorated fixed charge, its seat model): the days from the change to
        # the period's end, the change day included, over the days of the period; the added units
        # are invoiced at once; a decrease is not refunded.
        "lago": MappingProxyType(
            {
                "unit": "day",
                "day_count": "actual",
                "change_day": "remaining",
                "partial_period_basis": "anchor_period",
                "rounding": "half_up",
                "credit_rounding": "half_up",
                "rounding_stage": "line",
                "fraction_scale": None,
                "credit_basis": "price",
                "on_increase": "charge_now",
                "on_decrease": "none",
            }
        ),
        # Zulip (corporate/lib/stripe.py): the time left over the period's length, the price per
        # license rounded to the cent first (int(x + 0.5)) and then times the added licenses,
        # invoiced at the next monthly invoice date; licenses never go down within a period.
        "zulip": MappingProxyType(
            {
                "unit": "second",
                "day_count": "actual",
                "change_day": "remaining",
                "partial_period_basis": "anchor_period",
                "rounding": "half_up",
                "credit_rounding": "half_up",
                "rounding_stage": "unit",
                "fraction_scale": None,
                "credit_basis": "price",
                "on_increase": "monthly",
                "on_decrease": "none",
            }
        ),
        # Chargebee (millisecond billing mode, its default): price per time left over the term,
        # rounded per line to the currency; upgrades invoiced at once, credits kept for the next
        # invoice.
        "chargebee": MappingProxyType(
            {
                "unit": "second",
                "day_count": "actual",
                "change_day": "remaining",
                "partial_period_basis": "anchor_period",
                "rounding": "half_up",
                "credit_rounding": "half_up",
                "rounding_stage": "line",
                "fraction_scale": None,
                "credit_basis": "price",
                "on_increase": "charge_now",
                "on_decrease": "credit_next_invoice",
            }
        ),
        # Slack's Fair Billing Policy: the price per member over the days of the period times the
        # days remaining, counted per member; additions billed at the end of the month, credits for
        # members already paid for shown on the next statement.
        "slack": MappingProxyType(
            {
                "unit": "day",
                "day_count": "actual",
                "change_day": "remaining",
                "partial_period_basis": "anchor_period",
                "rounding": "half_up",
                "credit_rounding": "half_up",
                "rounding_stage": "unit",
                "fraction_scale": None,
                "credit_basis": "invoiced",
                "on_increase": "monthly",
                "on_decrease": "credit_next_invoice",
            }
        ),
    }
)


def expand_proration_style(proration: Mapping[str, Any]) -> dict[str, Any]:
    """The ``proration`` table with its ``style`` replaced by the style's keys.

    Keys written in ``proration`` win over the style's; ``style`` itself is dropped. A table
    without ``style`` comes back as a plain copy. An unknown style (or one that is not a string)
    is an ``InvalidInput`` naming ``proration.style`` and listing the allowed names. Nothing else
    is checked here: the expanded table is validated like any other.

    Example: ``expand_proration_style({"style": "killbill", "day_count": 30})`` has ``unit: day``,
    ``fraction_scale: 9`` and ``rounding: half_up`` from Kill Bill, and ``day_count: 30`` as
    written.
    """
    table = dict(proration)
    if STYLE_KEY not in table:
        return table
    name = table.pop(STYLE_KEY)
    style = STYLES.get(name) if isinstance(name, str) else None
    if style is None:
        allowed = ", ".join(sorted(STYLES))
        raise InvalidInput(f"proration.{STYLE_KEY}", f"must be one of {allowed}; got {name!r}")
    return {**style, **table}


def with_proration_style(policy: Mapping[str, Any]) -> Mapping[str, Any]:
    """``policy`` with its ``proration`` table expanded by ``expand_proration_style``.

    A policy whose ``proration`` is absent, not a mapping (left for the policy's own validation to
    refuse) or names no style is returned as it is.

    Example: ``with_proration_style({..., "proration": {"style": "lago"}})["proration"]["unit"]``
    is ``"day"``.
    """
    proration = policy.get("proration")
    if not isinstance(proration, Mapping) or STYLE_KEY not in proration:
        return policy
    return {**policy, "proration": expand_proration_style(proration)}
