"""Pricing simulations in the domain: ledger rows to replay steps, the policy tried, and recorded
against simulated invoices, line by line and summed over accounts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from seatledger.domain.errors import InvalidInput
from seatledger.domain.invoices import InvoiceLine, LineKind
from seatledger.domain.money import Money
from seatledger.domain.periods import Period
from seatledger.domain.policy import SeatMode, policy_from_mapping, policy_to_mapping
from seatledger.domain.simulation import (
    BilledTotals,
    InvoiceFacts,
    RecordedChange,
    ReplayAction,
    Verdict,
    billed_totals,
    compare_invoices,
    in_window,
    pair_lines,
    policy_with_change,
    replay_steps,
    summarize,
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


APRIL = Period(utc("2026-04-01"), utc("2026-05-01"))
MAY = Period(utc("2026-05-01"), utc("2026-06-01"))

POLICY: dict[str, Any] = {
    "billable_roles": ["owner", "member"],
    "free_roles": ["viewer"],
    "currency": "EUR",
    "interval": "month",
    "seat_price": "99.00",
    "base_price": "0.00",
    "seat_mode": "manual",
}


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def line(kind: LineKind, amount: str, quantity: int = 1) -> InvoiceLine:
    return InvoiceLine(kind, f"{quantity} × {kind}", quantity, eur("99.00"), eur(amount), APRIL)


def invoice(
    reason: str,
    at: str,
    *lines: InvoiceLine,
    kind: str = "invoice",
    subscription: str = "sub_a",
    number: str = "",
) -> InvoiceFacts:
    return InvoiceFacts(subscription, kind, reason, utc(at), APRIL, "EUR", tuple(lines), number)


def change(
    kind: str, at: str = "2026-04-10", used: int = 1, total: int = 3, **detail: Any
) -> RecordedChange:
    return RecordedChange(utc(at), kind, total, used, detail)


# ---------------------------------------------------------------------------------------------
# replay_steps

STEP_CASES = [
    # (ledger row, seat mode, expected action, expected seats)
    (change("subscribed", total=3), SeatMode.MANUAL, ReplayAction.OPEN, 3),
    (change("subscribed", total=1), SeatMode.AUTOMATIC, ReplayAction.OPEN, 1),
    (change("seats_changed", requested=5), SeatMode.MANUAL, ReplayAction.BUY_SEATS, 5),
    (change("seats_changed", requested=5), SeatMode.AUTOMATIC, ReplayAction.USAGE, None),
    (change("members_invited", requested=2), SeatMode.MANUAL, ReplayAction.BUY_SEATS, 2),
    (change("members_invited"), SeatMode.MANUAL, ReplayAction.USAGE, None),
    (change("canceled", requested=0), SeatMode.MANUAL, ReplayAction.CANCEL_NOW, 0),
    (change("cancel_scheduled"), SeatMode.MANUAL, ReplayAction.CANCEL_AT_PERIOD_END, None),
    (change("addon_changed", addon="admins", count=2), SeatMode.MANUAL, ReplayAction.ADDON, None),
]


@pytest.mark.parametrize(
    ("row", "mode", "action", "seats"),
    STEP_CASES,
    ids=[f"{row.kind}-{mode}-{action}" for row, mode, action, _ in STEP_CASES],
)
def test_each_ledger_row_becomes_one_step(
    row: RecordedChange, mode: SeatMode, action: ReplayAction, seats: int | None
) -> None:
    (step,) = replay_steps([row], seat_mode=mode)
    assert (step.action, step.seats, step.at, step.reason) == (action, seats, row.at, row.kind)
    assert step.seats_used == row.seats_used
    assert not step.before_renewal


def test_an_add_on_step_carries_the_pack_and_its_count() -> None:
    (step,) = replay_steps(
        [change("addon_changed", addon="admins", count=2)], seat_mode=SeatMode.MANUAL
    )
    assert (step.addon, step.count) == ("admins", 2)


@pytest.mark.parametrize(
    "row",
    [change("renewed"), change("canceled")],
    ids=["renewal", "end-at-period-end"],
)
def test_what_time_did_is_left_to_the_replay_s_own_schedule(row: RecordedChange) -> None:
    assert replay_steps([row], seat_mode=SeatMode.MANUAL) == ()


def test_a_role_expiry_runs_before_a_renewal_due_at_the_same_instant() -> None:
    rows = [change("roles_expired", used=2), change("members_invited", used=3)]
    expiry, invite = replay_steps(rows, seat_mode=SeatMode.AUTOMATIC)
    assert (expiry.before_renewal, invite.before_renewal) == (True, False)
    assert (expiry.seats_used, invite.seats_used) == (2, 3)


# ---------------------------------------------------------------------------------------------
# policy_with_change

RECORDED = policy_from_mapping(POLICY)


def test_overrides_alone_change_the_recorded_policy_key_by_key() -> None:
    tried = policy_with_change(
        RECORDED, None, {"seat_price": "12.00", "proration": {"unit": "day"}}
    )
    assert tried.seat_price == eur("12.00")
    assert str(tried.proration.unit) == "day"
    assert policy_to_mapping(tried) | {"seat_price": "99.00", "proration": {}} == policy_to_mapping(
        RECORDED
    ) | {"proration": {}}


def test_a_base_replaces_the_recorded_policy() -> None:
    base = {**POLICY, "seat_price": "5.00", "seat_mode": "automatic"}
    tried = policy_with_change(RECORDED, base, None)
    assert (tried.seat_price, tried.seat_mode) == (eur("5.00"), SeatMode.AUTOMATIC)


def test_no_change_is_the_recorded_policy() -> None:
    assert policy_with_change(RECORDED, None, None) == RECORDED


@pytest.mark.parametrize(
    ("overrides", "field"),
    [(["seat_price"], "policy"), ({"seat_prize": "1.00"}, "seat_prize")],
    ids=["not-a-mapping", "unknown-key"],
)
def test_a_wrong_change_is_refused_naming_the_field(overrides: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        policy_with_change(RECORDED, None, overrides)
    assert refused.value.field == field


# ---------------------------------------------------------------------------------------------
# in_window


@pytest.mark.parametrize(
    ("at", "start", "end", "inside"),
    [
        ("2026-05-01", "2026-05-01", "2026-06-01", True),
        ("2026-06-01", "2026-05-01", "2026-06-01", False),
        ("2026-04-30", "2026-05-01", None, False),
        ("2026-04-30", None, "2026-05-01", True),
        ("1999-01-01", None, None, True),
    ],
    ids=["start-is-in", "end-is-out", "before-start", "open-start", "no-bounds"],
)
def test_windows_are_half_open(at: str, start: str | None, end: str | None, inside: bool) -> None:
    bound = {"start": utc(start) if start else None, "end": utc(end) if end else None}
    assert in_window(utc(at), bound["start"], bound["end"]) is inside


# ---------------------------------------------------------------------------------------------
# pair_lines and compare_invoices


def test_lines_pair_by_kind_in_order_and_extras_stand_alone() -> None:
    recorded = [line(LineKind.BASE, "99.00"), line(LineKind.SEATS, "99.00")]
    simulated = [
        line(LineKind.BASE, "99.00"),
        line(LineKind.SEATS, "198.00", 2),
        line(LineKind.ADDON, "50.00"),
    ]
    paired = pair_lines(recorded, simulated, "EUR")
    assert [(p.kind, p.difference.format()) for p in paired] == [
        (LineKind.BASE, "0.00"),
        (LineKind.SEATS, "99.00"),
        (LineKind.ADDON, "50.00"),
    ]
    assert paired[2].recorded is None


def test_a_line_the_simulation_drops_is_a_negative_difference() -> None:
    (only,) = pair_lines([line(LineKind.ADDON, "50.00")], [], "EUR")
    assert (only.simulated, only.difference) == (None, eur("-50.00"))


def test_equal_lines_of_one_kind_pair_one_to_one() -> None:
    twice = [line(LineKind.PRORATION_CHARGE, "10.00")] * 2
    paired = pair_lines(twice[:1], twice, "EUR")
    assert [(p.recorded is None, p.difference.format()) for p in paired] == [
        (False, "0.00"),
        (True, "10.00"),
    ]


def test_invoices_pair_by_subscription_kind_reason_and_instant() -> None:
    recorded = [
        invoice("subscribe", "2026-04-01", line(LineKind.SEATS, "99.00"), number="000001"),
        invoice("renewal", "2026-05-01", line(LineKind.SEATS, "198.00", 2), number="000002"),
        invoice("proration", "2026-04-16", line(LineKind.PRORATION_CHARGE, "49.50")),
    ]
    simulated = [
        invoice("subscribe", "2026-04-01", line(LineKind.SEATS, "99.00")),
        invoice("proration", "2026-04-10", line(LineKind.PRORATION_CHARGE, "70.00")),
        invoice("renewal", "2026-05-01", line(LineKind.SEATS, "148.00", 2)),
    ]
    pairs = compare_invoices(recorded, simulated, "EUR")
    shown = [
        (
            p.either.reason,
            p.either.issued_at.date().isoformat(),
            p.recorded is not None,
            p.simulated is not None,
            p.difference.format(),
        )
        for p in pairs
    ]
    assert shown == [
        ("subscribe", "2026-04-01", True, True, "0.00"),
        ("proration", "2026-04-10", False, True, "70.00"),
        ("proration", "2026-04-16", True, False, "-49.50"),
        ("renewal", "2026-05-01", True, True, "-50.00"),
    ]
    assert pairs[0].recorded is not None and pairs[0].recorded.number == "000001"


def test_another_subscription_s_invoice_is_not_a_counterpart() -> None:
    recorded = [invoice("renewal", "2026-05-01", line(LineKind.SEATS, "99.00"))]
    simulated = [
        invoice("renewal", "2026-05-01", line(LineKind.SEATS, "99.00"), subscription="sub_b")
    ]
    pairs = compare_invoices(recorded, simulated, "EUR")
    assert [p.difference.format() for p in pairs] == ["-99.00", "99.00"]


# ---------------------------------------------------------------------------------------------
# billed_totals, verdicts and summarize


def test_billed_totals_count_invoices_and_leave_credit_notes_out() -> None:
    recorded = [
        invoice("subscribe", "2026-04-01", line(LineKind.SEATS, "99.00")),
        invoice("renewal", "2026-05-01", line(LineKind.SEATS, "198.00", 2)),
        invoice(
            "proration",
            "2026-04-20",
            line(LineKind.PRORATION_CREDIT, "-49.50"),
            kind="credit_note",
        ),
    ]
    simulated = [
        invoice("subscribe", "2026-04-01", line(LineKind.SEATS, "99.00")),
        invoice("renewal", "2026-05-01", line(LineKind.SEATS, "148.00", 2)),
        invoice(
            "proration",
            "2026-04-20",
            line(LineKind.PRORATION_CREDIT, "-20.00"),
            kind="credit_note",
        ),
    ]
    totals = billed_totals(compare_invoices(recorded, simulated, "EUR"), "EUR")
    assert (totals.recorded, totals.simulated, totals.difference) == (
        eur("297.00"),
        eur("247.00"),
        eur("-50.00"),
    )
    assert totals.verdict is Verdict.PAYS_LESS


@pytest.mark.parametrize(
    ("recorded", "simulated", "verdict"),
    [
        ("10.00", "12.00", Verdict.PAYS_MORE),
        ("10.00", "9.99", Verdict.PAYS_LESS),
        ("10.00", "10.00", Verdict.PAYS_SAME),
    ],
    ids=["more", "less", "same"],
)
def test_the_verdict_follows_the_sign_of_the_difference(
    recorded: str, simulated: str, verdict: Verdict
) -> None:
    assert BilledTotals("EUR", eur(recorded), eur(simulated)).verdict is verdict


def test_a_summary_counts_verdicts_and_sums_revenue_per_currency() -> None:
    usd = Money.of("30.00", "USD")
    summary = summarize(
        [
            BilledTotals("EUR", eur("100.00"), eur("110.00")),
            BilledTotals("EUR", eur("100.00"), eur("95.00")),
            BilledTotals("USD", usd, usd),
        ],
        refused=2,
    )
    assert (summary.accounts, summary.pays_more, summary.pays_less, summary.pays_same) == (
        5,
        1,
        1,
        1,
    )
    assert summary.refused == 2
    assert list(summary.recorded) == ["EUR", "USD"]
    assert summary.revenue_change("EUR") == eur("5.00")
    assert summary.revenue_change("USD") == Money.zero("USD")


def test_an_empty_summary_has_no_currency() -> None:
    summary = summarize([])
    assert (summary.accounts, dict(summary.recorded)) == (0, {})
