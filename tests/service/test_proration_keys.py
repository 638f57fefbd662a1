"""Proration keys that need time and stored state, through the use cases (on SQLite and
PostgreSQL): ``on_increase: monthly`` bills a period's increases at each month end, by test clock
and by billing run; ``credit_basis: invoiced`` credits on what the period's seats were invoiced at,
kept on the subscription row between transactions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from billing_builders import OWNER, at, runtime_at, stored_invoices

from seatledger.bootstrap import Runtime
from seatledger.domain.billing import SeatsInvoiced
from seatledger.domain.invoices import LineKind
from seatledger.policy_files import resolve_policy
from seatledger.service import accounts, subscriptions, test_clocks
from seatledger.service.billing_run import count_due, run_billing
from seatledger.service.ports import Subscription

WALL = at("2026-11-01")
MONTHLY = {"proration": {"on_increase": "monthly"}}


def _subscribe(
    runtime: Runtime,
    preset: str,
    overrides: dict[str, Any],
    seats: int,
    *,
    clock_at: datetime | None = None,
    anchor_at: datetime | None = None,
) -> tuple[str, str | None]:
    """A new account on ``preset`` with ``overrides``; on a test clock at ``clock_at`` if given."""
    account_id = accounts.create_account(runtime, name=f"{preset} customer")
    clock_id = None
    if clock_at is not None:
        clock_id = test_clocks.create_test_clock(runtime, account_id=account_id, at=clock_at).id
    subscriptions.subscribe(
        runtime,
        account_id=account_id,
        policy=resolve_policy(preset, overrides),
        preset=preset,
        workspaces=["main"],
        owner_email=OWNER,
        seats=seats,
        anchor_at=anchor_at,
        test_clock_id=clock_id,
    )
    return account_id, clock_id


def _seats(runtime: Runtime, account_id: str, seats: int) -> list[str]:
    """Change the seat count; the amounts of the prorated lines it invoiced or credited now."""
    result = subscriptions.change_seat_count(
        runtime, account_id=account_id, workspace="main", actor=OWNER, seats=seats
    )
    return [
        line.amount.format()
        for invoice in result.invoices
        for line in invoice.lines
        if line.kind in (LineKind.PRORATION_CHARGE, LineKind.PRORATION_CREDIT)
    ]


def _row(runtime: Runtime, account_id: str) -> Subscription:
    with runtime.uow() as uow:
        return uow.subscriptions.for_account(account_id)[0]


# --- on_increase: monthly ------------------------------------------------------------------------


def test_monthly_increases_are_invoiced_together_at_each_month_end_by_the_test_clock(
    database_url: str,
) -> None:
    """reviewer-pro-annual (EUR 950.40 a seat a year, 2 included, by day) with monthly increases:
    seats added on March 10 and 20 wait, and the April 1 month end bills both on one invoice."""
    with runtime_at(database_url, WALL) as (runtime, _):
        account_id, clock_id = _subscribe(
            runtime, "reviewer-pro-annual", MONTHLY, 2, clock_at=at("2026-01-01")
        )
        assert clock_id is not None

        def move(to: str) -> list[tuple[datetime, str, str]]:
            moved = test_clocks.advance_test_clock(
                runtime, account_id=account_id, clock_id=clock_id, to=at(to)
            )
            return [(i.issued_at, i.reason.value, i.total.format()) for i in moved.invoices]

        assert move("2026-03-10") == []
        assert _seats(runtime, account_id, 3) == []  # parked until the month ends
        assert _row(runtime, account_id).month_end_at == at("2026-04-01")
        assert move("2026-03-20") == []
        assert _seats(runtime, account_id, 4) == []
        # 950.40 x 297/365 = 773.336 -> 773.34 (March 10 to January 1: 297 days)
        # 950.40 x 287/365 = 747.300 -> 747.30 (March 20 on: 287 days); 773.34 + 747.30 = 1520.64
        assert move("2026-04-01") == [(at("2026-04-01"), "proration", "1520.64")]
        invoice = stored_invoices(runtime, account_id)[-1]
        assert [(line.kind.value, line.amount.format()) for line in invoice.lines] == [
            ("proration_charge", "773.34"),
            ("proration_charge", "747.30"),
        ]
        assert _row(runtime, account_id).month_end_at is None
        assert move("2026-12-10") == []  # nothing pending: no month end is due
        assert _seats(runtime, account_id, 5) == []
        # December 10 has no month end before the renewal, which bills it with the new year:
        # 950.40 x 22/365 = 57.283 -> 57.28, plus base 950.40 and 3 extra seats 2851.20
        renewal = move("2027-01-01")
        assert renewal == [(at("2027-01-01"), "renewal", "3858.88")]


def test_the_billing_run_issues_a_month_end_of_monthly_increases_once(database_url: str) -> None:
    """Off a test clock, the billing run claims a subscription whose month end fell due (the row's
    month_end_at), bills it once, and has nothing left to claim: a second run bills nothing."""
    with runtime_at(database_url, at("2026-01-01")) as (runtime, clock):
        account_id, _ = _subscribe(runtime, "reviewer-pro-annual", MONTHLY, 2)
        clock.move_to(at("2026-05-20"))
        assert _seats(runtime, account_id, 3) == []
        clock.move_to(at("2026-06-01"))
        assert count_due(runtime) >= 1
        run_billing(runtime)
        # 950.40 x 226/365 = 588.467 -> 588.47 (May 20 to January 1: 226 days)
        billed = [
            (i.reason, i.issued_at, i.total.format()) for i in stored_invoices(runtime, account_id)
        ]
        assert billed[1:] == [("proration", at("2026-06-01"), "588.47")]
        assert _row(runtime, account_id).month_end_at is None
        run_billing(runtime)
        assert len(stored_invoices(runtime, account_id)) == len(billed)


# --- credit_basis: invoiced ----------------------------------------------------------------------

INVOICED = {
    "proration": {"partial_period_basis": "start_period", "credit_basis": "invoiced"},
}


def test_credits_on_what_was_invoiced_use_the_stored_figures_of_the_period(
    database_url: str,
) -> None:
    """rallly-pro (USD 10 a seat a month, by day, credit now). Subscribed January 30 before a
    February 15 anchor, the opening bills 16 days of January 30 - February 28 (29 days); credits
    are then a share of that amount over the 31 days of January 15 - February 15, in later
    transactions that read the figures back from the subscription row."""
    with runtime_at(database_url, WALL) as (runtime, _):
        account_id, clock_id = _subscribe(
            runtime,
            "rallly-pro",
            INVOICED,
            2,
            clock_at=at("2026-01-30"),
            anchor_at=at("2026-02-15"),
        )
        assert clock_id is not None
        # 2 x 10 x 16/29 = 11.034 -> 11.03
        assert [i.total.format() for i in stored_invoices(runtime, account_id)] == ["11.03"]
        assert _row(runtime, account_id).seats_invoiced == SeatsInvoiced(
            Decimal("11.03"), Fraction(32, 31), Decimal(0)
        )

        def move(to: str) -> None:
            test_clocks.advance_test_clock(
                runtime, account_id=account_id, clock_id=clock_id, to=at(to)
            )

        move("2026-02-07")
        # 11.03 x 31/32 per seat and period, 1 seat x 8/31 left: 11.03 / 4 = 2.7575 -> 2.76
        # (the price basis: 10 x 8/31 = 2.58)
        assert _seats(runtime, account_id, 1) == ["-2.76"]
        move("2026-02-09")
        assert _seats(runtime, account_id, 2) == ["1.94"]  # 10 x 6/31 = 1.935 -> 1.94
        move("2026-02-12")
        # (11.03 + 1.94) / (32/31 + 6/31) x 3/31 = 12.97 x 3/38 = 1.0239 -> 1.02 (price: 0.97)
        assert _seats(runtime, account_id, 1) == ["-1.02"]
        assert _row(runtime, account_id).seats_invoiced == SeatsInvoiced(
            Decimal("12.97"), Fraction(38, 31), Decimal("3.78")
        )
        move("2026-02-15")
        # The renewal starts the figures of the new period afresh: 1 seat at 10.00.
        assert _row(runtime, account_id).seats_invoiced == SeatsInvoiced(
            Decimal("10.00"), Fraction(1), Decimal(0)
        )


def test_a_renewal_by_the_billing_run_keeps_the_new_period_s_figures(database_url: str) -> None:
    with runtime_at(database_url, at("2026-04-01")) as (runtime, clock):
        account_id, _ = _subscribe(runtime, "rallly-pro", INVOICED, 3)
        clock.move_to(at("2026-05-01"))
        run_billing(runtime)
        row = _row(runtime, account_id)
        assert row.period.start == at("2026-05-01")
        assert row.seats_invoiced == SeatsInvoiced(Decimal("30.00"), Fraction(3), Decimal(0))
        clock.move_to(at("2026-05-11"))
        # 30.00 / 3 per seat, 1 seat x 21/31 left: 6.774 -> 6.77
        assert _seats(runtime, account_id, 2) == ["-6.77"]
