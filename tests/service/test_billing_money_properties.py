"""Properties of billed money through the whole stack (service, store, both databases).

For any sequence of seat changes inside one period under a credit policy, what the customer paid
for that period (its seat lines, proration charges and credits, on invoices and credit notes)
equals the seat price times the seat-time used, within one minor unit per line; the credit balance
never goes negative; no invoice total is negative and every total is the sum of its lines.
Each example runs on its own account and test clock, so examples share the database but nothing
else.
"""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

from billing_builders import OWNER, at, runtime_at, stored_invoices
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seatledger.bootstrap import Runtime
from seatledger.domain.invoices import LineKind
from seatledger.domain.money import Money
from seatledger.domain.policy import Policy
from seatledger.policy_files import resolve_policy
from seatledger.service import accounts, subscriptions, test_clocks
from seatledger.service.ports import InvoiceKind

PERIOD_START = at("2026-04-01")
PERIOD_END = at("2026-05-01")
PERIOD_SECONDS = int((PERIOD_END - PERIOD_START).total_seconds())
PRICE = Fraction(10)  # rallly-pro: USD 10 a seat a month
SEAT_LINES = (LineKind.SEATS, LineKind.PRORATION_CHARGE, LineKind.PRORATION_CREDIT)

changes = st.lists(
    st.tuples(st.integers(min_value=1, max_value=PERIOD_SECONDS - 1), st.integers(1, 6)),
    max_size=6,
).map(sorted)
policies = st.sampled_from(
    [
        ("charge_now", "credit_now"),
        ("charge_now", "credit_next_invoice"),
        ("next_invoice", "credit_now"),
        ("next_invoice", "credit_next_invoice"),
    ]
)


def play(
    runtime: Runtime, start_seats: int, steps: list[tuple[int, int]], policy: tuple[str, str]
) -> str:
    """Subscribe at the period start on a test clock, change seats at each offset, renew."""
    on_increase, on_decrease = policy
    account_id = accounts.create_account(runtime, name="property")
    clock_id = test_clocks.create_test_clock(runtime, account_id=account_id, at=PERIOD_START).id
    subscriptions.subscribe(
        runtime,
        account_id=account_id,
        policy=_policy(on_increase, on_decrease),
        preset=None,
        workspaces=["main"],
        owner_email=OWNER,
        seats=start_seats,
        test_clock_id=clock_id,
    )
    last = -1
    for offset, seats in steps:
        if offset == last:
            continue  # two changes at one instant: the property is about seat-time
        last = offset
        test_clocks.advance_test_clock(
            runtime,
            account_id=account_id,
            clock_id=clock_id,
            to=PERIOD_START + timedelta(seconds=offset),
        )
        subscriptions.change_seat_count(
            runtime, account_id=account_id, workspace="main", actor=OWNER, seats=seats
        )
        balance = accounts.credit_balance(runtime, account_id=account_id, currency="USD")
        assert not balance.is_negative
    test_clocks.advance_test_clock(runtime, account_id=account_id, clock_id=clock_id, to=PERIOD_END)
    return account_id


def _policy(on_increase: str, on_decrease: str) -> Policy:
    return resolve_policy(
        "rallly-pro",
        {"proration": {"unit": "second", "on_increase": on_increase, "on_decrease": on_decrease}},
    )


def seat_time(start_seats: int, steps: list[tuple[int, int]]) -> Fraction:
    """Seat-periods used: each count times the share of the period it was held."""
    held, since, used = start_seats, 0, Fraction(0)
    for offset, seats in steps:
        used += held * Fraction(offset - since, PERIOD_SECONDS)
        held, since = seats, offset
    return used + held * Fraction(PERIOD_SECONDS - since, PERIOD_SECONDS)


@settings(
    max_examples=12,
    deadline=None,
    # Every example opens its own account and clock: the database is shared, the state is not.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(start_seats=st.integers(1, 6), steps=changes, policy=policies)
def test_paid_equals_price_times_seat_time_and_no_balance_or_total_goes_negative(
    database_url: str, start_seats: int, steps: list[tuple[int, int]], policy: tuple[str, str]
) -> None:
    with runtime_at(database_url, at("2026-11-01")) as (runtime, _):
        account_id = play(runtime, start_seats, steps, policy)
        invoices = stored_invoices(runtime, account_id)
        balance = accounts.credit_balance(runtime, account_id=account_id, currency="USD")
    in_period = [
        line
        for invoice in invoices
        for line in invoice.lines
        if line.kind in SEAT_LINES and line.period.end <= PERIOD_END
    ]
    paid = sum((line.amount for line in in_period), Money.zero("USD"))
    expected = PRICE * seat_time(start_seats, _effective(steps))
    assert abs(paid.as_fraction() - expected) <= Fraction(len(in_period), 100)
    assert not balance.is_negative
    for invoice in invoices:
        assert invoice.total == sum((ln.amount for ln in invoice.lines), Money.zero("USD"))
        if invoice.kind is InvoiceKind.INVOICE:
            assert not invoice.total.is_negative


def _effective(steps: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The changes play() makes: the first of several at one instant (the rest are skipped)."""
    seen: set[int] = set()
    effective = []
    for offset, seats in steps:
        if offset not in seen:
            seen.add(offset)
            effective.append((offset, seats))
    return effective
