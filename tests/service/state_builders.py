"""A subscription's state built in memory, for the tests of what the engine does with one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from seatledger.domain.billing import SeatBilling
from seatledger.domain.periods import Period
from seatledger.domain.policy import Policy, policy_from_mapping
from seatledger.domain.seats import Member, MemberStatus, RoleGrant, Roster
from seatledger.service.state import SubscriptionState

START = datetime(2026, 4, 1, tzinfo=UTC)


def policy(**keys: Any) -> Policy:
    base: dict[str, Any] = {
        "billable_roles": ["owner", "member"],
        "free_roles": ["viewer"],
        "currency": "USD",
        "interval": "month",
        "seat_price": "10.00",
        "addons": {"pack": {"price": "30.00", "seats": 5}},
    }
    return policy_from_mapping(base | keys)


def member(email: str, role: str = "member", expires_at: datetime | None = None) -> Member:
    return Member(
        email, "main", MemberStatus.ACTIVE, frozenset({RoleGrant(role, None, expires_at)})
    )


def a_state() -> SubscriptionState:
    roster = Roster(
        (member("ana@x.test", "owner"), member("bob@x.test", expires_at=START + timedelta(days=3)))
    )
    return SubscriptionState(
        account_id="acc_1",
        subscription_id="sub_1",
        policy=policy(count_pending_invites=False),
        preset=None,
        anchor_at=START,
        billing=SeatBilling(
            period=Period(START, datetime(2026, 5, 1, tzinfo=UTC)),
            seats_total=3,
            seats_at_renewal=3,
            seats_paid=3,
        ),
        roster=roster,
        workspaces=("main",),
    )
