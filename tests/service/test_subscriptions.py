"""Use cases on a subscription, through bootstrap on SQLite and PostgreSQL: the seat count (set, add,
remove and its limits), the preview that computes the same money and writes nothing, add-ons,
cancelling now or at the period's end, roles that expire by themselves, and who may do each."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from service_world import OWNER, Subscribed, dump, grown_by, subscribe

from seatledger.bootstrap import Runtime
from seatledger.clock import ManualClock
from seatledger.domain.errors import (
    AboveMaximumSeats,
    BelowMinimumSeats,
    BelowUsedSeats,
    Conflict,
    InvalidInput,
    NotFound,
    NotPermitted,
    SeatLedgerError,
    SeatLimitReached,
)
from seatledger.domain.seats import RoleGrant
from seatledger.service import accounts, billing, members, subscriptions
from seatledger.service.gateway import load_state
from seatledger.service.ports import SubscriptionStatus
from seatledger.service.results import ChangeResult, InvoiceView


def seats_to(world: Subscribed, seats: int, actor: str = OWNER) -> ChangeResult:
    return subscriptions.change_seat_count(
        world.runtime, **world.common(), actor=actor, seats=seats
    )


def bought(world: Subscribed) -> int:
    return world.subscription().seats_total


def invite(world: Subscribed, *emails: str, role: str = "member") -> ChangeResult:
    return members.invite_members(
        world.runtime, **world.common(), actor=world.owner, emails=list(emails), role=role
    )


def refused_without_writing(
    world: Subscribed, error: type[SeatLedgerError], call: Callable[[], object]
) -> str:
    before = dump(world.engine)
    with pytest.raises(error) as refusal:
        call()
    assert dump(world.engine) == before
    return refusal.value.message


def money_of(invoices: tuple[InvoiceView, ...]) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """What an invoice says, without its id and number (a preview has neither)."""
    return [
        (
            i.kind.value,
            i.total.format(),
            [(line.kind.value, line.amount.format()) for line in i.lines],
        )
        for i in invoices
    ]


# --- the seat count --------------------------------------------------------------------------------


def test_seats_are_set_added_and_removed_with_the_money_each_move_makes(
    runtime: Runtime, clock: ManualClock
) -> None:
    world = subscribe(runtime, "rallly-pro", seats=3)  # USD 10 a seat a month, day proration
    invite(world, "ana@x.test")
    clock.move_to(datetime(2026, 4, 16, tzinfo=UTC))  # 15 of April's 30 days remain

    added = seats_to(world, bought(world) + 2)  # add 2
    removed = seats_to(world, bought(world) - 1)  # remove 1
    set_to = seats_to(world, 2)  # set: down to the two people in use

    assert [r.seats.total for r in (added, removed, set_to)] == [5, 4, 2]
    assert money_of(added.invoices) == [("invoice", "10.00", [("proration_charge", "10.00")])]
    assert (added.charged.format(), added.credited.format()) == ("10.00", "0.00")
    assert money_of(removed.invoices) == [("credit_note", "-5.00", [("proration_credit", "-5.00")])]
    assert (removed.credited.format(), removed.balance.format()) == ("5.00", "5.00")
    assert (set_to.credited.format(), set_to.balance.format()) == ("10.00", "15.00")
    ledger = world.ledger()
    assert [(r.kind, r.seats_total, r.seats_used) for r in ledger[-3:]] == [
        ("seats_changed", 5, 2),
        ("seats_changed", 4, 2),
        ("seats_changed", 2, 2),
    ]
    audit = [a for a in world.audit() if a.action == "change_seat_count"]
    assert [(a.before or {}).get("seats_total") for a in audit] == [3, 5, 4]
    assert [(a.after or {}).get("seats_total") for a in audit] == [5, 4, 2]


@pytest.mark.parametrize(
    ("preset", "seats", "requested", "error", "message"),
    [
        pytest.param(
            "rallly-pro",
            3,
            1,
            BelowUsedSeats,
            "You cannot reduce seats to 1: 2 seats are in use. Remove members first, then "
            "adjust seats.",
            id="rallly below the members in use",
        ),
        pytest.param(
            "reviewer-pro",
            2,
            1,
            BelowMinimumSeats,
            "You cannot have 1 seats: this plan's minimum is 2.",
            id="reviewer pro below its minimum of 2",
        ),
        pytest.param(
            "reviewer-free",
            1,
            2,
            AboveMaximumSeats,
            "You cannot have 2 seats: this plan's maximum is 1. Upgrade your plan for more.",
            id="reviewer free above its maximum of 1",
        ),
        pytest.param(
            "rallly-pro",
            3,
            -1,
            InvalidInput,
            "seats: must be a whole number >= 0, got -1",
            id="a negative count",
        ),
        pytest.param(
            "voltasis-pro",
            1,
            3,
            InvalidInput,
            "seats: follow the members in automatic seat mode: invite or deactivate members "
            "instead",
            id="automatic seat mode",
        ),
    ],
)
def test_a_seat_count_the_plan_or_the_members_forbid_is_refused_and_writes_nothing(
    runtime: Runtime,
    preset: str,
    seats: int,
    requested: int,
    error: type[SeatLedgerError],
    message: str,
) -> None:
    world = subscribe(runtime, preset, seats=seats)
    if preset == "rallly-pro":
        invite(world, "ana@x.test")

    refused = refused_without_writing(world, error, lambda: seats_to(world, requested))
    preview_refused = refused_without_writing(
        world,
        error,
        lambda: subscriptions.preview_seat_change(
            runtime, **world.common(), actor=world.owner, seats=requested
        ),
    )

    assert refused == preview_refused == message


def test_only_seat_managers_change_seats_add_ons_or_the_subscription(runtime: Runtime) -> None:
    world = subscribe(runtime, "rallly-pro", seats=3)  # seat_managers: [owner]
    invite(world, "ana@x.test")
    members.accept_invite(runtime, **world.common(), email="ana@x.test")
    ana = "ana@x.test"
    calls: list[Callable[[], object]] = [
        lambda: seats_to(world, 4, actor=ana),
        lambda: subscriptions.preview_seat_change(runtime, **world.common(), actor=ana, seats=4),
        lambda: subscriptions.cancel_subscription(
            runtime, **world.common(), actor=ana, at_period_end=True
        ),
    ]
    for call in calls:
        message = refused_without_writing(world, NotPermitted, call)
        assert message == "Only owner may manage seats and billing."


# --- preview ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "start", "target"),
    [
        pytest.param("rallly-pro", 4, 7, id="rallly: an increase charged now"),
        pytest.param("rallly-pro", 4, 2, id="rallly: a decrease credited now"),
        pytest.param("reviewer-pro", 3, 5, id="reviewer: an increase charged now"),
        pytest.param("reviewer-pro", 4, 2, id="reviewer: a decrease kept to period end"),
        pytest.param("upcoach", 6, 6, id="upcoach: the same count"),
    ],
)
def test_a_preview_computes_the_change_and_next_invoice_exactly_and_writes_nothing(
    runtime: Runtime, clock: ManualClock, preset: str, start: int, target: int
) -> None:
    world = subscribe(runtime, preset, seats=start)
    clock.move_to(datetime(2026, 4, 11, 6, tzinfo=UTC))
    before = dump(world.engine)

    preview = subscriptions.preview_seat_change(
        runtime, **world.common(), actor=world.owner, seats=target
    )

    assert dump(world.engine) == before
    assert all(i.status == "draft" and i.number == "" for i in preview.result.invoices)
    made = seats_to(world, target)
    assert money_of(preview.result.invoices) == money_of(made.invoices)
    assert preview.result.seats == made.seats
    assert (preview.result.charged, preview.result.credited, preview.result.balance) == (
        made.charged,
        made.credited,
        made.balance,
    )
    assert grown_by(before, dump(world.engine))["audit_log"] == 1
    # The next invoice it announced is the renewal actually issued at the period's end.
    clock.move_to(preview.next_invoice_period.start)
    renewals = billing.bring_up_to_date(runtime, account_id=world.account_id)
    assert [(r.period, r.total) for r in renewals] == [
        (preview.next_invoice_period, preview.next_invoice_total)
    ]


# --- add-ons ---------------------------------------------------------------------------------------


def test_add_on_packs_add_seats_billed_like_seats_and_leave_only_when_unused(
    runtime: Runtime, clock: ManualClock
) -> None:
    world = subscribe(runtime, "upcoach", seats=2)  # additional_admin_seat: 1 seat, USD 20
    invite(world, "ana@x.test", role="admin")
    refused_without_writing(
        world, SeatLimitReached, lambda: invite(world, "bob@x.test", role="admin")
    )
    clock.move_to(datetime(2026, 4, 16, tzinfo=UTC))

    def addon(count: int, name: str = "additional_admin_seat") -> ChangeResult:
        return subscriptions.set_addon(
            runtime, **world.common(), actor=OWNER, name=name, count=count
        )

    added = addon(2)

    assert (added.seats.total, added.seats.used) == (4, 2)
    # Two packs of USD 20 for the 15 days of 30 left: a prorated charge, as for seats.
    assert money_of(added.invoices) == [("invoice", "20.00", [("proration_charge", "20.00")])]
    invite(world, "bob@x.test", "cleo@x.test", role="admin")
    message = refused_without_writing(world, BelowUsedSeats, lambda: addon(0))
    assert message.startswith("You cannot reduce seats to 2: 4 seats are in use.")
    refused_without_writing(world, NotFound, lambda: addon(1, name="extra_storage"))
    refused_without_writing(world, InvalidInput, lambda: addon(-1))
    members.delete_member(runtime, **world.common(), actor=OWNER, email="cleo@x.test")

    removed = addon(1)

    assert (removed.seats.total, removed.seats.used) == (3, 3)
    assert subscriptions.addon_count(runtime, **world.common(), name="additional_admin_seat") == 1
    changes = [r for r in world.ledger() if r.kind == "addon_changed"]
    assert [(r.detail, r.seats_total) for r in changes] == [
        ({"addon": "additional_admin_seat", "count": 2}, 4),
        ({"addon": "additional_admin_seat", "count": 1}, 3),
    ]


# --- cancel ----------------------------------------------------------------------------------------


def test_cancelling_at_the_period_end_bills_nothing_more_and_ends_there(
    runtime: Runtime, clock: ManualClock
) -> None:
    world = subscribe(runtime, "rallly-pro", seats=3)
    clock.move_to(datetime(2026, 4, 20, tzinfo=UTC))

    result = subscriptions.cancel_subscription(
        runtime, **world.common(), actor=OWNER, at_period_end=True
    )

    assert (result.invoices, result.credited.format()) == ((), "0.00")
    subscription = world.subscription()
    assert (subscription.status, subscription.cancel_at_period_end) == (
        SubscriptionStatus.ACTIVE,
        True,
    )
    invite(world, "ana@x.test")  # the paid period goes on
    clock.move_to(datetime(2026, 5, 1, tzinfo=UTC))
    assert billing.bring_up_to_date(runtime, account_id=world.account_id) == []
    ended = world.subscription()
    assert (ended.status, ended.canceled_at) == (
        SubscriptionStatus.CANCELED,
        datetime(2026, 5, 1, tzinfo=UTC),
    )
    refused_without_writing(world, Conflict, lambda: invite(world, "bob@x.test"))


def test_cancelling_now_credits_the_unused_seat_time_and_ends_at_once(
    runtime: Runtime, clock: ManualClock
) -> None:
    world = subscribe(runtime, "rallly-pro", seats=3)  # credit_now; no base fee to keep
    clock.move_to(datetime(2026, 4, 21, tzinfo=UTC))  # 10 of 30 days remain

    result = subscriptions.cancel_subscription(
        runtime, **world.common(), actor=OWNER, at_period_end=False
    )

    assert money_of(result.invoices) == [
        ("credit_note", "-10.00", [("proration_credit", "-10.00")])
    ]
    assert (result.credited.format(), result.balance.format()) == ("10.00", "10.00")
    subscription = world.subscription()
    assert (subscription.status, subscription.canceled_at, subscription.seats_total) == (
        SubscriptionStatus.CANCELED,
        clock.now(),
        0,
    )
    assert world.ledger()[-1].kind == "canceled"
    refused_without_writing(
        world,
        Conflict,
        lambda: subscriptions.cancel_subscription(
            runtime, **world.common(), actor=OWNER, at_period_end=True
        ),
    )
    clock.move_to(datetime(2026, 6, 1, tzinfo=UTC))
    assert billing.bring_up_to_date(runtime, account_id=world.account_id) == []


# --- roles that expire -----------------------------------------------------------------------------


def test_an_expiring_role_ends_at_its_instant_and_frees_its_seat_for_the_next_change(
    runtime: Runtime, clock: ManualClock
) -> None:
    world = subscribe(
        runtime, "upcoach", seats=2, overrides={"expiring_roles": {"program_sponsor": "P10D"}}
    )
    invite(world, "ana@x.test", role="program_sponsor")
    expires_at = clock.now() + timedelta(days=10)
    with runtime.uow() as uow:
        state = load_state(uow, world.account_id, "main", lock=False)
    ana = state.roster.find("ana@x.test", "main")
    assert ana is not None and ana.grants == {RoleGrant("program_sponsor", None, expires_at)}
    clock.move_to(expires_at - timedelta(seconds=1))
    refused_without_writing(
        world, SeatLimitReached, lambda: invite(world, "bob@x.test", role="admin")
    )
    clock.move_to(expires_at + timedelta(hours=5))

    invite(world, "bob@x.test", role="admin")  # the expiry runs first, in the same transaction

    ledger = world.ledger()
    assert [(r.kind, r.at, r.seats_used) for r in ledger[-2:]] == [
        ("roles_expired", expires_at, 1),
        ("invited", clock.now(), 2),
    ]
    assert world.used() == 2


def test_expiries_due_are_written_by_bringing_the_account_up_to_date(
    runtime: Runtime, clock: ManualClock
) -> None:
    world = subscribe(runtime, "upcoach", seats=2)  # implementation_admin: P30D, a free role
    invite(world, "imp@x.test", role="implementation_admin")
    expires_at = clock.now() + timedelta(days=30)
    clock.move_to(expires_at)

    billing.bring_up_to_date(runtime, account_id=world.account_id)

    with runtime.uow() as uow:
        state = load_state(uow, world.account_id, "main", lock=False)
    imp = state.roster.find("imp@x.test", "main")
    assert imp is not None and imp.grants == frozenset()
    assert ("roles_expired", expires_at) in [(r.kind, r.at) for r in world.ledger()]


def test_what_time_itself_changes_is_audited_at_its_own_instant(
    runtime: Runtime, clock: ManualClock
) -> None:
    """Regression: role expiries and renewals changed roles, seats and money with a ledger row but
    no audit row, so the audit log could not tell why seats or a bill moved."""
    world = subscribe(
        runtime, "upcoach", seats=2, overrides={"expiring_roles": {"program_sponsor": "P10D"}}
    )
    invite(world, "ana@x.test", role="program_sponsor")
    ana = world.person_id("ana@x.test")
    expires_at = clock.now() + timedelta(days=10)
    clock.move_to(datetime(2026, 6, 15, tzinfo=UTC))

    billing.bring_up_to_date(runtime, account_id=world.account_id)

    timed = [a for a in world.audit() if a.actor == "seatledger"]
    assert [(a.action, a.at, a.target) for a in timed] == [
        ("expire_roles", expires_at, ana),
        ("renew_subscription", datetime(2026, 5, 1, tzinfo=UTC), world.subscription_id),
        ("renew_subscription", datetime(2026, 6, 1, tzinfo=UTC), world.subscription_id),
    ]
    assert [(a.before or {})["seats_used"] for a in timed] == [2, 1, 1]
    assert [(a.after or {})["seats_used"] for a in timed] == [1, 1, 1]
    subscriptions.cancel_subscription(runtime, **world.common(), actor=OWNER, at_period_end=True)
    clock.move_to(datetime(2026, 7, 1, tzinfo=UTC))
    billing.bring_up_to_date(runtime, account_id=world.account_id)
    last = world.audit()[-1]
    assert (last.actor, last.action, (last.after or {})["status"]) == (
        "seatledger",
        "end_subscription",
        "canceled",
    )


# --- accounts, workspaces, subscriptions -----------------------------------------------------------


def test_subscribing_creates_the_workspaces_the_owner_and_the_first_invoice(
    runtime: Runtime,
) -> None:
    world = subscribe(runtime, "plaky", seats=3, workspaces=("plaky", "pumble"))

    with runtime.uow() as uow:
        names = [w.name for w in uow.workspaces.for_account(world.account_id)]
        invoices = uow.invoices.for_account(world.account_id)
    assert names == ["plaky", "pumble"]
    for workspace in names:
        with runtime.uow() as uow:
            roster = load_state(uow, world.account_id, workspace, lock=False).roster
        owner = roster.find("owner@plaky.test", workspace)
        assert owner is not None and owner.grants == {RoleGrant("admin")}
    assert world.used("pumble") == 1  # one person across the bundle
    assert [(i.number, i.reason, i.total.format()) for i in invoices] == [(1, "subscribe", "30.00")]
    assert [r.kind for r in world.ledger()] == ["subscribed"]
    assert [a.action for a in world.audit()] == ["subscribe"]


def test_an_account_needs_a_name_and_a_subscription_an_account(runtime: Runtime) -> None:
    world = subscribe(runtime, "rallly-pro", seats=2)
    before = dump(world.engine)

    with pytest.raises(InvalidInput, match="name: must not be empty"):
        accounts.create_account(runtime, name="  ")
    with pytest.raises(NotFound, match="No account 'acc_nowhere'"):
        subscriptions.subscribe(
            runtime,
            account_id="acc_nowhere",
            policy=world.policy,
            preset=None,
            workspaces=["x"],
            owner_email="o@x.test",
            seats=2,
        )
    with pytest.raises(InvalidInput, match="workspaces"):
        subscriptions.subscribe(
            runtime,
            account_id=world.account_id,
            policy=world.policy,
            preset=None,
            workspaces=[],
            owner_email="o@x.test",
            seats=2,
        )

    assert dump(world.engine) == before
