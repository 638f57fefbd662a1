"""Who acts, and what the account lets them see and manage beyond one workspace.

Every request to the HTTP API acts as a person of the account (``Caller``). Inside a workspace
the policy decides (``seat_managers``, ``member_managers``: the use cases check them). Account
matters (API keys, webhooks, invoices, the credit balance, the audit log, test clocks, new
subscriptions) belong to the **account managers**: the people who may manage seats and billing
(the policy's ``seat_managers``) as active members of some workspace of the account. An account
without any subscription yet has no such role to hold, so there every person of the account (the
one who signed up) manages it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from seatledger.domain.errors import NotPermitted
from seatledger.domain.seats import MemberStatus
from seatledger.service.context import Services
from seatledger.service.ports import Subscription, UnitOfWork

MANAGE_ACCOUNT = "manage this account"


@dataclass(frozen=True)
class Caller:
    """The person a request acts as, in the account its key opens."""

    account_id: str
    key_id: str
    person_id: str
    email: str


def _at(uow: UnitOfWork, subscription: Subscription, now: datetime) -> datetime:
    # A subscription on a test clock lives at the clock's time: roles expire by that time.
    if subscription.test_clock_id is None:
        return now
    return uow.test_clocks.get(subscription.account_id, subscription.test_clock_id).now_at


def live_roles(
    uow: UnitOfWork, account_id: str, email: str, now: datetime
) -> dict[str, frozenset[str]]:
    """Workspace id -> the live roles ``email`` holds there as an active member."""
    roles: dict[str, frozenset[str]] = {}
    for subscription in uow.subscriptions.for_account(account_id):
        workspaces = uow.subscriptions.workspace_ids(account_id, subscription.id)
        at = _at(uow, subscription, now)
        for member in uow.rosters.get(account_id, workspaces).members:
            if member.email == email and member.status is MemberStatus.ACTIVE:
                roles[member.workspace] = member.roles_at(at)
    return roles


def _manager_roles(subscriptions: Iterable[Subscription]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for subscription in subscriptions:
        seen.update(dict.fromkeys(subscription.policy.seat_managers))
    return tuple(seen)


def is_account_manager(uow: UnitOfWork, account_id: str, email: str, now: datetime) -> bool:
    """Whether ``email`` holds one of a policy's ``seat_managers`` roles, as an active member, in
    a workspace that policy's subscription covers (or the account has no subscription yet)."""
    subscriptions = uow.subscriptions.for_account(account_id)
    if not subscriptions:
        return uow.persons.find_by_email(account_id, email) is not None
    for subscription in subscriptions:
        workspaces = uow.subscriptions.workspace_ids(account_id, subscription.id)
        at = _at(uow, subscription, now)
        for member in uow.rosters.get(account_id, workspaces).members:
            if (
                member.email == email
                and member.status is MemberStatus.ACTIVE
                and not member.roles_at(at).isdisjoint(subscription.policy.seat_managers)
            ):
                return True
    return False


def require_account_manager(uow: UnitOfWork, caller: Caller, now: datetime) -> None:
    """Refuse with ``NotPermitted`` unless the caller manages the account."""
    if not is_account_manager(uow, caller.account_id, caller.email, now):
        roles = _manager_roles(uow.subscriptions.for_account(caller.account_id))
        raise NotPermitted(action=MANAGE_ACCOUNT, allowed_roles=roles)


def require_manager(svc: Services, caller: Caller) -> None:
    """``require_account_manager`` in a unit of work of its own (for reads)."""
    with svc.uow() as uow:
        require_account_manager(uow, caller, svc.clock.now())


def require_workspace_reader(
    uow: UnitOfWork, caller: Caller, workspace_id: str, now: datetime
) -> None:
    """A workspace's seats and members are shown to its active members and to account managers;
    anyone else of the account is refused with ``NotPermitted``."""
    if workspace_id in live_roles(uow, caller.account_id, caller.email, now):
        return
    if is_account_manager(uow, caller.account_id, caller.email, now):
        return
    raise NotPermitted(
        action="see this workspace", allowed_roles=("its members and account managers",)
    )


def require_account_member(uow: UnitOfWork, caller: Caller, now: datetime) -> None:
    """The account's workspaces and subscriptions are shown to anyone active in one of them, and
    to account managers; a person who is only invited (or deactivated) is refused."""
    if live_roles(uow, caller.account_id, caller.email, now):
        return
    if is_account_manager(uow, caller.account_id, caller.email, now):
        return
    raise NotPermitted(
        action="see this account", allowed_roles=("active members and account managers",)
    )
