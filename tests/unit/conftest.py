"""Shared builders for the seat-rule tests: seed-shaped policies and rosters written one line a
member.

A roster line is ``"<name>[/<workspace>] <status> <role>[:<scope>] ..."``: ``"ana active owner"``
is ana@x.test, an active owner of workspace ``main``; ``"bob/w2 pending participant:p1"`` is
bob@x.test, invited to ``w2`` as a Participant of program ``p1``. Several members may share one
string, separated by ``;`` (``"ana active owner; bob active member"``), so a table row stays one
line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from seatledger.domain.policy import Policy, merge_policy, policy_from_mapping
from seatledger.domain.seats import Member, MemberStatus, RoleGrant, Roster

# The seat rules of each seed, reduced to the keys seat counting reads (prices are placeholders:
# no test here bills). Pending invites use seats everywhere: every seed blocks the invite itself
# at the limit ("buy seats before inviting"); tests that need the other rule override the key.
SEED_POLICIES: dict[str, dict[str, Any]] = {
    "rallly": {
        "billable_roles": ["owner", "member"],
        "free_roles": [],
        "count_pending_invites": True,
        "required_roles": ["owner"],
        "seat_managers": ["owner"],
        "member_managers": ["owner"],
    },
    "plaky": {
        "billable_roles": ["owner", "admin", "member"],
        "free_roles": ["viewer"],
        "count_pending_invites": True,
        "free_allowance": {"role": "viewer", "per_paid_seat": 5},
        "seat_managers": ["owner", "admin"],
    },
    "upcoach": {
        "billable_roles": [
            "owner",
            "admin",
            "program_admin",
            "program_facilitator",
            "program_sponsor",
        ],
        "free_roles": ["participant", "implementation_admin"],
        "count_pending_invites": True,
        "expiring_roles": {"implementation_admin": "P30D"},
        "batch_atomic": True,
    },
    "voltasis": {
        "billable_roles": ["owner", "admin", "manager", "employee", "contractor"],
        "free_roles": [],
        "count_pending_invites": True,
        "seat_mode": "automatic",
    },
    # The reviewer product's creator is its Admin: required, and moved only by transfer.
    "reviewer-free": {
        "billable_roles": ["admin", "reviewer"],
        "owner_role": "admin",
        "free_roles": ["member"],
        "count_pending_invites": True,
        "max_seats": 1,
        "required_roles": ["admin"],
        "seat_managers": ["admin"],
        "member_managers": ["admin"],
    },
    "reviewer-pro": {
        "billable_roles": ["admin", "reviewer"],
        "owner_role": "admin",
        "free_roles": ["member"],
        "count_pending_invites": True,
        "included_seats": 2,
        "min_seats": 2,
        "required_roles": ["admin"],
        "seat_managers": ["admin"],
        "member_managers": ["admin"],
    },
}
_PRICES = {"currency": "EUR", "interval": "month", "seat_price": "10.00"}


def build_policy(spec: str, **overrides: Any) -> Policy:
    """The seed policy named first in ``spec``, with single keys overridden, either as keywords
    (``count_deactivated=True``) or in ``spec`` as JSON values (``"plaky max_seats=3"``)."""
    name, *pairs = spec.split()
    for pair in pairs:
        key, _, value = pair.partition("=")
        overrides[key] = json.loads(value)
    return policy_from_mapping(merge_policy(_PRICES | SEED_POLICIES[name], overrides))


def email(name: str) -> str:
    """``"ana"`` -> ``"ana@x.test"``; a full address is kept."""
    return name if "@" in name else f"{name}@x.test"


def build_roster(*lines: str) -> Roster:
    """A roster from member lines (see the module docstring)."""
    roster = Roster()
    for line in (part for text in lines for part in text.split(";") if part.strip()):
        who, status, *roles = line.split()
        name, _, workspace = who.partition("/")
        grants = []
        for text in roles:
            role, _, scope = text.partition(":")
            grants.append(RoleGrant(role, scope or None))
        roster = roster.put(
            Member(email(name), workspace or "main", MemberStatus(status), frozenset(grants))
        )
    return roster


@pytest.fixture
def seed_policy() -> Callable[..., Policy]:
    return build_policy


@pytest.fixture
def roster_of() -> Callable[..., Roster]:
    return build_roster
