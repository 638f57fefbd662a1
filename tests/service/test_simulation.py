"""Simulating a pricing change on recorded histories, on SQLite and PostgreSQL.

The guarantee that makes the simulation trustworthy: replayed under the policy it was recorded
under, every account reproduces every recorded invoice line and its credit balance exactly (the
scenario suite, per preset, and busy timelines with credits, add-ons, renewals and both kinds of
cancellation). A simulation writes nothing: every table has the same rows after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from seatledger import presets
from seatledger.bootstrap import Runtime, bootstrap
from seatledger.clock import ManualClock
from seatledger.domain.errors import InvalidInput, NotFound
from seatledger.domain.invoices import LineKind
from seatledger.domain.money import Money
from seatledger.domain.policy import SeatMode
from seatledger.domain.simulation import Verdict
from seatledger.policy_files import resolve_policy
from seatledger.scenarios.format import load_scenario, scenario_files
from seatledger.scenarios.runner import run_scenario
from seatledger.service import accounts, billing, members, subscriptions
from seatledger.service.simulation import (
    AccountSimulation,
    PolicyChange,
    account_ids,
    simulate_account,
    simulate_all_accounts,
)
from seatledger.store.tables import metadata

SCENARIOS = Path(__file__).parent.parent / "scenarios"
SAME = PolicyChange()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def assert_reproduced(result: AccountSimulation) -> None:
    """Every recorded invoice has its simulated twin, line for line, and nothing else appears."""
    assert result.invoices, f"{result.account_name}: no invoice to compare"
    for pair in result.invoices:
        where = f"{result.account_name}: {pair.either.reason} at {pair.either.issued_at}"
        assert pair.recorded is not None and pair.simulated is not None, where
        assert pair.difference.is_zero, where
        assert [line.recorded for line in pair.lines] == [line.simulated for line in pair.lines]
    assert result.totals.difference.is_zero
    assert result.totals.verdict is Verdict.PAYS_SAME
    assert result.simulated_balance == result.recorded_balance


# ---------------------------------------------------------------------------------------------
# The same policy reproduces the record: the scenario suite


@pytest.mark.parametrize("preset", presets.preset_names())
def test_each_scenario_replayed_under_its_own_policy_reproduces_every_invoice(
    preset: str, database_url: str
) -> None:
    files = scenario_files([SCENARIOS / preset])
    assert files
    seen: set[str] = set()
    for path in files:
        scenario = load_scenario(path)
        run_scenario(scenario, database_url)
        last = max([scenario.start, *(s.at for s in scenario.steps if s.at is not None)])
        runtime = _runtime(database_url, last)
        try:
            new = [a for a in account_ids(runtime) if a not in seen]
            seen.update(new)
            (account_id,) = new
            result = simulate_account(runtime, account_id=account_id, change=SAME)
        except InvalidInput as refused:
            # A scenario refused at its first step leaves an account with nothing to replay.
            assert "has no subscription" in refused.message, path
            continue
        finally:
            runtime.dispose()
        assert_reproduced(result)


def _runtime(url: str, now: datetime) -> Runtime:
    return bootstrap(url, clock=ManualClock(now))


# ---------------------------------------------------------------------------------------------
# The same policy reproduces the record: busy timelines


@dataclass
class History:
    """A busy account, and services whose clock stands where its history ends."""

    runtime: Runtime
    account_id: str


def _member_role(preset: str) -> str:
    policy = resolve_policy(preset)
    return next(r for r in policy.billable_roles if r != policy.owner_role)


def busy_history(stored: Runtime, preset: str, *, cancel_now: bool) -> History:
    """Subscribe, invite, buy and release seats (credits), add an add-on where the plan sells
    one, renew twice, deactivate, then cancel now or at period end and let the period end."""
    clock = ManualClock(utc("2026-04-01T00:00:00"))
    runtime = Runtime(uow=stored.uow, clock=clock)
    policy = resolve_policy(preset)
    account_id = accounts.create_account(runtime, name=f"{preset} busy")
    ws, owner = "team", "owner@team.test"
    common: dict[str, Any] = {"account_id": account_id, "workspace": ws}
    manual = policy.seat_mode is SeatMode.MANUAL
    start_seats = max(policy.min_seats or 1, 1) + (2 if manual else 0)
    subscriptions.subscribe(
        runtime,
        account_id=account_id,
        policy=policy,
        preset=preset,
        workspaces=[ws],
        owner_email=owner,
        seats=start_seats,
    )
    role = _member_role(preset)

    def at(text: str) -> None:
        clock.move_to(utc(text))
        billing.bring_up_to_date(runtime, account_id=account_id)

    def buy(seats: int) -> None:
        if manual:
            subscriptions.change_seat_count(runtime, **common, actor=owner, seats=seats)

    at("2026-04-10T09:00:00")
    buy(start_seats + 3)
    members.invite_members(
        runtime, **common, actor=owner, emails=["a@team.test", "b@team.test"], role=role
    )
    at("2026-04-12T00:00:00")
    for person in ("a@team.test", "b@team.test"):
        members.accept_invite(runtime, **common, email=person)
    at("2026-04-20T00:00:00")
    members.deactivate_member(runtime, **common, actor=owner, email="b@team.test")
    buy(start_seats + 1)
    if policy.addons:
        name = sorted(policy.addons)[0]
        subscriptions.set_addon(runtime, **common, actor=owner, name=name, count=2)
    at("2026-05-03T00:00:00")
    members.invite_members(runtime, **common, actor=owner, emails=["c@team.test"], role=role)
    if policy.addons:
        subscriptions.set_addon(runtime, **common, actor=owner, name=name, count=1)
    at("2026-05-20T12:00:00")
    members.delete_member(runtime, **common, actor=owner, email="c@team.test")
    buy(start_seats)
    at("2026-06-05T00:00:00")
    buy(start_seats + 1)
    members.invite_members(runtime, **common, actor=owner, emails=["d@team.test"], role=role)
    at("2026-06-10T00:00:00")
    subscriptions.cancel_subscription(runtime, **common, actor=owner, at_period_end=not cancel_now)
    at("2026-08-02T00:00:00")
    return History(runtime, account_id)


BUSY = [p for p in presets.preset_names() if resolve_policy(p).max_seats is None]


@pytest.mark.parametrize("cancel_now", [True, False], ids=["cancel-now", "cancel-at-period-end"])
@pytest.mark.parametrize("preset", BUSY)
def test_a_busy_history_replayed_under_its_own_policy_reproduces_every_invoice(
    preset: str, cancel_now: bool, runtime: Runtime
) -> None:
    history = busy_history(runtime, preset, cancel_now=cancel_now)
    result = simulate_account(history.runtime, account_id=history.account_id, change=SAME)
    assert_reproduced(result)
    reasons = {pair.either.reason for pair in result.invoices}
    assert {"subscribe", "renewal"} <= reasons or resolve_policy(preset).interval.unit != "month"
    kinds = {line.kind for pair in result.invoices for line in pair.lines}
    if resolve_policy(preset).addons:
        assert LineKind.ADDON in kinds


def test_the_busy_timelines_cover_credits_add_ons_renewals_and_cancellations(
    runtime: Runtime,
) -> None:
    """What the reproduction tests above must meet at least once, so they prove something."""
    seen_reasons: set[str] = set()
    seen_kinds: set[str] = set()
    seen_lines: set[LineKind] = set()
    for preset, cancel_now in (("rallly-pro", True), ("upcoach", False), ("voltasis-pro", False)):
        history = busy_history(runtime, preset, cancel_now=cancel_now)
        result = simulate_account(history.runtime, account_id=history.account_id, change=SAME)
        seen_reasons |= {p.either.reason for p in result.invoices}
        seen_kinds |= {p.either.kind for p in result.invoices}
        seen_lines |= {line.kind for p in result.invoices for line in p.lines}
    assert {"subscribe", "proration", "renewal", "cancellation"} <= seen_reasons
    assert {"invoice", "credit_note"} <= seen_kinds
    assert {LineKind.ADDON, LineKind.CREDIT_APPLIED, LineKind.PRORATION_CREDIT} <= seen_lines


# ---------------------------------------------------------------------------------------------
# A pricing change, worked through


def rallly_history(stored: Runtime, name: str = "Rallly team") -> History:
    """Rallly Pro (USD 10 a seat a month, day proration, charged now): 3 seats on 1 April, 5
    from 16 April (15 of April's 30 days left), renewed on 1 May."""
    clock = ManualClock(utc("2026-04-01T00:00:00"))
    runtime = Runtime(uow=stored.uow, clock=clock)
    account_id = accounts.create_account(runtime, name=name)
    common: dict[str, Any] = {"account_id": account_id, "workspace": "team"}
    subscriptions.subscribe(
        runtime,
        account_id=account_id,
        policy=resolve_policy("rallly-pro"),
        preset="rallly-pro",
        workspaces=["team"],
        owner_email="owner@team.test",
        seats=3,
    )
    clock.move_to(utc("2026-04-16T00:00:00"))
    subscriptions.change_seat_count(runtime, **common, actor="owner@team.test", seats=5)
    clock.move_to(utc("2026-05-02T00:00:00"))
    billing.bring_up_to_date(runtime, account_id=account_id)
    return History(runtime, account_id)


def shown(result: AccountSimulation) -> list[tuple[str, str | None, str | None, str]]:
    return [
        (
            pair.either.reason,
            pair.recorded.total.format() if pair.recorded else None,
            pair.simulated.total.format() if pair.simulated else None,
            pair.difference.format(),
        )
        for pair in result.invoices
    ]


def test_a_higher_seat_price_shows_each_invoice_and_the_total_difference(
    runtime: Runtime,
) -> None:
    history = rallly_history(runtime)
    result = simulate_account(
        history.runtime,
        account_id=history.account_id,
        change=PolicyChange(overrides={"seat_price": "12.00"}),
    )
    assert shown(result) == [
        ("subscribe", "30.00", "36.00", "6.00"),
        ("proration", "10.00", "12.00", "2.00"),
        ("renewal", "50.00", "60.00", "10.00"),
    ]
    (seats,) = result.invoices[2].lines
    assert seats.kind is LineKind.SEATS
    assert seats.recorded is not None and seats.simulated is not None
    assert (seats.recorded.quantity, seats.simulated.quantity) == (5, 5)
    assert seats.difference == Money.of("10.00", "USD")
    assert result.totals.recorded == Money.of("90.00", "USD")
    assert result.totals.simulated == Money.of("108.00", "USD")
    assert result.totals.verdict is Verdict.PAYS_MORE
    assert result.subscriptions[0].simulated.seat_price == Money.of("12.00", "USD")
    assert result.subscriptions[0].recorded.seat_price == Money.of("10.00", "USD")


def test_the_window_keeps_invoices_issued_from_its_start_to_before_its_end(
    runtime: Runtime,
) -> None:
    history = rallly_history(runtime)
    result = simulate_account(
        history.runtime,
        account_id=history.account_id,
        change=PolicyChange(overrides={"seat_price": "12.00"}),
        start=utc("2026-04-16T00:00:00"),
        end=utc("2026-05-01T00:00:00"),
    )
    assert shown(result) == [("proration", "10.00", "12.00", "2.00")]
    assert result.replayed_until == utc("2026-05-01T00:00:00")


def test_under_automatic_seats_the_bought_count_follows_the_seats_in_use(
    runtime: Runtime,
) -> None:
    """Rallly's owner bought 3 then 5 seats but only the owner used one: seats following usage
    bill one seat, and the purchase of 16 April is not replayed."""
    history = rallly_history(runtime)
    result = simulate_account(
        history.runtime,
        account_id=history.account_id,
        change=PolicyChange(overrides={"seat_mode": "automatic"}),
    )
    assert shown(result) == [
        ("subscribe", "30.00", "10.00", "-20.00"),
        ("proration", "10.00", None, "-10.00"),
        ("renewal", "50.00", "10.00", "-40.00"),
    ]
    assert result.totals.verdict is Verdict.PAYS_LESS


def test_an_automatic_history_under_manual_seats_buys_exactly_the_seats_in_use(
    runtime: Runtime,
) -> None:
    history = busy_history(runtime, "voltasis-pro", cancel_now=False)
    result = simulate_account(
        history.runtime,
        account_id=history.account_id,
        change=PolicyChange(overrides={"seat_mode": "manual"}),
    )
    assert result.subscriptions[0].simulated.seat_mode is SeatMode.MANUAL
    assert_reproduced(result)


def test_a_preset_replaces_the_recorded_policy(runtime: Runtime) -> None:
    history = rallly_history(runtime)
    upcoach = presets.load_preset("upcoach")
    result = simulate_account(
        history.runtime, account_id=history.account_id, change=PolicyChange(base=upcoach)
    )
    # upcoach: USD 100 base with 5 seats included, USD 20 per seat beyond: 3 and 5 seats bill
    # the base only.
    assert shown(result) == [
        ("subscribe", "30.00", "100.00", "70.00"),
        ("proration", "10.00", None, "-10.00"),
        ("renewal", "50.00", "100.00", "50.00"),
    ]


# ---------------------------------------------------------------------------------------------
# Refusals


def test_another_currency_is_refused_naming_both(runtime: Runtime) -> None:
    history = rallly_history(runtime)
    with pytest.raises(InvalidInput) as refused:
        simulate_account(
            history.runtime,
            account_id=history.account_id,
            change=PolicyChange(base=presets.load_preset("reviewer-pro")),
        )
    assert refused.value.field == "policy"
    assert "EUR" in refused.value.rule and "USD" in refused.value.rule


def test_an_add_on_the_new_policy_does_not_sell_is_refused(runtime: Runtime) -> None:
    history = busy_history(runtime, "upcoach", cancel_now=False)
    with pytest.raises(InvalidInput) as refused:
        simulate_account(
            history.runtime,
            account_id=history.account_id,
            change=PolicyChange(base=presets.load_preset("rallly-pro")),
        )
    assert refused.value.field == "policy.addons"
    assert "additional_admin_seat" in refused.value.rule


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("2026-05-01T00:00:00+00:00", "2026-05-01T00:00:00+00:00", "to"),
        ("2026-05-01T00:00:00", None, "from"),
        (None, "2026-05-01T00:00:00", "to"),
    ],
    ids=["empty-window", "naive-from", "naive-to"],
)
def test_a_bad_window_is_refused_naming_the_bound(
    runtime: Runtime, start: str | None, end: str | None, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        simulate_account(
            runtime,
            account_id="acc_x",
            change=SAME,
            start=datetime.fromisoformat(start) if start else None,
            end=datetime.fromisoformat(end) if end else None,
        )
    assert refused.value.field == field


def test_an_unknown_account_is_not_found(runtime: Runtime) -> None:
    with pytest.raises(NotFound):
        simulate_account(runtime, account_id="acc_nobody", change=SAME)


# ---------------------------------------------------------------------------------------------
# Every account


def test_every_account_is_simulated_and_summed_per_currency(runtime: Runtime) -> None:
    more = rallly_history(runtime, "pays more")
    less = busy_history(runtime, "upcoach", cancel_now=True)
    euro = busy_history(runtime, "reviewer-pro", cancel_now=True)
    empty = accounts.create_account(runtime, name="nothing yet")
    calls: list[tuple[int, int]] = []
    done = simulate_all_accounts(
        euro.runtime,
        change=PolicyChange(overrides={"seat_price": "12.00"}),
        progress=lambda n, total: calls.append((n, total)),
    )
    assert calls == [(n, 4) for n in range(1, 5)]
    verdicts = {a.account_id: a.totals.verdict for a in done.accounts}
    assert verdicts == {
        more.account_id: Verdict.PAYS_MORE,
        less.account_id: Verdict.PAYS_LESS,
        euro.account_id: Verdict.PAYS_LESS,
    }
    assert [(r.account_id, r.code) for r in done.refused] == [(empty, "invalid_input")]
    summary = done.summary
    assert (summary.accounts, summary.pays_more, summary.pays_less, summary.refused) == (4, 1, 2, 1)
    for currency in ("USD", "EUR"):
        change = Money.zero(currency)
        for account in done.accounts:
            if account.currency == currency:
                change = change + account.totals.difference
        assert summary.revenue_change(currency) == change


# ---------------------------------------------------------------------------------------------
# Nothing is written


def row_counts(runtime: Runtime) -> dict[str, int]:
    assert runtime.engine is not None
    engine = create_engine(runtime.engine.url)
    try:
        with engine.connect() as conn:
            return {
                table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in metadata.sorted_tables
            }
    finally:
        engine.dispose()


def test_simulating_writes_nothing_anywhere(runtime: Runtime) -> None:
    history = busy_history(runtime, "rallly-pro", cancel_now=True)
    busy_history(runtime, "voltasis-pro", cancel_now=False)
    accounts.create_account(runtime, name="nothing yet")
    before = row_counts(runtime)
    assert before["invoices"] and before["seat_ledger"] and before["credit_entries"]
    change = PolicyChange(overrides={"seat_price": "11.00", "proration": {"unit": "second"}})
    simulate_account(history.runtime, account_id=history.account_id, change=change)
    simulate_all_accounts(history.runtime, change=change)
    with pytest.raises(InvalidInput):
        simulate_account(
            history.runtime,
            account_id=history.account_id,
            change=PolicyChange(overrides={"currency": "EUR"}),
        )
    assert row_counts(runtime) == before
