"""What an account holds, read back for a caller: workspaces, subscriptions, members, invoices,
credit, the audit log and the seat ledger.

Reads take no lock and change nothing. Each checks what the caller may see (``service/access``):
a workspace's seats and members are for its active members and the account managers; the list of
workspaces and subscriptions for anyone active in the account; money and history (invoices,
credit, audit log, ledger) for the account managers. Anything of another account is simply not
found: every read is keyed by the caller's account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seatledger.domain.errors import NotFound
from seatledger.domain.money import Money
from seatledger.domain.policy import Addon
from seatledger.domain.seats import MemberStatus, RoleGrant, SeatUsage, seat_holders
from seatledger.service.access import (
    Caller,
    live_roles,
    require_account_manager,
    require_account_member,
    require_workspace_reader,
)
from seatledger.service.context import Services
from seatledger.service.gateway import load_state_by_id
from seatledger.service.ports import (
    Account,
    AuditRecord,
    CreditEntry,
    Invoice,
    LedgerRecord,
    Subscription,
    TestClock,
    UnitOfWork,
    Workspace,
)
from seatledger.service.state import SubscriptionState
from seatledger.service.test_clocks import now_of


@dataclass(frozen=True)
class WorkspaceView:
    workspace: Workspace
    subscription_id: str | None


@dataclass(frozen=True)
class SubscriptionView:
    """A subscription with the workspaces it covers (a bundle when more than one), its seats now
    and its add-on packs."""

    subscription: Subscription
    workspaces: tuple[Workspace, ...]
    seats: SeatUsage
    addons: dict[str, int]
    at: datetime


@dataclass(frozen=True)
class MemberView:
    """One person's membership of a workspace."""

    person_id: str
    email: str
    status: MemberStatus
    grants: tuple[RoleGrant, ...]
    uses_seat: bool


@dataclass(frozen=True)
class AddonView:
    name: str
    addon: Addon
    count: int


def account(svc: Services, *, caller: Caller) -> Account:
    with svc.uow() as uow:
        return uow.accounts.get(caller.account_id)


def workspaces(svc: Services, *, caller: Caller) -> list[WorkspaceView]:
    """The account's workspaces by name, each with the subscription covering it (if any)."""
    with svc.uow() as uow:
        require_account_member(uow, caller, svc.clock.now())
        return [
            WorkspaceView(ws, _covering(uow, ws))
            for ws in uow.workspaces.for_account(caller.account_id)
        ]


def workspace(svc: Services, *, caller: Caller, workspace_id: str) -> WorkspaceView:
    with svc.uow() as uow:
        found = uow.workspaces.get(caller.account_id, workspace_id)
        require_workspace_reader(uow, caller, found.id, svc.clock.now())
        return WorkspaceView(found, _covering(uow, found))


def workspace_name(svc: Services, *, caller: Caller, workspace_id: str) -> str:
    """The name the use cases know a workspace by; ``NotFound`` outside the caller's account."""
    with svc.lookup() as uow:
        return uow.workspaces.get(caller.account_id, workspace_id).name


def person_email(svc: Services, *, caller: Caller, person_id: str) -> str:
    """The e-mail of a person of the caller's account; an erased person is not found."""
    with svc.lookup() as uow:
        person = uow.persons.get(caller.account_id, person_id)
    if person.email is None:
        raise NotFound(kind="person", key=person_id)
    return person.email


def _covering(uow: UnitOfWork, ws: Workspace) -> str | None:
    found = uow.subscriptions.find_for_workspace(ws.account_id, ws.id)
    return found.id if found is not None else None


def _view(uow: UnitOfWork, svc: Services, subscription: Subscription) -> SubscriptionView:
    state = load_state_by_id(uow, subscription.account_id, subscription.id, lock=False)
    at = now_of(uow, state, svc.clock)
    ids = uow.subscriptions.workspace_ids(subscription.account_id, subscription.id)
    covered = tuple(
        sorted((uow.workspaces.get(subscription.account_id, i) for i in ids), key=lambda w: w.name)
    )
    return SubscriptionView(
        subscription=subscription,
        workspaces=covered,
        seats=state.usage(at),
        addons=dict(state.addons),
        at=at,
    )


def subscriptions(svc: Services, *, caller: Caller) -> list[SubscriptionView]:
    """The account's subscriptions, oldest first."""
    with svc.uow() as uow:
        require_account_member(uow, caller, svc.clock.now())
        found = sorted(
            uow.subscriptions.for_account(caller.account_id), key=lambda s: (s.created_at, s.id)
        )
        return [_view(uow, svc, s) for s in found]


def subscription_as_written(
    svc: Services, *, account_id: str, subscription_id: str
) -> SubscriptionView:
    """A subscription just written by a use case that checked who acts (no check here)."""
    with svc.uow() as uow:
        return _view(uow, svc, uow.subscriptions.get(account_id, subscription_id))


def managing_workspace(svc: Services, *, caller: Caller, subscription_id: str) -> str:
    """The workspace of a subscription's bundle in which the caller's roles are judged for a
    change to the whole subscription (cancel): the first, by name, where they hold a seat
    manager role, else the first (where the use case refuses them)."""
    with svc.uow() as uow:
        sub = uow.subscriptions.get(caller.account_id, subscription_id)
        roles = live_roles(uow, caller.account_id, caller.email, svc.clock.now())
        ids = uow.subscriptions.workspace_ids(caller.account_id, sub.id)
        covered = [uow.workspaces.get(caller.account_id, i) for i in ids]
    named = sorted(covered, key=lambda w: w.name)
    for ws in named:
        if not roles.get(ws.id, frozenset()).isdisjoint(sub.policy.seat_managers):
            return ws.name
    return named[0].name


def subscription(svc: Services, *, caller: Caller, subscription_id: str) -> SubscriptionView:
    with svc.uow() as uow:
        found = uow.subscriptions.get(caller.account_id, subscription_id)
        require_account_member(uow, caller, svc.clock.now())
        return _view(uow, svc, found)


def _state_of_workspace(
    uow: UnitOfWork, svc: Services, caller: Caller, workspace_id: str
) -> tuple[Workspace, SubscriptionState, datetime]:
    ws = uow.workspaces.get(caller.account_id, workspace_id)
    require_workspace_reader(uow, caller, ws.id, svc.clock.now())
    sub = uow.subscriptions.find_for_workspace(caller.account_id, ws.id)
    if sub is None:
        raise NotFound(kind="subscription for workspace", key=ws.id)
    state = load_state_by_id(uow, caller.account_id, sub.id, lock=False)
    return ws, state, now_of(uow, state, svc.clock)


def seats(svc: Services, *, caller: Caller, workspace_id: str) -> SubscriptionView:
    """The seats of the subscription covering the workspace (shared by its whole bundle)."""
    with svc.uow() as uow:
        ws = uow.workspaces.get(caller.account_id, workspace_id)
        require_workspace_reader(uow, caller, ws.id, svc.clock.now())
        sub = uow.subscriptions.find_for_workspace(caller.account_id, ws.id)
        if sub is None:
            raise NotFound(kind="subscription for workspace", key=ws.id)
        return _view(uow, svc, sub)


def members(svc: Services, *, caller: Caller, workspace_id: str) -> list[MemberView]:
    """The workspace's memberships by e-mail, pending and deactivated ones included."""
    with svc.uow() as uow:
        ws, state, at = _state_of_workspace(uow, svc, caller, workspace_id)
        holders = seat_holders(state.roster, state.policy, at)
        roles = (*state.policy.billable_roles, *state.policy.free_roles)
        order = {role: i for i, role in enumerate(roles)}
        views = []
        for member in state.roster.members:
            if member.workspace != ws.name:
                continue
            person = uow.persons.find_by_email(caller.account_id, member.email)
            if person is None:
                raise NotFound(kind="person", key=member.email)
            grants = sorted(
                member.grants, key=lambda g: (order.get(g.role, len(order)), g.scope or "")
            )
            views.append(
                MemberView(
                    person_id=person.id,
                    email=member.email,
                    status=member.status,
                    grants=tuple(grants),
                    uses_seat=member.email in holders,
                )
            )
    return sorted(views, key=lambda v: v.email)


def addons(svc: Services, *, caller: Caller, workspace_id: str) -> list[AddonView]:
    """Every add-on the plan offers, with the packs bought now."""
    with svc.uow() as uow:
        _, state, _ = _state_of_workspace(uow, svc, caller, workspace_id)
    return [
        AddonView(name, addon, state.addons.get(name, 0))
        for name, addon in sorted(state.policy.addons.items())
    ]


def invoices(svc: Services, *, caller: Caller) -> tuple[Invoice, ...]:
    """The account's invoices and credit notes in number order (account managers only)."""
    with svc.uow() as uow:
        require_account_manager(uow, caller, svc.clock.now())
        return uow.invoices.for_account(caller.account_id)


def invoice(svc: Services, *, caller: Caller, invoice_id: str) -> tuple[Account, Invoice]:
    with svc.uow() as uow:
        found = uow.invoices.get(caller.account_id, invoice_id)
        require_account_manager(uow, caller, svc.clock.now())
        return uow.accounts.get(caller.account_id), found


@dataclass(frozen=True)
class CreditView:
    balances: tuple[Money, ...]  # one per currency the account has moved credit in
    entries: tuple[CreditEntry, ...]


def credit(svc: Services, *, caller: Caller) -> CreditView:
    """The credit balance per currency, with every movement (account managers only)."""
    with svc.uow() as uow:
        require_account_manager(uow, caller, svc.clock.now())
        entries = uow.credits.entries(caller.account_id)
        currencies = sorted({e.amount.currency for e in entries})
        for sub in uow.subscriptions.for_account(caller.account_id):
            if sub.policy.currency not in currencies:
                currencies.append(sub.policy.currency)
        balances = tuple(uow.credits.balance(caller.account_id, c) for c in sorted(currencies))
    return CreditView(balances=balances, entries=entries)


def audit_log(svc: Services, *, caller: Caller) -> tuple[AuditRecord, ...]:
    """The account's audit log, oldest first (account managers only). Actors and people appear
    by person id, so an erased person stays erased here too."""
    with svc.uow() as uow:
        require_account_manager(uow, caller, svc.clock.now())
        return uow.audit.entries(caller.account_id)


def ledger(svc: Services, *, caller: Caller, subscription_id: str) -> tuple[LedgerRecord, ...]:
    """A subscription's seat ledger in order (account managers only)."""
    with svc.uow() as uow:
        uow.subscriptions.get(caller.account_id, subscription_id)
        require_account_manager(uow, caller, svc.clock.now())
        return uow.ledger.entries(caller.account_id, subscription_id)


def test_clocks(svc: Services, *, caller: Caller) -> tuple[TestClock, ...]:
    """The account's test clocks, oldest first (account managers only)."""
    with svc.uow() as uow:
        require_account_manager(uow, caller, svc.clock.now())
        return uow.test_clocks.for_account(caller.account_id)
