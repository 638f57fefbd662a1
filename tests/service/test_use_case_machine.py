"""Random sequences of use cases against the real store (SQLite and PostgreSQL), checked after
every step: Hypothesis drives invites, accepts, role changes, deactivations, deletions, ownership
transfers, seat counts, add-ons, cancellations and the passing of time, as a random actor, on a
subscription of a random preset.

After every step:
- in manual seat mode, an active subscription never has more seats used than bought;
- the seat ledger replays to the current state: numbered 1..n in time order, and its last row's
  seats total / used / at renewal / paid are the subscription's own;
- a use case that succeeded wrote its audit row (with the seat figures of its last ledger row);
- a use case that was refused left every row of the account exactly as it was.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from service_world import account_dump, policy

from seatledger.bootstrap import Runtime, bootstrap
from seatledger.clock import ManualClock
from seatledger.domain.errors import SeatLedgerError
from seatledger.domain.policy import Policy, SeatMode
from seatledger.service import accounts, billing, members, subscriptions
from seatledger.service.gateway import load_state
from seatledger.service.ports import SubscriptionStatus
from seatledger.service.results import ChangeResult

CLOCK_START = datetime(2026, 4, 1, tzinfo=UTC)
PRESETS = ["upcoach", "rallly-pro", "reviewer-pro", "plaky", "voltasis-pro"]
PEOPLE = ["ana@x.test", "bob@x.test", "cleo@x.test", "dan@x.test", "eve@x.test"]
OWNER = "owner@main.test"
SCOPES = [None, "p1"]


class UseCaseMachine(RuleBasedStateMachine):
    """One account and subscription per example, on the database the test gives it."""

    runtime: Runtime

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(CLOCK_START)
        self.svc = replace(self.runtime, clock=self.clock)
        self.account_id = ""
        self.policy: Policy | None = None
        # People some invite admitted, drawn more often than strangers so that accepts, role
        # changes and deactivations mostly meet someone; and how many steps were taken, so
        # that cancelling (after which every change is refused) waits a little.
        self.known: list[str] = []
        self.steps = 0

    # --- set up ----------------------------------------------------------------------------

    @initialize(preset=st.sampled_from(PRESETS), seats=st.integers(1, 4))
    def subscribe(self, preset: str, seats: int) -> None:
        chosen = policy(preset)
        if chosen.seat_mode is SeatMode.AUTOMATIC:
            seats = max(1, chosen.min_seats or 0)
        seats = max(seats, chosen.min_seats or 0)
        if chosen.max_seats is not None:
            seats = min(seats, chosen.max_seats)
        self.policy = chosen
        self.account_id = accounts.create_account(self.svc, name=preset)
        subscriptions.subscribe(
            self.svc,
            account_id=self.account_id,
            policy=chosen,
            preset=preset,
            workspaces=["main"],
            owner_email=OWNER,
            seats=seats,
        )

    # --- helpers ---------------------------------------------------------------------------

    @property
    def roles(self) -> list[str]:
        assert self.policy is not None
        return sorted(self.policy.roles)

    def attempt(self, action: str, call: Any) -> Any:
        """Run a use case; check it audited itself, or wrote nothing at all when refused."""
        engine = self.runtime.engine
        assert engine is not None
        before = account_dump(engine, self.account_id)
        try:
            result = call()
        except SeatLedgerError as refusal:
            event(f"{action}: {refusal.code}")
            assert account_dump(engine, self.account_id) == before, f"{action} refused, wrote"
            return None
        event(f"{action}: ok")
        after = account_dump(engine, self.account_id)
        new_audit = after["audit_log"][len(before["audit_log"]) :]
        assert [row for row in new_audit if action in row], f"{action} left no audit row"
        assert len(after["seat_ledger"]) > len(before["seat_ledger"]), f"{action}: no ledger row"
        if isinstance(result, ChangeResult):
            mine = [row for row in new_audit if action in row][-1]
            subscription_id = self._subscription_id()
            with self.svc.uow() as uow:
                ledger = uow.ledger.entries(self.account_id, subscription_id)
            audited_after = mine[-1]
            assert audited_after["seats_used"] == ledger[-1].seats_used
            assert audited_after["seats_total"] == ledger[-1].seats_total
        return result

    def _subscription_id(self) -> str:
        with self.svc.uow() as uow:
            (subscription,) = uow.subscriptions.for_account(self.account_id)
        return subscription.id

    def common(self) -> dict[str, str]:
        return {"account_id": self.account_id, "workspace": "main"}

    def someone(self, data: st.DataObject) -> str:
        """Mostly someone an invite admitted; sometimes anyone, strangers included."""
        if self.known and data.draw(st.integers(0, 3), label="a known person") < 3:
            return data.draw(st.sampled_from(sorted(set(self.known))))
        return data.draw(st.sampled_from([*PEOPLE, OWNER]))

    def actor(self, data: st.DataObject) -> str:
        """Mostly the subscription's creator (who may have handed ownership on), else anyone."""
        if data.draw(st.integers(0, 4), label="the creator acts") < 4:
            return OWNER
        return data.draw(st.sampled_from(PEOPLE))

    # --- rules -----------------------------------------------------------------------------

    @rule(
        data=st.data(),
        emails=st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=3),
        scope=st.sampled_from(SCOPES),
    )
    def invite(self, data: st.DataObject, emails: list[str], scope: str | None) -> None:
        role, actor = data.draw(st.sampled_from(self.roles)), self.actor(data)
        result = self.attempt(
            "invite_members",
            lambda: members.invite_members(
                self.svc, **self.common(), actor=actor, emails=emails, role=role, scope=scope
            ),
        )
        if result is not None:
            self.known.extend(str(e) for e in result.detail["admitted"])

    @precondition(lambda self: bool(self.known))
    @rule(data=st.data())
    def accept(self, data: st.DataObject) -> None:
        email = self.someone(data)
        self.attempt(
            "accept_invite",
            lambda: members.accept_invite(self.svc, **self.common(), email=email),
        )

    @rule(data=st.data(), scope=st.sampled_from(SCOPES))
    def assign_role(self, data: st.DataObject, scope: str | None) -> None:
        role, email, actor = (
            data.draw(st.sampled_from(self.roles)),
            self.someone(data),
            self.actor(data),
        )
        self.attempt(
            "assign_role",
            lambda: members.assign_role(
                self.svc, **self.common(), actor=actor, email=email, role=role, scope=scope
            ),
        )

    @rule(data=st.data())
    def remove_role(self, data: st.DataObject) -> None:
        email, actor = self.someone(data), self.actor(data)
        with self.svc.uow() as uow:
            roster = load_state(uow, self.account_id, "main", lock=False).roster
        held = roster.find(email, "main")
        grants = sorted(((g.role, g.scope or "") for g in held.grants), key=str) if held else []
        if grants and data.draw(st.integers(0, 3), label="a role held") < 3:
            role, scope_name = data.draw(st.sampled_from(grants))
            scope = scope_name or None
        else:
            role = data.draw(st.sampled_from(self.roles))
            scope = data.draw(st.sampled_from(SCOPES))
        self.attempt(
            "remove_role",
            lambda: members.remove_role(
                self.svc, **self.common(), actor=actor, email=email, role=role, scope=scope
            ),
        )

    @rule(
        use_case=st.sampled_from(
            [
                ("deactivate_member", members.deactivate_member),
                ("reactivate_member", members.reactivate_member),
                ("delete_member", members.delete_member),
                ("transfer_ownership", members.transfer_ownership),
            ]
        ),
        data=st.data(),
    )
    def member_change(self, use_case: tuple[str, Any], data: st.DataObject) -> None:
        action, function = use_case
        email, actor = self.someone(data), self.actor(data)
        self.attempt(action, lambda: function(self.svc, **self.common(), actor=actor, email=email))

    @rule(seats=st.integers(0, 8), data=st.data())
    def change_seats(self, seats: int, data: st.DataObject) -> None:
        actor = self.actor(data)
        self.attempt(
            "change_seat_count",
            lambda: subscriptions.change_seat_count(
                self.svc, **self.common(), actor=actor, seats=seats
            ),
        )

    @rule(seats=st.integers(0, 8))
    def preview_seats(self, seats: int) -> None:
        engine = self.runtime.engine
        assert engine is not None
        before = account_dump(engine, self.account_id)
        with contextlib.suppress(SeatLedgerError):
            subscriptions.preview_seat_change(self.svc, **self.common(), actor=OWNER, seats=seats)
        assert account_dump(engine, self.account_id) == before, "a preview wrote"

    @precondition(lambda self: self.policy is not None and bool(self.policy.addons))
    @rule(count=st.integers(0, 2))
    def set_addon(self, count: int) -> None:
        assert self.policy is not None
        name = sorted(self.policy.addons)[0]
        self.attempt(
            "set_addon",
            lambda: subscriptions.set_addon(
                self.svc, **self.common(), actor=OWNER, name=name, count=count
            ),
        )

    @precondition(lambda self: self.steps >= 10)
    @rule(at_period_end=st.booleans())
    def cancel(self, at_period_end: bool) -> None:
        self.attempt(
            "cancel_subscription",
            lambda: subscriptions.cancel_subscription(
                self.svc, **self.common(), actor=OWNER, at_period_end=at_period_end
            ),
        )

    @rule(days=st.integers(0, 40), hours=st.integers(0, 23))
    def time_passes(self, days: int, hours: int) -> None:
        self.clock.advance(timedelta(days=days, hours=hours))
        billing.bring_up_to_date(self.svc, account_id=self.account_id)

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def the_books_agree(self) -> None:
        if not self.account_id:
            return
        self.steps += 1
        with self.svc.uow() as uow:
            (subscription,) = uow.subscriptions.for_account(self.account_id)
            ledger = uow.ledger.entries(self.account_id, subscription.id)
            state = load_state(uow, self.account_id, "main", lock=False)
        assert [row.seq for row in ledger] == list(range(1, len(ledger) + 1))
        assert all(a.at <= b.at for a, b in pairwise(ledger))
        last = ledger[-1]
        assert (last.seats_total, last.seats_at_renewal, last.seats_paid) == (
            state.capacity,
            subscription.seats_at_renewal,
            subscription.seats_paid,
        )
        assert last.seats_used == state.usage(last.at).used
        manual = state.policy.seat_mode is SeatMode.MANUAL
        if manual and subscription.status is SubscriptionStatus.ACTIVE:
            now = self.clock.now()
            usage = state.usage(now)
            assert usage.used <= usage.total, f"oversold: {usage}"
            for row in ledger:
                if row.kind != "canceled":
                    assert row.seats_used <= row.seats_total, f"oversold in the ledger: {row}"


def test_random_use_case_sequences_keep_seats_ledger_and_audit_straight(database_url: str) -> None:
    # Each example is a new account on the same database, so examples need no clean-up.
    # PostgreSQL round trips cost about twice SQLite's: fewer examples keep both near 5 s.
    examples = 20 if database_url.startswith("sqlite") else 10
    runtime = bootstrap(database_url)
    try:
        machine = type("Machine", (UseCaseMachine,), {"runtime": runtime})
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=examples,
                stateful_step_count=15,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        runtime.dispose()
