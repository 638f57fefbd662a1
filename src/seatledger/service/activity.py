"""Use cases of fair billing (``inactive_after``): record that members used the product.

A product reports activity as it happens (one member, or a batch). Each report moves the member's
``last_active_at``; a member fair billing had stopped billing is billed again from the instant of
the report, prorated as any new seat (``proration.on_increase``), with a ledger row
(``member_active``) and an audit row (``mark_active``). Going inactive is the passing of time, run
by the billing engine's ``advance`` like a role expiry (``member_inactive`` / ``mark_inactive``).

A report is accepted for any member of the workspace. It is kept only for seat holders of a
subscription whose policy has ``inactive_after``; otherwise it changes nothing and says so
(``tracked: false``), so a product can report activity whatever the plan. Members report their own
activity; reporting someone else's needs a role of ``member_managers``. A batch is one
transaction: every report is kept, or none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from seatledger.domain.decisions import Action, require_permission
from seatledger.domain.errors import InvalidInput, NotFound
from seatledger.domain.fair_billing import report_activity
from seatledger.domain.money import Money
from seatledger.domain.periods import require_utc
from seatledger.domain.seats import normalize_email, seat_holders
from seatledger.service.billing_engine import advance, follow_usage, snapshot
from seatledger.service.changes import actor_roles
from seatledger.service.context import Services
from seatledger.service.credit_locks import load_locked_states, refresh_balance
from seatledger.service.gateway import save_state, subscription_for
from seatledger.service.results import InvoiceView, credit_created
from seatledger.service.state import (
    AuditEntry,
    Effects,
    Event,
    SubscriptionState,
    SubscriptionStatus,
)
from seatledger.service.test_clocks import now_of

# A batch report names at most this many members: one request, one transaction, one lock each.
MAX_BATCH = 1000


@dataclass(frozen=True)
class ActivityReport:
    """One member's activity: ``active_at`` None means "now" (the subscription's clock)."""

    workspace: str
    email: str
    active_at: datetime | None = None


@dataclass(frozen=True)
class ActivityOutcome:
    """What one report did. ``tracked``: kept for fair billing; ``billed``: the member's seat is
    billed after it; ``back``: it was not before (billed again from ``at``)."""

    workspace: str
    email: str
    at: datetime
    last_active_at: datetime | None
    tracked: bool
    billed: bool
    back: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace,
            "email": self.email,
            "at": self.at,
            "last_active_at": self.last_active_at,
            "tracked": self.tracked,
            "billed": self.billed,
            "back": self.back,
        }


@dataclass(frozen=True)
class ActivityResult:
    """Every report's outcome, in the order given, and the money the returns moved."""

    outcomes: tuple[ActivityOutcome, ...]
    invoices: tuple[InvoiceView, ...] = ()
    credited: dict[str, Money] = field(default_factory=dict)


def record_activity(
    svc: Services,
    *,
    account_id: str,
    workspace: str,
    actor: str,
    email: str,
    active_at: datetime | None = None,
) -> ActivityResult:
    """Record that ``email`` used the product in ``workspace`` at ``active_at`` (default now)."""
    return record_activities(
        svc,
        account_id=account_id,
        actor=actor,
        reports=[ActivityReport(workspace=workspace, email=email, active_at=active_at)],
    )


def record_activities(
    svc: Services, *, account_id: str, actor: str, reports: Sequence[ActivityReport]
) -> ActivityResult:
    """Record a batch of reports in one transaction; a refusal of any refuses them all.

    Subscriptions are locked in id order (the batch may span several), each brought up to date
    (renewals, expiries and members going inactive due by now) before its reports apply."""
    if not reports:
        raise InvalidInput("activity", "must list at least one report")
    if len(reports) > MAX_BATCH:
        raise InvalidInput("activity", f"lists at most {MAX_BATCH} reports, got {len(reports)}")
    with svc.uow() as uow:
        by_subscription: dict[str, list[int]] = {}
        for index, report in enumerate(reports):
            sub = subscription_for(uow, account_id, report.workspace)
            by_subscription.setdefault(sub.id, []).append(index)
        outcomes: dict[int, ActivityOutcome] = {}
        invoices: list[InvoiceView] = []
        credited: dict[str, Money] = {}
        states = load_locked_states(uow, account_id, by_subscription)
        for position, state in enumerate(states):
            sub_id = state.subscription_id
            if position > 0:
                refresh_balance(uow, state)  # the one before it may have moved it
            effects = Effects()
            at = now_of(uow, state, svc.clock)
            advance(state, effects, until=at)
            book = state.activity
            for index in by_subscription[sub_id]:
                outcomes[index] = _apply(state, effects, reports[index], actor=actor, at=at)
            if effects == Effects() and state.activity is book:
                # Nothing fell due and no report was kept (fair billing off, or no seat held):
                # the report changes nothing, not even the subscription's version.
                continue
            invoices.extend(save_state(uow, state, effects, at=at))
            credit = credit_created(effects, state.policy.currency)
            if not credit.is_zero:
                currency = state.policy.currency
                credited[currency] = credited.get(currency, Money.zero(currency)) + credit
        uow.commit()
    return ActivityResult(
        outcomes=tuple(outcomes[i] for i in range(len(reports))),
        invoices=tuple(invoices),
        credited=credited,
    )


def _apply(
    state: SubscriptionState,
    effects: Effects,
    report: ActivityReport,
    *,
    actor: str,
    at: datetime,
) -> ActivityOutcome:
    person = normalize_email(report.email)
    active_at = at if report.active_at is None else require_utc(report.active_at, "at")
    if active_at > at:
        raise InvalidInput("at", f"must not be later than now ({at.isoformat()})")
    if state.roster.find(person, report.workspace) is None:
        raise NotFound(kind="member", key=person)
    if normalize_email(actor) != person:
        roles = actor_roles(state, report.workspace, actor, at)
        require_permission(state.policy, roles, Action.MANAGE_MEMBERS)
    after = state.policy.inactive_after
    holder = person in seat_holders(state.roster, state.policy, at)
    if after is None or not holder or state.status is not SubscriptionStatus.ACTIVE:
        return ActivityOutcome(
            report.workspace, person, at, None, tracked=False, billed=holder, back=False
        )
    result = report_activity(
        state.activity, person, active_at=active_at, now=at, inactive_after=after
    )
    state.activity = result.book
    if result.back:
        before = snapshot(state, at)
        follow_usage(state, effects, at=at, reason="member_active", email=person)
        effects.audit.append(
            AuditEntry(
                at=at,
                actor=actor,
                action="mark_active",
                target=person,
                before=before,
                after=snapshot(state, at),
            )
        )
        effects.events.append(
            Event("member.active", {"workspace": report.workspace, "person": person})
        )
    entry = state.activity.entries[person]
    return ActivityOutcome(
        report.workspace,
        person,
        at,
        entry.last_active_at,
        tracked=True,
        billed=entry.inactive_at is None,
        back=result.back,
    )
