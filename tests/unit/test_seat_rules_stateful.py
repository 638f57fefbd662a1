"""The seat rules under random sequences of decisions (Hypothesis stateful testing).

A subscription starts with its owner; then any mix of invites (batches), acceptances, role grants
and removals, deactivations, reactivations, deletions, ownership transfers, seat-count changes and
the passing of time (expiring roles) is applied, each one through the domain exactly as the
service does: transform, then ``check_seat_limit`` (or ``check_seat_count`` for the seat count).
Whatever was accepted, after every step:

- in manual mode, seats used never exceed seats bought (the failure this guards against: a
  path that lets someone cross into the billable set without the seat rule seeing it);
- in automatic mode, seats used never exceed ``max_seats``;
- with a free allowance in manual mode, free places used never exceed the allowance;
- the owner role of the first workspace always has an active holder;
- a refusal's numbers describe the change it refused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from seatledger.domain.decisions import (
    accept_invite,
    admit_batch,
    assign_role,
    check_seat_count,
    check_seat_limit,
    deactivate_member,
    delete_member,
    expire_grants,
    reactivate_member,
    remove_role,
    transfer_ownership,
)
from seatledger.domain.errors import (
    Conflict,
    FreeAllowanceReached,
    NotFound,
    RequiredRole,
    SeatCountRefused,
    SeatLimitReached,
)
from seatledger.domain.policy import SeatMode, policy_from_mapping
from seatledger.domain.seats import (
    Member,
    MemberStatus,
    RoleGrant,
    Roster,
    seat_holders,
    seat_usage,
)

START = datetime(2026, 4, 1, tzinfo=UTC)
OWNER = "owner@main.test"
# Hypothesis leans towards the first element of a sampled list: people and roles that change the
# counts come first, the owner and the owner role last.
EMAILS = [*(f"p{i}@x.test" for i in range(5)), OWNER]
WORKSPACES = ["main", "w2"]
ROLES = ["viewer", "member", "admin", "contractor", "guest", "owner"]

_BASE: dict[str, Any] = {
    "currency": "EUR",
    "interval": "month",
    "seat_price": "10.00",
    "billable_roles": ["owner", "admin", "member", "contractor"],
    "free_roles": ["viewer", "guest"],
    # An expiring billable role and an expiring free role, so time frees seats and places.
    "expiring_roles": {"contractor": "PT12H", "guest": "P1D"},
}
POLICIES: dict[str, dict[str, Any]] = {
    "manual, invites counted, atomic batches": {"count_pending_invites": True},
    "manual, invites waiting, deactivated counted, partial batches": {
        "count_deactivated": True,
        "batch_atomic": False,
    },
    "manual, one free viewer per seat, an admin required": {
        "count_pending_invites": True,
        "free_allowance": {"role": "viewer", "per_paid_seat": 1},
        "required_roles": ["admin"],
        "min_seats": 1,
        "max_seats": 5,
    },
    "automatic, at most four seats": {"seat_mode": "automatic", "max_seats": 4},
}

emails = st.sampled_from(EMAILS)
workspaces = st.sampled_from(WORKSPACES)
roles = st.sampled_from(ROLES)
scopes = st.sampled_from([None, "p1"])


class SeatRules(RuleBasedStateMachine):
    """One subscription under the policy ``POLICIES[policy_name]``."""

    policy_name: ClassVar[str]
    roster: Roster
    seats_total: int
    at: datetime

    def __init__(self) -> None:
        super().__init__()
        self.policy = policy_from_mapping(_BASE | POLICIES[self.policy_name])

    @initialize(seats=st.integers(1, 4))
    def subscribe(self, seats: int) -> None:
        owner = Member(OWNER, "main", MemberStatus.ACTIVE, frozenset({RoleGrant("owner")}))
        self.roster, self.seats_total, self.at = Roster((owner,)), seats, START

    def _used(self, roster: Roster) -> int:
        return len(seat_holders(roster, self.policy, self.at))

    def _decide(self, change: Callable[[], Roster]) -> None:
        """Apply ``change`` if the domain allows it; a refusal leaves the roster as it was."""
        try:
            after = change()
        except (NotFound, Conflict, RequiredRole):
            return
        try:
            check_seat_limit(self.roster, after, self.policy, self.seats_total, self.at)
        except SeatLimitReached as refused:
            assert refused.used == self._used(self.roster)
            assert refused.used + refused.requested == self._used(after) > refused.total
            return
        except FreeAllowanceReached as refused:
            assert refused.requested > 0
            return
        self.roster = after

    @rule(batch=st.lists(emails, min_size=1, max_size=4), role=roles, scope=scopes, ws=workspaces)
    def invite(self, batch: list[str], role: str, scope: str | None, ws: str) -> None:
        try:
            outcome = admit_batch(
                self.roster,
                self.policy,
                workspace=ws,
                emails=batch,
                role=role,
                scope=scope,
                seats_total=self.seats_total,
                at=self.at,
            )
        except (SeatLimitReached, FreeAllowanceReached):
            return
        assert sorted(outcome.admitted + outcome.refused) == sorted(set(batch))
        assert not (self.policy.batch_atomic and outcome.refused)
        self.roster = outcome.roster

    # Free roles again, on their own: the allowance is only tested when free places pile up.
    @rule(batch=st.lists(emails, min_size=1, max_size=4), role=st.sampled_from(["viewer", "guest"]))
    def invite_to_a_free_role(self, batch: list[str], role: str) -> None:
        self.invite(batch, role, None, "main")

    @rule(email=emails, ws=workspaces)
    def accept(self, email: str, ws: str) -> None:
        self._decide(lambda: accept_invite(self.roster, workspace=ws, email=email))

    @rule(email=emails, ws=workspaces, role=roles, scope=scopes)
    def assign(self, email: str, ws: str, role: str, scope: str | None) -> None:
        self._decide(
            lambda: assign_role(
                self.roster,
                self.policy,
                workspace=ws,
                email=email,
                role=role,
                scope=scope,
                at=self.at,
            )
        )

    @rule(email=emails, ws=workspaces, role=roles, scope=scopes)
    def remove(self, email: str, ws: str, role: str, scope: str | None) -> None:
        self._decide(
            lambda: remove_role(
                self.roster,
                self.policy,
                workspace=ws,
                email=email,
                role=role,
                scope=scope,
                at=self.at,
            )
        )

    @rule(email=emails, ws=workspaces)
    def deactivate(self, email: str, ws: str) -> None:
        self._decide(
            lambda: deactivate_member(
                self.roster, self.policy, workspace=ws, email=email, at=self.at
            )
        )

    @rule(email=emails, ws=workspaces)
    def reactivate(self, email: str, ws: str) -> None:
        self._decide(lambda: reactivate_member(self.roster, self.policy, workspace=ws, email=email))

    @rule(email=emails, ws=workspaces)
    def delete(self, email: str, ws: str) -> None:
        self._decide(
            lambda: delete_member(self.roster, self.policy, workspace=ws, email=email, at=self.at)
        )

    @rule(current=emails, heir=emails)
    def transfer(self, current: str, heir: str) -> None:
        if current != heir:
            self._decide(
                lambda: transfer_ownership(
                    self.roster, self.policy, workspace="main", from_email=current, to_email=heir
                )
            )

    # A change relative to the current count, so reductions (where the rules bite) come as often
    # as additions.
    @rule(change=st.integers(-3, 3))
    def change_seat_count(self, change: int) -> None:
        seats = max(0, self.seats_total + change)
        usage = seat_usage(self.roster, self.policy, self.seats_total, self.at)
        try:
            check_seat_count(self.policy, usage, seats)
        except (SeatCountRefused, FreeAllowanceReached):
            return
        self.seats_total = seats

    @rule(hours=st.integers(1, 30))
    def time_passes(self, hours: int) -> None:
        self.at += timedelta(hours=hours)
        self.roster = expire_grants(self.roster, self.at)

    @invariant()
    def seats_used_stay_within_the_limit(self) -> None:
        usage = seat_usage(self.roster, self.policy, self.seats_total, self.at)
        if self.policy.seat_mode is SeatMode.MANUAL:
            assert usage.used <= usage.total
            assert (
                usage.free_used is None
                or usage.free_allowed is None
                or (usage.free_used <= usage.free_allowed)
            )
        else:
            assert self.policy.max_seats is not None
            assert usage.used <= self.policy.max_seats

    @invariant()
    def the_first_workspace_keeps_an_active_owner(self) -> None:
        assert any(
            m.workspace == "main"
            and m.status is MemberStatus.ACTIVE
            and "owner" in m.roles_at(self.at)
            for m in self.roster.members
        )


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_seat_rules_hold_under_any_sequence_of_decisions(name: str) -> None:
    class Machine(SeatRules):
        policy_name = name

    run_state_machine_as_test(
        Machine,
        settings=settings(max_examples=200, stateful_step_count=40, deadline=None),
    )
