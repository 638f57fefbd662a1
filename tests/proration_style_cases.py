"""The worked examples of each proration style, as tables shared by the domain test
(tests/unit/test_proration_styles_examples.py, ``opening_lines`` and ``price_seat_change``) and the
scenario test (tests/scenarios/test_style_examples_as_scenarios.py, the service layer and the store
on both databases), so both run exactly the same cases with the same figures and ids.

Each case comes from the engine's own documentation, tests or code: each case id names its source
("rule" where the figure follows from the cited code rather than being printed in it).
docs/proration-styles.md explains every key each style sets.

Two shapes of case: a subscription that starts before its billing anchor (``OPENINGS``, the
leading partial period), and seat changes inside a period (``CHANGES``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from seatledger.domain.policy import Policy, policy_from_mapping

KB = "killbill/killbill invoice/src/test/java/org/killbill/billing/invoice"
KB_RULE = "killbill/killbill InvoiceDateUtils"
LAGO_SPEC = "getlago/lago-api spec/services/fees/build_pay_in_advance_fixed_charge_service_spec.rb"
LAGO_RULE = "getlago/lago-api Fees::BuildPayInAdvanceFixedChargeService"
ZULIP = "zulip/zulip corporate/tests/test_stripe.py"
ZULIP_RULE = "zulip/zulip corporate/lib/stripe.py invoice_plan"


def at(text: str) -> datetime:
    """An aware UTC instant from ``2024-02-23`` or ``2024-02-23T12:00:00``."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def styled(style: str, price: str, interval: str = "month", **keys: Any) -> Policy:
    """A USD policy with one billable role, ``price`` per seat and interval, proration ``style``;
    ``keys`` go into the proration table, except the top-level ``refill_paid_seat_free``."""
    refill = keys.pop("refill_paid_seat_free", False)
    return policy_from_mapping(
        {
            "billable_roles": ["owner", "member"],
            "free_roles": [],
            "currency": "USD",
            "interval": interval,
            "seat_price": price,
            "refill_paid_seat_free": refill,
            "proration": {"style": style, **keys},
        }
    )


# --- leading partial periods: a start before the first renewal (the billing anchor) -------------


@dataclass(frozen=True)
class Opening:
    policy: Policy
    start: str
    anchor: str
    seats: int
    amount: str


OPENINGS = [
    # Kill Bill: the leading share is over the period that ends at the first billing-cycle date.
    pytest.param(
        Opening(styled("killbill", "100.00"), "2023-05-23", "2023-06-15", 1, "74.19"),
        id=f"killbill 23/31=0.741935484 {KB}/generator/TestInvoiceDateUtilsWithoutFixedProration",
    ),
    pytest.param(
        Opening(styled("killbill", "100.00"), "2023-06-23", "2023-07-15", 1, "73.33"),
        id="killbill 22/30=0.733333333 TestInvoiceDateUtilsWithoutFixedProration",
    ),
    pytest.param(
        Opening(styled("killbill", "100.00"), "2023-02-23", "2023-03-15", 1, "71.43"),
        id="killbill february 20/28=0.714285714 TestInvoiceDateUtilsWithoutFixedProration",
    ),
    pytest.param(
        Opening(styled("killbill", "100.00"), "2024-02-23", "2024-03-15", 1, "72.41"),
        id="killbill leap february 2024 21/29=0.724137931 TestInvoiceDateUtilsWithoutFixedProration",
    ),
    pytest.param(
        Opening(styled("killbill", "100.00", day_count=30), "2024-02-23", "2024-03-15", 1, "73.33"),
        id=f"killbill fixed 30 days 2024 22/30=0.733333333 {KB}/generator/"
        "TestInvoiceDateUtilsWithFixedProration",
    ),
    pytest.param(
        Opening(styled("killbill", "100.00", day_count=30), "2023-05-15", "2023-05-23", 1, "26.67"),
        id="killbill fixed 30 days 8/30=0.266666667 TestInvoiceDateUtilsWithFixedProration",
    ),
    pytest.param(
        Opening(styled("killbill", "100.00"), "2011-02-01", "2011-02-13", 1, "38.71"),
        id=f"killbill monthly bcd 13 12/31 {KB}/tests/inAdvance/monthly/TestLeadingProRation",
    ),
    pytest.param(
        Opening(styled("killbill", "1000.00", "year"), "2011-02-01", "2011-02-13", 1, "32.88"),
        id=f"killbill annual 12/365 {KB}/tests/inAdvance/annual/TestLeadingProRation",
    ),
    pytest.param(
        Opening(styled("killbill", "1000.00", "year"), "2011-01-31", "2012-01-15", 1, "956.16"),
        id="killbill annual 349/365 inAdvance/annual/TestProRation PrecedingProRation",
    ),
    pytest.param(
        Opening(styled("killbill", "100.00"), "2011-02-14", "2011-02-28", 1, "45.16"),
        id="killbill bcd 31 clamped to february 28 14/31 inAdvance/monthly/TestProRation "
        "ChangeBCDTo31",
    ),
    pytest.param(
        Opening(styled("killbill", "1000.00", "year"), "2011-12-15", "2012-03-15", 1, "248.63"),
        id=f"killbill rule 366-day year 91/366=0.248633880 {KB_RULE}"
        ".calculateProRationBeforeFirstBillingPeriod",
    ),
    pytest.param(
        Opening(styled("killbill", "100.00"), "2024-02-23", "2024-03-15", 3, "217.24"),
        id="killbill rule quantity 3 x 100 x 0.724137931 rounded once "
        "FixedAndRecurringInvoiceItemGenerator",
    ),
    # Stripe: the share is over an imagined interval that starts at the start date.
    pytest.param(
        Opening(styled("stripe", "10.00"), "2023-02-15", "2023-03-01", 1, "5.00"),
        id="stripe backdate february 15 exactly half docs.stripe.com/billing/subscriptions/"
        "backdating",
    ),
    pytest.param(
        Opening(styled("stripe", "10.00"), "2023-01-15", "2023-02-01", 1, "5.48"),
        id="stripe backdate january 15 17/31 docs.stripe.com/billing/subscriptions/backdating",
    ),
    pytest.param(
        Opening(styled("stripe", "10.00"), "2024-02-15", "2024-03-01", 1, "5.17"),
        id="stripe rule leap february 2024 15/29 backdating imagined interval",
    ),
    pytest.param(
        Opening(styled("stripe", "10.00"), "2023-01-30", "2023-02-15", 1, "5.52"),
        id="stripe rule imagined month from january 30 ends february 28 16/29",
    ),
    pytest.param(
        Opening(
            styled("stripe", "10.00", partial_period_basis="anchor_period"),
            "2023-01-30",
            "2023-02-15",
            1,
            "5.16",
        ),
        id="stripe with anchor_period override 16/31 explicit keys win",
    ),
    # Lago: calendar billing prorates the first month over its own days, change day included.
    pytest.param(
        Opening(styled("lago", "10.00"), "2024-03-15", "2024-04-01", 10, "54.84"),
        id=f"lago 10 units from march 15 17/31 {LAGO_SPEC}",
    ),
]


# --- seat changes inside a period ----------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    policy: Policy
    period: tuple[str, str]
    paid: int
    steps: tuple[tuple[str, int], ...]  # (instant, new seat total), in order
    amounts: tuple[str, ...]  # each step's charge (positive) or credit (negative), "0" for none


def change(
    policy: Policy, period: tuple[str, str], paid: int, *steps: tuple[str, int], amounts: str
) -> Change:
    return Change(policy, period, paid, steps, tuple(amounts.split()))


CHANGES = [
    # Stripe
    pytest.param(
        change(
            styled("stripe", "10.00"),
            ("2026-04-01", "2026-05-01"),
            1,
            ("2026-04-16", 2),
            amounts="5.00",
        ),
        id="stripe half-way add one 10 USD seat docs.stripe.com/billing/subscriptions/prorations",
    ),
    pytest.param(
        change(
            styled("stripe", "10.00"),
            ("2026-04-01", "2026-05-01"),
            2,
            ("2026-04-16", 1),
            amounts="-5.00",
        ),
        id="stripe half-way remove one unused time credit docs.stripe.com/.../prorations",
    ),
    pytest.param(
        change(
            styled("stripe", "10.00"),
            ("2026-04-01", "2026-05-01"),
            1,
            ("2026-04-16T12:00:00", 2),
            amounts="4.83",
        ),
        id="stripe rule to the second 14.5 of 30 days docs.stripe.com/billing/scripts/prorations",
    ),
    pytest.param(
        change(
            styled("stripe", "9.99"),
            ("2026-04-01", "2026-05-01"),
            1,
            ("2026-04-16T12:00:00", 8),
            amounts="33.80",
        ),
        id="stripe rule quantity 7 x 9.99 x 29/60 rounded once (per seat would be 33.81)",
    ),
    pytest.param(
        change(
            styled("stripe", "120.00", "year"),
            ("2024-01-01", "2025-01-01"),
            1,
            ("2024-07-01", 2),
            amounts="60.33",
        ),
        id="stripe rule 366-day year 184/366",
    ),
    pytest.param(
        change(
            styled("stripe", "10.00"),
            ("2024-02-29", "2024-03-31"),
            1,
            ("2024-03-15", 2),
            amounts="5.16",
        ),
        id="stripe billing day 31 period feb 29 to mar 31 16/31 docs.stripe.com/billing/"
        "subscriptions/billing-cycle",
    ),
    pytest.param(
        change(
            styled("stripe", "10.00"),
            ("2026-04-01", "2026-05-01"),
            3,
            ("2026-04-16", 2),
            ("2026-04-21", 1),
            amounts="-5.00 -3.33",
        ),
        id="stripe rule a credit after an earlier credit 15/30 then 10/30",
    ),
    # Kill Bill
    pytest.param(
        change(
            styled("killbill", "100.00"),
            ("2012-02-01", "2012-03-01"),
            3,
            ("2012-02-15", 2),
            amounts="-51.72",
        ),
        id=f"killbill leap february 2012 14/29 used 15/29 credited {KB}/tests/inAdvance/monthly/"
        "TestProRation LeapYearFebruaryProRation",
    ),
    pytest.param(
        change(
            styled("killbill", "100.00"),
            ("2024-02-15", "2024-03-15"),
            1,
            ("2024-02-23", 4),
            amounts="217.24",
        ),
        id="killbill rule quantity 3 leap 2024 21/29 rate x quantity x 0.724137931 rounded once",
    ),
    pytest.param(
        change(
            styled("killbill", "100.00"),
            ("2012-02-29", "2012-03-31"),
            1,
            ("2012-03-15", 2),
            amounts="51.61",
        ),
        id="killbill rule bcd 31 after leap february 16/31",
    ),
    pytest.param(
        change(
            styled("killbill", "100.00"),
            ("2024-02-15", "2024-03-15"),
            3,
            ("2024-02-23", 2),
            ("2024-03-01", 1),
            amounts="-72.41 -48.28",
        ),
        id="killbill rule credits after earlier credits 21/29 then 14/29 tree/Item repair",
    ),
    pytest.param(
        change(
            styled("killbill", "100.00", day_count=30),
            ("2024-03-15", "2024-04-15"),
            1,
            ("2024-03-31", 2),
            amounts="46.67",
        ),
        id="killbill fixed 30 days march 31 to april 15 is 15 - 1 = 14 of 30 "
        "InvoiceDateUtils.daysBetweenWithFixedDaysInMonth",
    ),
    # Lago
    pytest.param(
        change(
            styled("lago", "10.00"),
            ("2024-03-01", "2024-04-01"),
            0,
            ("2024-03-01", 10),
            amounts="100.00",
        ),
        id=f"lago added on the first day full amount {LAGO_SPEC}",
    ),
    pytest.param(
        change(
            styled("lago", "10.00"),
            ("2024-03-01", "2024-04-01"),
            0,
            ("2024-03-15", 10),
            amounts="54.84",
        ),
        id="lago 10 units march 15 17/31 spec prorated added mid-period",
    ),
    pytest.param(
        change(
            styled("lago", "10.00"),
            ("2024-03-01", "2024-04-01"),
            0,
            ("2024-03-31", 10),
            amounts="3.23",
        ),
        id="lago last day of the period 1/31 spec minimally prorated",
    ),
    pytest.param(
        change(
            styled("lago", "10.00"),
            ("2024-03-01", "2024-04-01"),
            10,
            ("2024-03-20", 15),
            amounts="19.35",
        ),
        id="lago 10 to 15 units march 20 5 x 10 x 12/31 spec delta is positive",
    ),
    pytest.param(
        change(
            styled("lago", "10.00"),
            ("2024-03-01", "2024-04-01"),
            10,
            ("2024-03-25", 15),
            amounts="11.29",
        ),
        id="lago already paid 10 to 15 march 25 7/31 spec multiple increases",
    ),
    pytest.param(
        change(
            styled("lago", "10.00"),
            ("2024-03-01", "2024-04-01"),
            10,
            ("2024-03-20", 5),
            amounts="0",
        ),
        id="lago decrease is not refunded spec delta is negative",
    ),
    pytest.param(
        change(
            styled("lago", "10.00", refill_paid_seat_free=True),
            ("2024-03-01", "2024-04-01"),
            10,
            ("2024-03-15", 5),
            ("2024-03-15", 20),
            amounts="0 54.84",
        ),
        id="lago decrease then increase billed above the units already paid spec multiple "
        "previous fees with decrease",
    ),
    pytest.param(
        change(
            styled("lago", "10.00"),
            ("2023-07-01", "2023-08-01"),
            0,
            ("2023-07-10", 1),
            amounts="7.10",
        ),
        id="lago july 10 22 days code divides by 31 (guide prorated-vs-full prints 22/30=7.33)",
    ),
    pytest.param(
        change(
            styled("lago", "10.00"),
            ("2024-02-01", "2024-03-01"),
            0,
            ("2024-02-15", 1),
            amounts="5.17",
        ),
        id=f"lago rule leap february 15/29 {LAGO_RULE}",
    ),
    pytest.param(
        change(
            styled("lago", "120.00", "year"),
            ("2024-01-01", "2025-01-01"),
            0,
            ("2024-07-01", 1),
            amounts="60.33",
        ),
        id="lago rule calendar year 2024 366 days 184/366 Dates::YearlyService",
    ),
    # Zulip: annual plan at 8000 cents a license, anchored 2012-01-02 03:04:05 UTC.
    pytest.param(
        change(
            styled("zulip", "80.00", "year"),
            ("2012-01-02T03:04:05", "2013-01-02T03:04:05"),
            6,
            ("2012-04-11T03:04:05", 9),
            amounts="174.42",
        ),
        id=f"zulip 3 x int(8000 x 266/366 + 0.5) per license first {ZULIP} test_invoice_plan",
    ),
    pytest.param(
        change(
            styled("zulip", "80.00", "year"),
            ("2013-01-02T03:04:05", "2014-01-02T03:04:05"),
            7,
            ("2013-02-05T03:04:05", 8),
            amounts="72.55",
        ),
        id="zulip second year int(8000 x (1 - 34/365) + 0.5) test_invoice_plan",
    ),
    pytest.param(
        change(
            styled("zulip", "80.00", "year"),
            ("2012-01-02T03:04:05", "2013-01-02T03:04:05"),
            6,
            ("2012-01-12T03:04:05", 56),
            ("2012-01-17T03:04:05", 156),
            ("2012-01-22T03:04:05", 256),
            ("2012-01-27T03:04:05", 306),
            amounts="3890.50 7672.00 7563.00 3727.00",
        ),
        id="zulip 50 100 100 50 licenses days 10 15 20 25 per-license rounding "
        "test_invoice_plan_bundle_additional_licenses",
    ),
    pytest.param(
        change(
            styled("zulip", "80.00", "year"),
            ("2012-01-02T03:04:05", "2013-01-02T03:04:05"),
            9,
            ("2012-07-20T03:04:05", 6),
            amounts="0",
        ),
        id="zulip decrease day 200 no credit test_invoice_plan",
    ),
    pytest.param(
        change(
            styled("zulip", "6.67"),
            ("2024-02-01", "2024-03-01"),
            1,
            ("2024-02-21T12:00:00", 2),
            amounts="1.96",
        ),
        id=f"zulip rule exact half cent 667 x 8.5/29 = 195.5 cents is 1.96 (the float in "
        f"{ZULIP_RULE} gives 1.95)",
    ),
    # Chargebee
    pytest.param(
        change(
            styled("chargebee", "30.00"),
            ("2013-04-01", "2013-05-01"),
            3,
            ("2013-04-11", 2),
            amounts="-20.00",
        ),
        id="chargebee quantity 3 to 2 after 10 days 20/30 credit chargebee.com/docs/"
        "proration-old.html example 2",
    ),
    pytest.param(
        change(
            styled("chargebee", "30.00"),
            ("2012-04-01", "2012-05-01"),
            1,
            ("2012-04-21", 2),
            amounts="10.00",
        ),
        id="chargebee 10 remaining days of a 30 USD month proration-old.html example 1",
    ),
    pytest.param(
        change(
            styled("chargebee", "30.00"),
            ("2024-02-01", "2024-03-01"),
            1,
            ("2024-02-15", 2),
            amounts="15.52",
        ),
        id="chargebee rule leap february 15/29 support article 251116 price over days of term",
    ),
    # Slack
    pytest.param(
        change(
            styled("slack", "8.00"),
            ("2026-04-01", "2026-05-01"),
            1,
            ("2026-04-11", 2),
            amounts="5.33",
        ),
        id="slack 8 / 30 x 20 slack.com/help/articles/218915077 fair billing policy",
    ),
    pytest.param(
        change(
            styled("slack", "8.00"),
            ("2026-04-01", "2026-05-01"),
            1,
            ("2026-04-11", 3),
            amounts="10.66",
        ),
        id="slack rule two members each 5.33 prorated per member",
    ),
    pytest.param(
        change(
            styled("slack", "8.00"),
            ("2026-04-01", "2026-05-01"),
            2,
            ("2026-04-11", 1),
            amounts="-5.33",
        ),
        id="slack prorated credit for a member already paid for fair billing policy",
    ),
    pytest.param(
        change(
            styled("slack", "87.00", "year"),
            ("2024-01-15", "2025-01-15"),
            1,
            ("2024-03-01", 2),
            amounts="76.07",
        ),
        id="slack rule annual prorated for the rest of a 366-day year 320/366",
    ),
]
