"""Every worked example of the proration styles, run through the scenario runner on SQLite and
PostgreSQL: the service layer, the store and the test clock bill each case of
tests/proration_style_cases.py (``OPENINGS`` and ``CHANGES``, the same cases, figures and ids,
which cite the engine's documentation, tests or code) exactly as the pure domain does in
tests/unit/test_proration_styles_examples.py.

Each case becomes a scenario in the SCENARIOS.md format (a plain mapping, checked by
``parse_scenario`` like a file), with the case's whole policy written out by ``policy_to_mapping``:

- an opening subscribes at ``start`` with billing ``anchor``: its first invoice is the leading
  partial period's seats line, and nothing else (``styled`` sets no base price);
- a change subscribes at the period start with the ``paid`` seats (that first, full invoice is not
  part of the case; a billing-day-31 period is reached by one renewal, see ``setup_for``; a case
  from 0 paid seats gives the owner an included seat, see ``owner_seat``) and sets the seat count
  at each instant. A charge made at once shows as the step's ``charged``, a credit as its
  ``credited``; a charge a style collects later (``on_increase: next_invoice`` or ``monthly``) is
  ``charged: "0.00"`` at the step and a ``proration_charge`` line of the invoice that collects it
  (the renewal, or under ``monthly`` the month's end counted from the anchor), a credit kept for
  the next invoice (``credit_next_invoice``) a ``proration_credit`` line of the renewal.

Besides the runner's own expectations, each test reads the prorated lines back from what the run
issued and compares them with the case: amount, and the period the subscription produced. No case
of either table is left out: every case's period is one a subscription bills.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from proration_style_cases import CHANGES, OPENINGS, Change, Opening, at
from seatledger.domain.invoices import LineKind
from seatledger.domain.periods import Interval, Period, period_at, period_n
from seatledger.domain.policy import OnDecrease, OnIncrease, Policy, policy_to_mapping
from seatledger.scenarios.format import parse_scenario
from seatledger.scenarios.runner import ScenarioOutcome, run_scenario

MONTH = Interval.parse("month")
PRORATION_KINDS = (LineKind.PRORATION_CHARGE, LineKind.PRORATION_CREDIT)


def instant(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def run(scenario: dict[str, Any], database_url: str) -> ScenarioOutcome:
    """Parse ``scenario`` as the runner parses a file, run it, and fail with every failed
    expectation (step, action and what differed) when one did not hold."""
    outcome = run_scenario(parse_scenario(scenario, "style-example.yaml"), database_url)
    failures = [
        f"step {step.index} ({step.action or 'clock'} at {instant(step.at)}): {failure}"
        for step in outcome.steps
        for failure in step.failures
    ]
    assert outcome.ok, "\n".join(failures)
    return outcome


# --- leading partial periods ---------------------------------------------------------------------


def opening_scenario(case: Opening) -> dict[str, Any]:
    # The first invoice's charge is the seats line alone because ``styled`` sets no base price;
    # a case with one would need its base line expected too.
    assert case.policy.base_price.amount == 0
    return {
        "name": f"opening {case.start} to anchor {case.anchor}",
        "policy": policy_to_mapping(case.policy),
        "start": case.start,
        "steps": [
            {
                "subscribe": {"seats": case.seats, "anchor": case.anchor},
                "expect": {
                    "charged": case.amount,
                    "credited": "0.00",
                    "invoice": {
                        "total": case.amount,
                        "lines": [{"kind": "seats", "quantity": case.seats, "amount": case.amount}],
                    },
                },
            }
        ],
    }


@pytest.mark.parametrize("case", OPENINGS)
def test_a_leading_partial_period_runs_as_the_engine_bills_it(
    case: Opening, database_url: str
) -> None:
    outcome = run(opening_scenario(case), database_url)

    [invoice] = outcome.steps[0].invoices
    assert [
        (line.kind, line.quantity, line.amount.format(), line.period) for line in invoice.lines
    ] == [(LineKind.SEATS, case.seats, case.amount, Period(at(case.start), at(case.anchor)))]


# --- seat changes inside a period ----------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """How a subscription comes to bill the case's period: subscribed at ``start`` (with no anchor,
    so it renews every interval from there) and, when ``start`` is one period earlier, renewed
    once into the case's period."""

    start: datetime
    renews_into_period: bool


def setup_for(case: Change) -> Setup:
    """The subscription whose periods include the case's period exactly.

    Most periods start a subscription (``[start, start + interval)``). A period that ends on a day
    its start does not have (February 29 to March 31: billing day 31, clamped in February) is the
    second period of a subscription started one interval earlier (January 31), as it is for the
    engines' own customers.
    """
    period = Period(at(case.period[0]), at(case.period[1]))
    interval = case.policy.interval
    if period_n(period.start, interval, 0) == period:
        return Setup(period.start, renews_into_period=False)
    earlier = interval.shift(period.end, -2)
    # Every case's period is produced one way or the other (the test fails here otherwise).
    assert period_n(earlier, interval, 1) == period, f"no subscription bills {case.period}"
    return Setup(earlier, renews_into_period=True)


def owner_seat(case: Change) -> int:
    """The seats included free for the owner: 1 where the case starts from no paid seat, else 0.

    ``styled`` bills the owner's role (a policy's ``owner_role`` must be billable), and the owner
    ``subscribe`` creates takes a seat, so a subscription of 0 seats is refused
    (seat_limit_reached). The cases that add units to a subscription with none (Lago's) run with
    ``included_seats: 1`` and every seat count one higher, so the seats billed (beyond the
    included one) are exactly the case's: no price or proration key changes.
    """
    return 1 if case.paid == 0 else 0


def collected_at(policy: Policy, anchor: datetime, period: Period, when: datetime) -> datetime:
    """When the prorated charge of an increase at ``when`` is invoiced, under a style that waits."""
    if policy.proration.on_increase is OnIncrease.MONTHLY:
        # One invoice at the end of each month of the period, months counted from the anchor.
        return min(period_at(anchor, MONTH, when).end, period.end)
    return period.end


def change_scenario(case: Change) -> dict[str, Any]:
    policy = case.policy
    period = Period(at(case.period[0]), at(case.period[1]))
    setup = setup_for(case)
    included = owner_seat(case)
    steps: list[dict[str, Any]] = [{"subscribe": {"seats": case.paid + included}}]
    if setup.renews_into_period:
        steps.append({"at": instant(period.start)})
    increase_waits = policy.proration.on_increase in (OnIncrease.NEXT_INVOICE, OnIncrease.MONTHLY)
    credit_waits = policy.proration.on_decrease is OnDecrease.CREDIT_NEXT_INVOICE
    # Lines waiting for a later invoice, by the instant that invoice is issued.
    waiting: dict[datetime, list[dict[str, Any]]] = {}
    seats = case.paid

    def collect(until: datetime | None) -> None:
        for due in sorted(d for d in waiting if until is None or d <= until):
            lines = waiting.pop(due)
            if due == period.end:
                # The renewal: the waiting lines, then the next period's seats.
                lines = [*lines, {"kind": "seats", "quantity": seats}]
            steps.append({"at": instant(due), "expect": {"invoice": {"lines": lines}}})

    for (when_text, total), amount_text in zip(case.steps, case.amounts, strict=True):
        when = at(when_text)
        collect(until=when)
        amount = Decimal(amount_text)
        expect: dict[str, Any] = {"charged": "0.00", "credited": "0.00"}
        if amount > 0 and increase_waits:
            due = collected_at(policy, setup.start, period, when)
            waiting.setdefault(due, []).append({"kind": "proration_charge", "amount": amount_text})
        elif amount > 0:
            expect = {
                "charged": amount_text,
                "credited": "0.00",
                "invoice": {"total": amount_text, "lines": [{"kind": "proration_charge"}]},
            }
        elif amount < 0:
            # A credit is reported when it is made, whether applied now or kept for the renewal.
            expect["credited"] = str(-amount)
            if credit_waits:
                waiting.setdefault(period.end, []).append(
                    {"kind": "proration_credit", "amount": amount_text}
                )
        steps.append({"at": instant(when), "set_seats": total + included, "expect": expect})
        seats = total
    collect(until=None)
    policy_mapping = policy_to_mapping(policy)
    if included:
        policy_mapping["included_seats"] = included
    return {
        "name": f"seat changes in {case.period[0]} to {case.period[1]}",
        "policy": policy_mapping,
        "start": instant(setup.start),
        "steps": steps,
    }


@pytest.mark.parametrize("case", CHANGES)
def test_a_seat_change_runs_as_the_engine_bills_it(case: Change, database_url: str) -> None:
    outcome = run(change_scenario(case), database_url)

    # Every prorated line the run issued (at once, at a month's end or on the renewal; invoices
    # and credit notes), in the order issued: one per case step that moved money, for the rest of
    # the case's period from the step's instant.
    prorated = [
        (line.period, line.amount.format())
        for step in outcome.steps
        for invoice in step.invoices
        for line in invoice.lines
        if line.kind in PRORATION_KINDS
    ]
    end = at(case.period[1])
    assert prorated == [
        (Period(at(when), end), amount)
        for (when, _), amount in zip(case.steps, case.amounts, strict=True)
        if amount != "0"
    ]
