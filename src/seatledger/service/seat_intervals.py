"""Writing the seat ledger's intervals: what a change did to who holds a seat, and why.

The gateway calls ``record_seat_intervals`` wherever a change is written (``save_state`` /
``create_state``), in the change's transaction and under the subscription's lock, with the roster
as it was stored before the change. The domain (``interval_changes``) says which holdings closed
and opened; the reason is read from what the use case did (its audit actions), and an expiry is
always dated at the grant's own instant. People are named by person id, so the intervals outlive
an erased e-mail address.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from seatledger.domain.seat_intervals import (
    HoldingChange,
    IntervalReason,
    SeatInterval,
    interval_changes,
)
from seatledger.domain.seats import Roster
from seatledger.service.ports import SubscriptionStatus, UnitOfWork
from seatledger.service.state import Effects, SubscriptionState

# The audit action of each use case that can change who holds a seat, and what it means for the
# holdings it starts or ends. Time's own actions (``expire_roles``) are dated by the domain.
REASONS: dict[str, IntervalReason] = {
    "subscribe": IntervalReason.SUBSCRIBE,
    "invite_members": IntervalReason.INVITE,
    "accept_invite": IntervalReason.ACCEPT,
    "assign_role": IntervalReason.ROLE_CHANGE,
    "remove_role": IntervalReason.ROLE_CHANGE,
    "transfer_ownership": IntervalReason.ROLE_CHANGE,
    "deactivate_member": IntervalReason.DEACTIVATION,
    "reactivate_member": IntervalReason.REACTIVATION,
    "delete_member": IntervalReason.DELETION,
    "expire_roles": IntervalReason.EXPIRY,
    "cancel_subscription": IntervalReason.CANCELLATION,
    "end_subscription": IntervalReason.CANCELLATION,
}


def change_reason(effects: Effects) -> IntervalReason:
    """Why the holdings of this change started or ended: the last audited action that names a
    reason (a use case audits its own action last, after the renewals and expiries it ran)."""
    for entry in reversed(effects.audit):
        if entry.action in REASONS:
            return REASONS[entry.action]
    return IntervalReason.CHANGE


def record_seat_intervals(
    uow: UnitOfWork,
    state: SubscriptionState,
    effects: Effects,
    *,
    at: datetime,
    before: Roster | None = None,
    after: Roster | None = None,
    person_ids: Mapping[str, str] | None = None,
) -> None:
    """Close and open the seat intervals the change written at ``at`` made.

    ``before`` is the stored roster (workspaces by id) before the change, read here when not
    given; call this before the roster is saved if so. ``after`` is the state's roster with
    workspaces by id, when the caller has it already. ``person_ids`` (e-mail -> person id) saves
    the look-ups the caller already made; anyone missing is looked up, or created as the roster
    save would. A canceled subscription's holdings all end when it ended.
    """
    account_id, sub_id = state.account_id, state.subscription_id
    if before is None:
        before = uow.rosters.get(account_id, list(state.workspace_ids.values()))
    reason = change_reason(effects)
    if state.status is SubscriptionStatus.CANCELED:
        after, when, reason = Roster(), state.canceled_at or at, IntervalReason.CANCELLATION
    else:
        after = state.roster.renamed(state.workspace_ids) if after is None else after
        when = at
    changes = interval_changes(before, after, state.policy, when, reason)
    if not changes.closed and not changes.opened:
        return
    people = dict(person_ids or {})

    def person_of(change: HoldingChange) -> str:
        email = change.holding.email
        if email not in people:
            people[email] = uow.persons.ensure(account_id, email, at=at).id
        return people[email]

    for change in changes.closed:
        holding = change.holding
        uow.seat_intervals.close(
            account_id,
            sub_id,
            person_id=person_of(change),
            workspace_id=holding.workspace,
            role=holding.role,
            scope=holding.scope,
            kind=holding.kind,
            at=change.at,
            reason=change.reason,
        )
    uow.seat_intervals.add(
        account_id,
        sub_id,
        [
            SeatInterval(
                person=person_of(change),
                workspace=change.holding.workspace,
                role=change.holding.role,
                scope=change.holding.scope,
                kind=change.holding.kind,
                started_at=change.at,
                start_reason=change.reason,
            )
            for change in changes.opened
        ],
    )
