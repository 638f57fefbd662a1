"""Month-by-month billing timelines per preset, every invoice line checked to the cent.

Each timeline subscribes, changes seats (or members, in automatic seat mode) mid-period, and lets
the billing run renew over several periods, on SQLite and PostgreSQL. Expected amounts are worked
out by hand in the comments: ``unit x quantity x share``, settled once per line (half up).
Timelines cross a Jan 31 anchor (Feb 28, or Feb 29 in 2028) and leap years.

The same timeline replayed on a test clock (the clock moved instead of the wall clock) must issue
exactly the same invoices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from billing_builders import at, invoice_row, runtime_at, stored_invoices, subscribe

from seatledger.bootstrap import Runtime
from seatledger.clock import ManualClock
from seatledger.domain.money import Money
from seatledger.service import accounts, members, subscriptions, test_clocks
from seatledger.service.billing_run import run_billing
from seatledger.service.ports import Invoice as StoredInvoice
from seatledger.service.ports import InvoiceKind

OWNER = "owner@main.test"


@dataclass(frozen=True)
class Timeline:
    preset: str
    start: str
    seats: int
    steps: tuple[tuple[str, str, Any], ...]  # (instant, action, argument)
    end: str
    invoices: tuple[Invoice, ...]
    balance: str = "0.00"
    anchor: str | None = None
    currency: str = field(default="USD")


Invoice = tuple[str, ...]


def inv(head: str, *lines: str) -> Invoice:
    """An expected invoice: ``"NUMBER KIND REASON [START, END) total TOTAL"``, then each line as
    ``"KIND QUANTITY x UNIT_AMOUNT = AMOUNT [START, END)"`` (unit amounts per full period)."""
    return (head, *lines)


def as_text(invoice: StoredInvoice) -> Invoice:
    row = invoice_row(invoice)
    return inv(
        f"{row.number} {row.kind} {row.reason} [{row.start}, {row.end}) total {row.total}",
        *(f"{k} {q} x {unit} = {amount} [{s}, {e})" for k, q, unit, amount, s, e in row.lines),
    )


TIMELINES = {
    # USD 10 a seat, day proration, charge now, credit now, released at once. Anchor Jan 31 in a
    # leap year: Jan 31 -> Feb 29 (29 days) -> Mar 31 -> Apr 30 (30 days) -> May 31 -> Jun 30.
    "rallly-pro, Jan 31 anchor, leap year": Timeline(
        preset="rallly-pro",
        start="2028-01-31",
        seats=2,
        steps=(
            ("2028-02-15", "seats", 4),  # +2 seats x 10 x 14/29 = 9.655 -> 9.66
            ("2028-02-20", "seats", 3),  # -1 seat x 10 x 9/29 = 3.103 -> credit note 3.10
            ("2028-04-10", "seats", 1),  # -2 seats x 10 x 20/30 = 13.333 -> credit note 13.33
        ),
        end="2028-06-01",
        invoices=(
            inv(
                "000001 invoice subscribe [2028-01-31, 2028-02-29) total 20.00",
                "seats 2 x 10.00 = 20.00 [2028-01-31, 2028-02-29)",
            ),
            inv(
                "000002 invoice proration [2028-02-15, 2028-02-29) total 9.66",
                "proration_charge 2 x 10.00 = 9.66 [2028-02-15, 2028-02-29)",
            ),
            inv(
                "000003 credit_note proration [2028-02-20, 2028-02-29) total -3.10",
                "proration_credit 1 x 10.00 = -3.10 [2028-02-20, 2028-02-29)",
            ),
            # The 3.10 credit pays part of the first renewal.
            inv(
                "000004 invoice renewal [2028-02-29, 2028-03-31) total 26.90",
                "seats 3 x 10.00 = 30.00 [2028-02-29, 2028-03-31)",
                "credit_applied 1 x -3.10 = -3.10 [2028-02-29, 2028-03-31)",
            ),
            inv(
                "000005 invoice renewal [2028-03-31, 2028-04-30) total 30.00",
                "seats 3 x 10.00 = 30.00 [2028-03-31, 2028-04-30)",
            ),
            inv(
                "000006 credit_note proration [2028-04-10, 2028-04-30) total -13.33",
                "proration_credit 2 x 10.00 = -13.33 [2028-04-10, 2028-04-30)",
            ),
            # 13.33 of credit: 10.00 pays this renewal whole (total zero, never negative) ...
            inv(
                "000007 invoice renewal [2028-04-30, 2028-05-31) total 0.00",
                "seats 1 x 10.00 = 10.00 [2028-04-30, 2028-05-31)",
                "credit_applied 1 x -10.00 = -10.00 [2028-04-30, 2028-05-31)",
            ),
            # ... and the 3.33 left the next one.
            inv(
                "000008 invoice renewal [2028-05-31, 2028-06-30) total 6.67",
                "seats 1 x 10.00 = 10.00 [2028-05-31, 2028-06-30)",
                "credit_applied 1 x -3.33 = -3.33 [2028-05-31, 2028-06-30)",
            ),
        ),
    ),
    # A billing anchor after the start: the leading part [Jan 15, Jan 31) is 16/31 of the period
    # that ends at the anchor: 2 x 10 x 16/31 = 10.322 -> 10.32. Then Jan 31 -> Feb 28 (2026).
    "rallly-pro, anchor after the start": Timeline(
        preset="rallly-pro",
        start="2026-01-15",
        anchor="2026-01-31",
        seats=2,
        steps=(),
        end="2026-04-01",
        invoices=(
            inv(
                "000001 invoice subscribe [2026-01-15, 2026-01-31) total 10.32",
                "seats 2 x 10.00 = 10.32 [2026-01-15, 2026-01-31)",
            ),
            inv(
                "000002 invoice renewal [2026-01-31, 2026-02-28) total 20.00",
                "seats 2 x 10.00 = 20.00 [2026-01-31, 2026-02-28)",
            ),
            inv(
                "000003 invoice renewal [2026-02-28, 2026-03-31) total 20.00",
                "seats 2 x 10.00 = 20.00 [2026-02-28, 2026-03-31)",
            ),
            inv(
                "000004 invoice renewal [2026-03-31, 2026-04-30) total 20.00",
                "seats 2 x 10.00 = 20.00 [2026-03-31, 2026-04-30)",
            ),
        ),
    ),
    # EUR 99 base with 2 seats included, EUR 99 per extra seat, day proration, no refund, seats
    # kept until the period ends and re-filled free. Jan 31 anchor in 2026: Feb has 28 days.
    "reviewer-pro, Jan 31 anchor": Timeline(
        preset="reviewer-pro",
        currency="EUR",
        start="2026-01-31",
        seats=3,
        steps=(
            ("2026-02-14", "seats", 5),  # +2 billed seats x 99 x 14/28 = 99.00
            ("2026-02-20", "seats", 3),  # no refund; 5 stay paid until Feb 28
            ("2026-02-25", "seats", 4),  # re-fills a paid seat: free
            ("2026-03-16", "seats", 2),  # down to the included seats from the next period
        ),
        end="2026-05-01",
        invoices=(
            inv(
                "000001 invoice subscribe [2026-01-31, 2026-02-28) total 198.00",
                "base 1 x 99.00 = 99.00 [2026-01-31, 2026-02-28)",
                "seats 1 x 99.00 = 99.00 [2026-01-31, 2026-02-28)",
            ),
            inv(
                "000002 invoice proration [2026-02-14, 2026-02-28) total 99.00",
                "proration_charge 2 x 99.00 = 99.00 [2026-02-14, 2026-02-28)",
            ),
            inv(
                "000003 invoice renewal [2026-02-28, 2026-03-31) total 297.00",
                "base 1 x 99.00 = 99.00 [2026-02-28, 2026-03-31)",
                "seats 2 x 99.00 = 198.00 [2026-02-28, 2026-03-31)",
            ),
            inv(
                "000004 invoice renewal [2026-03-31, 2026-04-30) total 99.00",
                "base 1 x 99.00 = 99.00 [2026-03-31, 2026-04-30)",
            ),
            inv(
                "000005 invoice renewal [2026-04-30, 2026-05-31) total 99.00",
                "base 1 x 99.00 = 99.00 [2026-04-30, 2026-05-31)",
            ),
        ),
    ),
    # EUR 950.40 a year (99 x 12 x 0.8) base with 2 included, 950.40 a year per extra seat, day
    # proration. The year from 2027-03-01 holds Feb 29 2028: 366 days; Sep 1 leaves 182.
    "reviewer-pro-annual, leap year": Timeline(
        preset="reviewer-pro-annual",
        currency="EUR",
        start="2027-03-01",
        seats=3,
        steps=(
            ("2027-09-01", "seats", 4),  # 950.40 x 182/366 = 472.603 -> 472.60
        ),
        end="2028-03-02",
        invoices=(
            inv(
                "000001 invoice subscribe [2027-03-01, 2028-03-01) total 1900.80",
                "base 1 x 950.40 = 950.40 [2027-03-01, 2028-03-01)",
                "seats 1 x 950.40 = 950.40 [2027-03-01, 2028-03-01)",
            ),
            inv(
                "000002 invoice proration [2027-09-01, 2028-03-01) total 472.60",
                "proration_charge 1 x 950.40 = 472.60 [2027-09-01, 2028-03-01)",
            ),
            inv(
                "000003 invoice renewal [2028-03-01, 2029-03-01) total 2851.20",
                "base 1 x 950.40 = 950.40 [2028-03-01, 2029-03-01)",
                "seats 2 x 950.40 = 1900.80 [2028-03-01, 2029-03-01)",
            ),
        ),
    ),
    # USD 10 a seat; seats follow the members (pending invites count); day proration; increases
    # and credits wait for the next invoice; a removed seat is kept until the period ends.
    "voltasis-pro, members come and go": Timeline(
        preset="voltasis-pro",
        start="2026-03-01",
        seats=1,
        steps=(
            # +2 seats x 10 x 21/31 = 13.548 -> 13.55, on the next invoice
            ("2026-03-11", "invite", (("a@main.test", "b@main.test"), "employee")),
            ("2026-03-15", "accept", "a@main.test"),
            # -1 seat x 10 x 11/31 = 3.548 -> 3.55 credit, on the next invoice
            ("2026-03-21", "deactivate", "a@main.test"),
            # +1 seat x 10 x 15/30 = 5.00
            ("2026-04-16", "invite", (("c@main.test",), "employee")),
        ),
        end="2026-06-02",
        invoices=(
            inv(
                "000001 invoice subscribe [2026-03-01, 2026-04-01) total 10.00",
                "seats 1 x 10.00 = 10.00 [2026-03-01, 2026-04-01)",
            ),
            inv(
                "000002 invoice renewal [2026-04-01, 2026-05-01) total 30.00",
                "proration_charge 2 x 10.00 = 13.55 [2026-03-11, 2026-04-01)",
                "proration_credit 1 x 10.00 = -3.55 [2026-03-21, 2026-04-01)",
                "seats 2 x 10.00 = 20.00 [2026-04-01, 2026-05-01)",
            ),
            inv(
                "000003 invoice renewal [2026-05-01, 2026-06-01) total 35.00",
                "proration_charge 1 x 10.00 = 5.00 [2026-04-16, 2026-05-01)",
                "seats 3 x 10.00 = 30.00 [2026-05-01, 2026-06-01)",
            ),
            inv(
                "000004 invoice renewal [2026-06-01, 2026-07-01) total 30.00",
                "seats 3 x 10.00 = 30.00 [2026-06-01, 2026-07-01)",
            ),
        ),
    ),
    # USD 120 a seat a year, prorated by whole months (the month of the change counts), Jan 31
    # anchor. Jul 15 falls in the 6th monthly piece [Jun 30, Jul 31): 7 of 12 remain; Oct 1 falls
    # in [Sep 30, Oct 31): 4 of 12 remain.
    "voltasis-pro-annual, Jan 31 anchor, by month": Timeline(
        preset="voltasis-pro-annual",
        start="2026-01-31",
        seats=1,
        steps=(
            ("2026-07-15", "invite", (("e@main.test",), "employee")),  # 120 x 7/12 = 70.00
            ("2026-07-16", "accept", "e@main.test"),
            ("2026-10-01", "deactivate", "e@main.test"),  # 120 x 4/12 = 40.00 credit
        ),
        end="2027-02-01",
        invoices=(
            inv(
                "000001 invoice subscribe [2026-01-31, 2027-01-31) total 120.00",
                "seats 1 x 120.00 = 120.00 [2026-01-31, 2027-01-31)",
            ),
            inv(
                "000002 invoice renewal [2027-01-31, 2028-01-31) total 150.00",
                "proration_charge 1 x 120.00 = 70.00 [2026-07-15, 2027-01-31)",
                "proration_credit 1 x 120.00 = -40.00 [2026-10-01, 2027-01-31)",
                "seats 1 x 120.00 = 120.00 [2027-01-31, 2028-01-31)",
            ),
        ),
    ),
    # USD 10 a seat, day proration, charge now, no refund, released at once and not re-filled
    # free. February 2028 has 29 days.
    "plaky, leap February": Timeline(
        preset="plaky",
        start="2028-02-01",
        seats=2,
        steps=(
            ("2028-02-15", "seats", 4),  # +2 x 10 x 15/29 = 10.344 -> 10.34
            ("2028-02-20", "seats", 3),  # no refund
            ("2028-02-25", "seats", 4),  # bought again: +1 x 10 x 5/29 = 1.724 -> 1.72
        ),
        end="2028-04-02",
        invoices=(
            inv(
                "000001 invoice subscribe [2028-02-01, 2028-03-01) total 20.00",
                "seats 2 x 10.00 = 20.00 [2028-02-01, 2028-03-01)",
            ),
            inv(
                "000002 invoice proration [2028-02-15, 2028-03-01) total 10.34",
                "proration_charge 2 x 10.00 = 10.34 [2028-02-15, 2028-03-01)",
            ),
            inv(
                "000003 invoice proration [2028-02-25, 2028-03-01) total 1.72",
                "proration_charge 1 x 10.00 = 1.72 [2028-02-25, 2028-03-01)",
            ),
            inv(
                "000004 invoice renewal [2028-03-01, 2028-04-01) total 40.00",
                "seats 4 x 10.00 = 40.00 [2028-03-01, 2028-04-01)",
            ),
            inv(
                "000005 invoice renewal [2028-04-01, 2028-05-01) total 40.00",
                "seats 4 x 10.00 = 40.00 [2028-04-01, 2028-05-01)",
            ),
        ),
    ),
    # USD 100 base with 5 seats included, USD 20 per extra seat, a USD 20 add-on seat pack.
    "upcoach, seats and an add-on": Timeline(
        preset="upcoach",
        start="2026-04-01",
        seats=6,
        steps=(
            ("2026-04-11", "addon", ("additional_admin_seat", 1)),  # 20 x 20/30 = 13.33
            ("2026-04-21", "seats", 8),  # +2 x 20 x 10/30 = 13.33
        ),
        end="2026-06-02",
        invoices=(
            inv(
                "000001 invoice subscribe [2026-04-01, 2026-05-01) total 120.00",
                "base 1 x 100.00 = 100.00 [2026-04-01, 2026-05-01)",
                "seats 1 x 20.00 = 20.00 [2026-04-01, 2026-05-01)",
            ),
            inv(
                "000002 invoice proration [2026-04-11, 2026-05-01) total 13.33",
                "proration_charge 1 x 20.00 = 13.33 [2026-04-11, 2026-05-01)",
            ),
            inv(
                "000003 invoice proration [2026-04-21, 2026-05-01) total 13.33",
                "proration_charge 2 x 20.00 = 13.33 [2026-04-21, 2026-05-01)",
            ),
            inv(
                "000004 invoice renewal [2026-05-01, 2026-06-01) total 180.00",
                "base 1 x 100.00 = 100.00 [2026-05-01, 2026-06-01)",
                "seats 3 x 20.00 = 60.00 [2026-05-01, 2026-06-01)",
                "addon 1 x 20.00 = 20.00 [2026-05-01, 2026-06-01)",
            ),
            inv(
                "000005 invoice renewal [2026-06-01, 2026-07-01) total 180.00",
                "base 1 x 100.00 = 100.00 [2026-06-01, 2026-07-01)",
                "seats 3 x 20.00 = 60.00 [2026-06-01, 2026-07-01)",
                "addon 1 x 20.00 = 20.00 [2026-06-01, 2026-07-01)",
            ),
        ),
    ),
}


def act(runtime: Runtime, account_id: str, action: str, argument: Any) -> None:
    common: dict[str, Any] = {"account_id": account_id, "workspace": "main"}
    if action == "seats":
        subscriptions.change_seat_count(runtime, **common, actor=OWNER, seats=argument)
    elif action == "invite":
        emails, role = argument
        members.invite_members(runtime, **common, actor=OWNER, emails=emails, role=role)
    elif action == "accept":
        members.accept_invite(runtime, **common, email=argument)
    elif action == "deactivate":
        members.deactivate_member(runtime, **common, actor=OWNER, email=argument)
    elif action == "addon":
        name, count = argument
        subscriptions.set_addon(runtime, **common, actor=OWNER, name=name, count=count)
    else:  # pragma: no cover - a typo in a table above
        raise AssertionError(action)


def check_balance(runtime: Runtime, account_id: str, currency: str) -> Money:
    balance = accounts.credit_balance(runtime, account_id=account_id, currency=currency)
    assert not balance.is_negative
    return balance


Mover = Callable[[Runtime, ManualClock, str, datetime], None]


def by_billing_run(runtime: Runtime, clock: ManualClock, account_id: str, to: datetime) -> None:
    clock.move_to(to)
    run_billing(runtime, batch_size=3)


def play(runtime: Runtime, clock: ManualClock, timeline: Timeline, on_clock: bool) -> str:
    """Run the timeline; time moves by the billing run, or by advancing a test clock."""
    clock_id: str | None = None
    if on_clock:
        account_id = accounts.create_account(runtime, name="clocked")
        clock_id = test_clocks.create_test_clock(
            runtime, account_id=account_id, at=at(timeline.start)
        ).id
        subscribe(
            runtime,
            timeline.preset,
            timeline.seats,
            anchor_at=at(timeline.anchor) if timeline.anchor else None,
            account_id=account_id,
            test_clock_id=clock_id,
        )
    else:
        account_id, _ = subscribe(
            runtime,
            timeline.preset,
            timeline.seats,
            anchor_at=at(timeline.anchor) if timeline.anchor else None,
        )

    def move(to: datetime) -> None:
        if clock_id is None:
            by_billing_run(runtime, clock, account_id, to)
        else:
            test_clocks.advance_test_clock(runtime, account_id=account_id, clock_id=clock_id, to=to)

    for when, action, argument in timeline.steps:
        move(at(when))
        act(runtime, account_id, action, argument)
        check_balance(runtime, account_id, timeline.currency)
    move(at(timeline.end))
    return account_id


@pytest.mark.parametrize("name", list(TIMELINES))
def test_timeline_billed_by_the_billing_run(database_url: str, name: str) -> None:
    timeline = TIMELINES[name]
    with runtime_at(database_url, at(timeline.start)) as (runtime, clock):
        account_id = play(runtime, clock, timeline, on_clock=False)
        invoices = stored_invoices(runtime, account_id)
        assert [as_text(i) for i in invoices] == list(timeline.invoices)
        for invoice in invoices:
            assert invoice.total == sum(
                (line.amount for line in invoice.lines), Money.zero(invoice.currency)
            )
            if invoice.kind is InvoiceKind.INVOICE:
                assert not invoice.total.is_negative
        balance = check_balance(runtime, account_id, timeline.currency)
        assert balance.format() == timeline.balance


@pytest.mark.parametrize(
    "name",
    ["rallly-pro, Jan 31 anchor, leap year", "voltasis-pro, members come and go"],
)
def test_the_same_timeline_on_a_test_clock_issues_the_same_invoices(
    database_url: str, name: str
) -> None:
    timeline = TIMELINES[name]
    # The wall clock stays where it is: only the test clock moves.
    with runtime_at(database_url, at("2026-01-01")) as (runtime, clock):
        account_id = play(runtime, clock, timeline, on_clock=True)
        assert clock.now() == at("2026-01-01")
        rows = [as_text(i) for i in stored_invoices(runtime, account_id)]
        assert rows == list(timeline.invoices)
