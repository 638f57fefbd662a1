"""Who may do what: the roles a policy lets manage seats and billing, or members.

Rallly lets only the space owner manage seats ("admins can access space settings but not
billing"); Plaky lets every Admin add and remove seats. The policy names the roles
(``seat_managers``, ``member_managers``), and this module is the one place that reads them.
"""

from __future__ import annotations

from enum import StrEnum

from seatledger.domain.errors import NotPermitted
from seatledger.domain.policy import Policy


class Action(StrEnum):
    MANAGE_SEATS = "manage_seats"  # change the seat count, the plan, add-ons, billing details
    MANAGE_MEMBERS = "manage_members"  # invite, change roles, deactivate, delete, transfer


# The wording of each action inside the refusal: "Only owner may manage seats and billing."
_WORDING = {
    Action.MANAGE_SEATS: "manage seats and billing",
    Action.MANAGE_MEMBERS: "manage members",
}


def allowed_roles(policy: Policy, action: Action) -> tuple[str, ...]:
    """The roles ``policy`` lets perform ``action``, in the policy's order."""
    return policy.seat_managers if action is Action.MANAGE_SEATS else policy.member_managers


def require_permission(policy: Policy, actor_roles: frozenset[str], action: Action) -> None:
    """Refuse with ``NotPermitted`` unless one of ``actor_roles`` may perform ``action``.

    ``actor_roles`` are the actor's live roles (``Member.roles_at``), in whichever workspace the
    caller judges; holding any one allowed role is enough.

    Example (Rallly, ``seat_managers: [owner]``): an actor with roles ``{"admin"}`` asking for
    ``Action.MANAGE_SEATS`` is refused with "Only owner may manage seats and billing."
    """
    allowed = allowed_roles(policy, action)
    if actor_roles.isdisjoint(allowed):
        raise NotPermitted(action=_WORDING[action], allowed_roles=allowed)
