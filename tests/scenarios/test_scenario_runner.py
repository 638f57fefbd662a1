"""The runner against SCENARIOS.md: every action and every expect key, through the real service
layer and store (a temporary SQLite file, the runner's default), with a test clock."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from seatledger.scenarios.format import parse_scenario
from seatledger.scenarios.runner import ScenarioOutcome, StepOutcome, run_scenario


def run(preset: str, *steps: dict[str, Any], **top: Any) -> ScenarioOutcome:
    data: dict[str, Any] = {"preset": preset, "start": "2026-04-01", "steps": list(steps)}
    data.update(top)
    return run_scenario(parse_scenario(data, "inline.yaml"))


def ok(outcome: ScenarioOutcome) -> list[StepOutcome]:
    failures = [f"step {s.index}: {f}" for s in outcome.steps for f in s.failures]
    assert outcome.ok, "\n".join(failures)
    return outcome.steps


def money(step: StepOutcome) -> tuple[str, str, str]:
    return step.charged.format(), step.credited.format(), step.balance.format()


def lines(step: StepOutcome) -> list[tuple[str, int, str]]:
    """The lines of every invoice and credit note the step issued, in order."""
    return [
        (line.kind.value, line.quantity, line.amount.format())
        for invoice in step.invoices
        for line in invoice.lines
    ]


# --- actions -------------------------------------------------------------------------------------


def test_subscribe_issues_the_first_invoice_in_advance() -> None:
    (step,) = ok(run("reviewer-pro", {"subscribe": {"seats": 3}, "expect": {"charged": "198.00"}}))

    assert money(step) == ("198.00", "0.00", "0.00")
    assert lines(step) == [("base", 1, "99.00"), ("seats", 1, "99.00")]
    assert (step.seats and (step.seats.total, step.seats.used)) == (3, 1)
    assert step.action == "subscribe" and step.error is None


def test_subscribe_with_an_anchor_prorates_the_leading_period() -> None:
    subscribe, renewal = ok(
        run(
            "reviewer-pro",
            {
                "subscribe": {"seats": 2, "anchor": "2026-05-01"},
                # Apr 10 .. Apr 30 is 21 of April's 30 days: 99.00 x 21/30 = 69.30
                "expect": {"charged": "69.30", "invoice": {"total": "69.30"}},
            },
            {"at": "2026-05-01", "expect": {"charged": "99.00"}},
            start="2026-04-10",
        )
    )

    assert subscribe.invoices[0].period.end == renewal.invoices[0].period.start
    assert f"{renewal.invoices[0].period.start:%Y-%m-%d}" == "2026-05-01"


def test_set_add_remove_and_preview_seats() -> None:
    steps = ok(
        run(
            "rallly-pro",
            {"subscribe": {"seats": 2}},
            {"at": "2026-04-16", "preview_seats": 5, "expect": {"charged": "15.00"}},
            {"add_seats": 1, "expect": {"charged": "5.00", "seats": {"total": 3}}},
            {"set_seats": 5, "expect": {"charged": "10.00", "seats": {"total": 5}}},
            {"remove_seats": 2, "expect": {"credited": "10.00", "seats": {"total": 3}}},
            {"preview_seats": 1, "expect": {"credited": "10.00", "balance": "10.00"}},
        )
    )

    preview_up, add, set_, remove, preview_down = steps[1:]
    assert preview_up.seats is not None and preview_up.seats.total == 2, "a preview changes nothing"
    assert [i.number for i in preview_up.invoices] == [""], "a draft, never numbered"
    assert lines(add) == [("proration_charge", 1, "5.00")]  # 1 x 10.00 x 15/30
    assert lines(set_) == [("proration_charge", 2, "10.00")]  # 2 x 10.00 x 15/30
    assert lines(remove) == [("proration_credit", 2, "-10.00")]  # credit note
    assert money(remove) == ("0.00", "10.00", "10.00")
    assert preview_down.seats is not None and preview_down.seats.total == 3
    assert money(preview_down) == ("0.00", "10.00", "10.00"), "the balance is untouched"


def test_member_actions_with_scopes() -> None:
    steps = ok(
        run(
            "upcoach",
            {"subscribe": {"seats": 5}},
            {"invite": {"emails": ["a@x.test", "B@x.test"], "role": "participant", "scope": "p1"}},
            {"accept": "a@x.test", "expect": {"seats": {"used": 1}}},
            {
                "assign_role": {"email": "a@x.test", "role": "program_facilitator", "scope": "p2"},
                "expect": {"seats": {"used": 2}},
            },
            {"deactivate": "a@x.test", "expect": {"seats": {"used": 1}}},
            {"reactivate": "a@x.test", "expect": {"seats": {"used": 2}}},
            {
                "remove_role": {"email": "a@x.test", "role": "program_facilitator", "scope": "p2"},
                "expect": {"seats": {"used": 1}},
            },
            {"delete": "b@x.test", "expect": {"seats": {"used": 1}}},
            {"accept": "b@x.test", "expect": {"error": "not_found"}},
            {
                "remove_role": {"email": "a@x.test", "role": "participant"},
                "expect": {"error": "not_found"},  # her grant is scoped to p1
            },
        )
    )

    assert [s.action for s in steps] == [
        "subscribe",
        "invite",
        "accept",
        "assign_role",
        "deactivate",
        "reactivate",
        "remove_role",
        "delete",
        "accept",
        "remove_role",
    ]
    assert steps[8].error == "not_found" and steps[8].message == "No member 'b@x.test'."


def test_transfer_ownership_moves_seat_management() -> None:
    ok(
        run(
            "rallly-pro",
            {"subscribe": {"seats": 2}},
            {"invite": {"emails": ["ana@x.test"], "role": "member"}},
            {"accept": "ana@x.test"},
            {"transfer_ownership": "ana@x.test", "expect": {"seats": {"used": 2}}},
            {"add_seats": 1, "expect": {"error": "not_permitted"}},
            {"as": "ana@x.test", "add_seats": 1, "expect": {"seats": {"total": 3}}},
            {
                "as": "ana@x.test",
                "transfer_ownership": "ana@x.test",
                "expect": {"error": "invalid_input"},
            },
        )
    )


def test_add_and_remove_addon_packs() -> None:
    steps = ok(
        run(
            "upcoach",
            {"subscribe": {"seats": 5}},
            {
                "at": "2026-04-16",
                "add_addon": {"name": "additional_admin_seat", "seats": 2},
                "expect": {"charged": "20.00", "seats": {"total": 7}},  # 2 x 20.00 x 15/30
            },
            {
                "remove_addon": {"name": "additional_admin_seat", "count": 1},
                "expect": {"credited": "0.00", "seats": {"total": 6}},  # upcoach: no refund
            },
            {"add_addon": {"name": "no_such_pack", "seats": 1}, "expect": {"error": "not_found"}},
            {"at": "2026-05-01", "expect": {"charged": "120.00"}},  # 100.00 + 1 x 20.00
        )
    )

    assert lines(steps[1]) == [("proration_charge", 2, "20.00")]
    assert lines(steps[4]) == [("base", 1, "100.00"), ("addon", 1, "20.00")]


def test_cancel_now_credits_unused_time_and_refuses_later_changes() -> None:
    steps = ok(
        run(
            "rallly-pro",
            {"subscribe": {"seats": 3}},
            # 3 x 10.00 x 15/30 credited (rallly-pro credits at once)
            {"at": "2026-04-16", "cancel": {}, "expect": {"credited": "15.00", "balance": "15.00"}},
            {"add_seats": 1, "expect": {"error": "conflict"}},
            {"at": "2026-06-01", "expect": {"charged": "0.00"}},  # no renewal
        )
    )

    assert lines(steps[1]) == [("proration_credit", 3, "-15.00")]
    assert steps[3].invoices == []


def test_cancel_at_period_end_bills_no_further_period() -> None:
    steps = ok(
        run(
            "voltasis-pro",
            {"subscribe": {"seats": 1}},
            {"at": "2026-04-16", "invite": {"emails": ["e@x.test"], "role": "employee"}},
            {"cancel": {"at_period_end": True}, "expect": {"charged": "0.00"}},
            # the final invoice carries only the pending 1 x 10.00 x 15/30; no May seats
            {"at": "2026-05-01", "expect": {"charged": "5.00", "invoice": {"total": "5.00"}}},
            {"at": "2026-06-01", "expect": {"charged": "0.00"}},
        )
    )

    assert lines(steps[3]) == [("proration_charge", 1, "5.00")]


# --- time ----------------------------------------------------------------------------------------


def test_renewals_due_while_the_clock_moves_are_issued_in_order() -> None:
    steps = ok(
        run(
            "rallly-pro",
            {"subscribe": {"seats": 2}},
            # three renewals at once: May, June, July, 2 x 10.00 each
            {"at": "2026-07-15", "expect": {"charged": "60.00", "invoice": {"total": "20.00"}}},
        )
    )

    starts = [f"{i.period.start:%Y-%m-%d}" for i in steps[1].invoices]
    assert starts == ["2026-05-01", "2026-06-01", "2026-07-01"]
    assert steps[1].action is None


def test_a_step_at_the_same_instant_keeps_the_clock() -> None:
    steps = ok(
        run(
            "rallly-pro",
            {"at": "2026-04-01", "subscribe": {"seats": 2}},
            {"at": "2026-04-01", "add_seats": 1, "expect": {"charged": "10.00"}},  # 30/30
        )
    )

    assert steps[0].at == steps[1].at


# --- who acts, where ------------------------------------------------------------------------------


def test_as_and_workspace_choose_the_actor_and_the_subscription() -> None:
    ok(
        run(
            "plaky",
            {"workspace": "b", "subscribe": {"seats": 2}},
            {"subscribe": {"seats": 3}, "expect": {"seats": {"total": 3}}},  # workspace a
            {"workspace": "b", "add_seats": 1, "expect": {"seats": {"total": 3}}},
            {
                "workspace": "b",
                "as": "owner@a.test",
                "add_seats": 1,
                "expect": {"error": "not_permitted"},
            },
            {"as": "owner@b.test", "add_seats": 1, "expect": {"error": "not_permitted"}},
            {"workspace": "b", "expect": {"seats": {"total": 3, "used": 1}}},
            workspaces=["a", "b"],
        )
    )


# --- expectations --------------------------------------------------------------------------------


def test_every_expect_key_holding() -> None:
    steps = ok(
        run(
            "plaky",
            {"subscribe": {"seats": 2}},
            {"invite": {"emails": ["m@x.test"], "role": "member"}},
            {"invite": {"emails": ["v@x.test"], "role": "viewer"}},
            {
                "at": "2026-04-16",
                "add_seats": 1,
                "expect": {
                    "seats": {
                        "total": 3,
                        "used": 2,
                        "available": 1,
                        "free_used": 1,
                        "free_available": 14,
                    },
                    "charged": "5.00",  # 1 x 10.00 x 15/30
                    "credited": "0.00",
                    "balance": "0.00",
                    "invoice": {
                        "total": "5.00",
                        "lines": [{"kind": "proration_charge", "quantity": 1, "amount": "5.00"}],
                    },
                },
            },
            {
                "invite": {"emails": ["x@x.test", "y@x.test"], "role": "member"},
                "expect": {
                    "error": "seat_limit_reached",
                    "message": "No seats available. You're using 2 of your 3 seats and this "
                    "needs 2 more. Upgrade your plan or remove a team member to free a seat.",
                    "seats": {"used": 2},
                },
            },
        )
    )

    assert steps[3].seats is not None
    assert (steps[3].seats.free_used, steps[3].seats.free_available) == (1, 14)


WRONG = [
    (
        {"add_seats": 1, "expect": {"error": "seat_limit_reached"}},
        "error: expected seat_limit_reached, got success",
    ),
    (
        {"invite": {"emails": ["a@x.test", "b@x.test"], "role": "member"}},
        "error: expected success, got seat_limit_reached (No seats available. You're using 1 of "
        "your 2 seats and this needs 2 more. Upgrade your plan or remove a team member to free a "
        "seat.)",
    ),
    (
        {"set_seats": 0, "expect": {"error": "below_used_seats", "message": "Nope."}},
        "message: expected 'Nope.', got 'You cannot reduce seats to 0: 1 seats are in use. "
        "Remove members first, then adjust seats.'",
    ),
    ({"add_seats": 1, "expect": {"seats": {"total": 9}}}, "seats.total: expected 9, got 3"),
    ({"add_seats": 1, "expect": {"seats": {"used": 2}}}, "seats.used: expected 2, got 1"),
    ({"add_seats": 1, "expect": {"seats": {"available": 0}}}, "seats.available: expected 0, got 2"),
    ({"add_seats": 1, "expect": {"charged": "5.01"}}, "charged: expected 5.01, got 5.00"),
    ({"add_seats": 1, "expect": {"credited": "1"}}, "credited: expected 1, got 0.00"),
    ({"add_seats": 1, "expect": {"balance": "0.01"}}, "balance: expected 0.01, got 0.00"),
    (
        {"add_seats": 1, "expect": {"invoice": {"total": "5.50"}}},
        "invoice.total: expected 5.50, got 5.00",
    ),
    (
        {"add_seats": 1, "expect": {"invoice": {"lines": [{"kind": "seats", "amount": "5.00"}]}}},
        "invoice.lines: expected [seats xNone 5.00], got [proration_charge x1 5.00]",
    ),
    (
        {"remove_seats": 1, "expect": {"invoice": {"total": "0.00"}}},
        "invoice: expected an invoice, got none",
    ),
]


@pytest.mark.parametrize(
    ("step", "failure"), [pytest.param(s, f, id=f.split(":")[0]) for s, f in WRONG]
)
def test_an_expectation_that_does_not_hold_is_reported(step: dict[str, Any], failure: str) -> None:
    outcome = run("plaky", {"subscribe": {"seats": 2}}, {"at": "2026-04-16", **step})

    assert not outcome.ok
    assert outcome.steps[0].ok
    assert outcome.steps[1].failures == [failure]


def test_several_failures_of_one_step_are_all_reported_and_the_run_goes_on() -> None:
    outcome = run(
        "rallly-pro",
        {"subscribe": {"seats": 2}, "expect": {"charged": "1.00", "seats": {"total": 1}}},
        {"add_seats": 1, "expect": {"seats": {"total": 3}}},
    )

    assert outcome.steps[0].failures == [
        "seats.total: expected 1, got 2",
        "charged: expected 1.00, got 20.00",
    ]
    assert outcome.steps[1].ok and not outcome.ok


def test_amounts_compare_as_numbers() -> None:
    ok(
        run(
            "rallly-pro",
            {"subscribe": {"seats": 2}, "expect": {"charged": 20, "balance": "0"}},
            {"add_seats": 1, "expect": {"charged": "10.0", "invoice": {"total": "10"}}},
        )
    )


def test_before_subscribe_seats_are_none_and_money_is_zero() -> None:
    (step,) = run("rallly-pro", {"add_seats": 1, "expect": {"error": "not_found"}}).steps

    assert step.seats is None and step.error == "not_found"
    assert money(step) == ("0.00", "0.00", "0.00")
    assert Decimal(step.charged.amount) == 0
