"""Worked examples of each proration style, taken from the engine's own documentation, tests or
code, run through the pure domain: the tables (and where each case comes from) are in
tests/proration_style_cases.py, shared with tests/scenarios/test_style_examples_as_scenarios.py,
which runs the same cases through the scenario runner. docs/proration-styles.md explains every key
each style sets.

Two shapes of case: a subscription that starts before its billing anchor (the leading partial
period of ``opening_lines``), and a seat change inside a period (``price_seat_change``).
"""

from __future__ import annotations

import pytest

from proration_style_cases import CHANGES, OPENINGS, Change, Opening, at
from seatledger.domain.billing import SeatBilling, opening_lines, price_seat_change
from seatledger.domain.invoices import LineKind
from seatledger.domain.periods import Period, period_n
from seatledger.domain.policy import policy_from_mapping


@pytest.mark.parametrize("case", OPENINGS)
def test_a_leading_partial_period_bills_as_the_engine_does(case: Opening) -> None:
    anchor = at(case.anchor)
    full = period_n(anchor, case.policy.interval, -1)

    [line] = opening_lines(
        case.policy, start=at(case.start), period=full, seats=case.seats, addons={}
    )

    assert (line.kind, line.quantity, line.amount.format()) == (
        LineKind.SEATS,
        case.seats,
        case.amount,
    )


@pytest.mark.parametrize("case", CHANGES)
def test_a_seat_change_bills_as_the_engine_does(case: Change) -> None:
    period = Period(at(case.period[0]), at(case.period[1]))
    state = SeatBilling(period, case.paid, case.paid, case.paid)
    billed = []

    for instant, total in case.steps:
        priced = price_seat_change(state, case.policy, at(instant), total)
        state = priced.state
        lines = priced.charges + priced.credits
        billed.append(lines[0].amount.format() if lines else "0")

    assert tuple(billed) == case.amounts


def test_the_slack_example_in_pounds() -> None:
    """slack.com/help/articles/218915077 (en-gb): GBP 6.30 / 30 x 20 = GBP 4.20."""
    gbp = policy_from_mapping(
        {
            "billable_roles": ["owner"],
            "free_roles": [],
            "currency": "GBP",
            "interval": "month",
            "seat_price": "6.30",
            "proration": {"style": "slack"},
        }
    )
    state = SeatBilling(Period(at("2026-04-01"), at("2026-05-01")), 1, 1, 1)

    [line] = price_seat_change(state, gbp, at("2026-04-11"), 2).charges

    assert str(line.amount) == "GBP 4.20"
