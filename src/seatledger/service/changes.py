"""The shape every subscription-changing use case shares.

Open a unit of work, lock the subscription that covers the workspace, bring it up to date (renewals
and expiries due by now), check who acts, apply the change, record the audit row, write everything
and commit, in one transaction. A refusal raises before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from seatledger.domain.decisions import Action, require_permission
from seatledger.domain.errors import Conflict
from seatledger.domain.seats import MemberStatus, normalize_email
from seatledger.service.billing_engine import advance, snapshot
from seatledger.service.context import Services
from seatledger.service.credit_locks import guard_balance
from seatledger.service.gateway import draft_views, load_state, save_state
from seatledger.service.results import ChangeResult, credit_created
from seatledger.service.state import AuditEntry, Effects, SubscriptionState, SubscriptionStatus
from seatledger.service.test_clocks import now_of

Mutation = Callable[[SubscriptionState, Effects, datetime], dict[str, Any] | None]


def actor_roles(
    state: SubscriptionState, workspace: str, actor: str, at: datetime
) -> frozenset[str]:
    """The live roles of an active member acting in ``workspace`` (none for anyone else)."""
    member = state.roster.find(normalize_email(actor), workspace)
    if member is None or member.status is not MemberStatus.ACTIVE:
        return frozenset()
    return member.roles_at(at)


def change_subscription(
    svc: Services,
    *,
    account_id: str,
    workspace: str,
    actor: str,
    action: str,
    target: str,
    permission: Action | None,
    mutate: Mutation,
    write: bool = True,
) -> ChangeResult:
    """Run ``mutate`` on the locked subscription covering ``workspace`` as ``actor``.

    With ``write=False`` (a preview) everything is computed the same way and rolled back.
    """
    with svc.uow() as uow:
        state = load_state(uow, account_id, workspace)
        guard_balance(uow, state)
        at = now_of(uow, state, svc.clock)
        effects = Effects()
        advance(state, effects, until=at)
        if permission is not None:
            require_permission(state.policy, actor_roles(state, workspace, actor, at), permission)
        if state.status is SubscriptionStatus.CANCELED:
            # Its service has ended: a seat or a member changed now would be billed to nobody.
            raise Conflict(f"The subscription covering {workspace!r} is canceled.")
        before = snapshot(state, at)
        detail = mutate(state, effects, at) or {}
        effects.audit.append(
            AuditEntry(
                at=at,
                actor=actor,
                action=action,
                target=target,
                before=before,
                after=snapshot(state, at),
            )
        )
        if write:
            invoices = save_state(uow, state, effects, at=at)
            uow.commit()
        else:
            invoices = draft_views(state, effects.invoices)
            uow.rollback()
    currency = state.policy.currency
    return ChangeResult(
        seats=state.usage(at),
        invoices=tuple(invoices),
        credited=credit_created(effects, currency),
        balance=state.credit_balance,
        detail=detail,
    )
