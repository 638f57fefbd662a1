"""What the admin pages show, read through the service layer's ports (never a database session).

A page reads one subscription's state without taking the seat lock, at the instant the
subscription lives at (its test clock's, or now). When a renewal or a role expiry has fallen due
since the last change, ``billing.bring_up_to_date`` issues it first, so a page never shows seats or
invoices that time has already changed. (``service.listings`` reads for API callers, who hold a
key; these pages read for a signed-in person, and show what the API's views leave out: roles per
scope, free places, the policy.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seatledger.domain.money import Money
from seatledger.domain.periods import Period
from seatledger.domain.permissions import Action, allowed_roles
from seatledger.domain.policy import Policy, SeatMode
from seatledger.domain.seats import (
    MemberStatus,
    RoleGrant,
    SeatUsage,
    free_role_holders,
    seat_holders,
)
from seatledger.service import billing
from seatledger.service.billing_engine import next_due
from seatledger.service.changes import actor_roles
from seatledger.service.context import Services
from seatledger.service.gateway import invoice_view, load_state
from seatledger.service.results import InvoiceView
from seatledger.service.state import SubscriptionState, SubscriptionStatus
from seatledger.service.test_clocks import now_of


@dataclass(frozen=True)
class MemberRow:
    """One person's membership of the workspace, as the Members table lists it."""

    email: str
    status: MemberStatus
    grants: tuple[RoleGrant, ...]  # workspace-level grants (no scope), in policy order
    scoped: tuple[RoleGrant, ...]  # grants in a program / project, by scope then role
    uses_seat: bool
    free_place: bool  # counted against the free allowance (Plaky's free Viewers)

    @property
    def role(self) -> str | None:
        """The workspace-level role the inline role control shows (the first in policy order)."""
        return self.grants[0].role if self.grants else None


@dataclass(frozen=True)
class WorkspaceView:
    """Everything the Members and Billing pages need about the signed-in person's workspace."""

    at: datetime
    account_id: str
    account_name: str
    workspace: str
    workspaces: tuple[str, ...]  # every workspace the subscription covers (a bundle when > 1)
    actor: str
    actor_active: bool
    actor_roles: frozenset[str]
    policy: Policy
    preset: str | None
    status: SubscriptionStatus
    cancel_at_period_end: bool
    period: Period
    seats_bought: int  # the seat count the owner buys (capacity without add-on packs)
    seats_at_renewal: int
    addons: dict[str, int]
    usage: SeatUsage
    rows: tuple[MemberRow, ...]
    balance: Money

    @property
    def can_manage_members(self) -> bool:
        return not self.actor_roles.isdisjoint(allowed_roles(self.policy, Action.MANAGE_MEMBERS))

    @property
    def can_manage_seats(self) -> bool:
        return not self.actor_roles.isdisjoint(allowed_roles(self.policy, Action.MANAGE_SEATS))

    @property
    def manual(self) -> bool:
        return self.policy.seat_mode is SeatMode.MANUAL

    @property
    def at_limit(self) -> bool:
        """Every seat taken (or more): the Members footer warns and links to Billing."""
        return self.manual and self.usage.used >= self.usage.total

    @property
    def invitable_roles(self) -> tuple[str, ...]:
        return (*self.policy.billable_roles, *self.policy.free_roles)


def _rows(state: SubscriptionState, workspace: str, at: datetime) -> tuple[MemberRow, ...]:
    policy = state.policy
    seated = seat_holders(state.roster, policy, at)
    free = free_role_holders(state.roster, policy, at)
    order = {role: i for i, role in enumerate((*policy.billable_roles, *policy.free_roles))}
    rows = []
    for member in state.roster.members:
        if member.workspace != workspace:
            continue
        live = [g for g in member.grants if g.live_at(at)]
        rows.append(
            MemberRow(
                email=member.email,
                status=member.status,
                grants=tuple(
                    sorted((g for g in live if g.scope is None), key=lambda g: order[g.role])
                ),
                scoped=tuple(
                    sorted(
                        (g for g in live if g.scope is not None),
                        key=lambda g: (g.scope or "", order[g.role]),
                    )
                ),
                uses_seat=member.email in seated,
                free_place=member.email in free,
            )
        )
    return tuple(sorted(rows, key=lambda r: r.email))


def _load(
    svc: Services, account_id: str, workspace: str
) -> tuple[SubscriptionState, str, datetime]:
    with svc.uow() as uow:
        state = load_state(uow, account_id, workspace, lock=False)
        name = uow.accounts.get(account_id).name
        # A subscription on a test clock lives at the clock's time, not the wall's.
        at = now_of(uow, state, svc.clock)
    return state, name, at


def workspace_view(svc: Services, *, account_id: str, workspace: str, actor: str) -> WorkspaceView:
    """The workspace as of now, seen by ``actor``; ``NotFound`` for an unknown workspace."""
    state, account_name, at = _load(svc, account_id, workspace)
    due = next_due(state)
    if due is not None and due <= at and state.test_clock_id is None:
        billing.bring_up_to_date(svc, account_id=account_id, until=at)
        state, account_name, at = _load(svc, account_id, workspace)
    member = state.roster.find(actor, workspace)
    return WorkspaceView(
        at=at,
        account_id=account_id,
        account_name=account_name,
        workspace=workspace,
        workspaces=state.workspaces,
        actor=actor,
        actor_active=member is not None and member.status is MemberStatus.ACTIVE,
        actor_roles=actor_roles(state, workspace, actor, at),
        policy=state.policy,
        preset=state.preset,
        status=state.status,
        cancel_at_period_end=state.cancel_at_period_end,
        period=state.billing.period,
        seats_bought=state.billing.seats_total,
        seats_at_renewal=state.billing.seats_at_renewal,
        addons=dict(state.addons),
        usage=state.usage(at),
        rows=_rows(state, workspace, at),
        balance=state.credit_balance,
    )


def invoices_of(svc: Services, *, account_id: str) -> tuple[InvoiceView, ...]:
    """The account's invoices and credit notes, newest first."""
    with svc.uow() as uow:
        invoices = uow.invoices.for_account(account_id)
    issued = [invoice_view(i) for i in invoices if i.issued_at is not None]
    return tuple(reversed(issued))
