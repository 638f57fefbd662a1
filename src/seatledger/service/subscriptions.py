"""Use cases on a subscription: subscribe, change the seat count (and preview it), add-ons, cancel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from seatledger.domain import decisions
from seatledger.domain.billing import SeatBilling, renewal_lines
from seatledger.domain.decisions import Action
from seatledger.domain.errors import BelowUsedSeats, InvalidInput, NotFound
from seatledger.domain.invoices import lines_total
from seatledger.domain.money import Money
from seatledger.domain.periods import Period, period_index_at, period_n
from seatledger.domain.policy import Policy, SeatMode
from seatledger.domain.seats import (
    Member,
    MemberStatus,
    RoleGrant,
    Roster,
    SeatUsage,
    normalize_email,
    seat_holders,
)
from seatledger.service.billing_engine import (
    bill_seat_change,
    cancel_now,
    change_addon,
    open_subscription,
    record,
    snapshot,
)
from seatledger.service.changes import Mutation, change_subscription
from seatledger.service.context import Services
from seatledger.service.credit_locks import guard_balance
from seatledger.service.gateway import create_state, credit_balance, load_state
from seatledger.service.results import ChangeResult, credit_created
from seatledger.service.state import (
    AuditEntry,
    Effects,
    Event,
    SubscriptionState,
    SubscriptionStatus,
)
from seatledger.service.test_clocks import now_of


def first_billing_period(
    policy: Policy, start: datetime, anchor_at: datetime | None
) -> tuple[datetime, Period]:
    """The anchor and the (full) period the subscription starts in.

    Without an anchor the subscription renews every interval from ``start``. With an anchor (the
    first renewal instant) the leading partial period ``[start, anchor)`` is billed as a share of
    the full period that ends at the anchor; the anchor must lie within one interval of ``start``.
    """
    if anchor_at is None or anchor_at == start:
        return start, period_n(start, policy.interval, 0)
    if anchor_at < start:
        raise InvalidInput(
            "anchor", f"must not be before the subscription starts ({start.isoformat()})"
        )
    period = period_n(anchor_at, policy.interval, -1)
    if start < period.start:
        raise InvalidInput(
            "anchor", f"must be within one {policy.interval} of the start ({start.isoformat()})"
        )
    return anchor_at, period


def subscribe(
    svc: Services,
    *,
    account_id: str,
    policy: Policy,
    preset: str | None,
    workspaces: Sequence[str],
    owner_email: str,
    seats: int,
    anchor_at: datetime | None = None,
    test_clock_id: str | None = None,
) -> ChangeResult:
    """Create a subscription covering ``workspaces`` (a bundle when several), its owner holding the
    policy's owner role in each of them (one person: one seat), and issue the first invoice in
    advance.

    With ``test_clock_id`` the subscription lives on that test clock of the account from the
    start: it begins at the clock's time (see ``service/test_clocks.py``)."""
    if not workspaces:
        raise InvalidInput("workspaces", "must name at least one workspace")
    owner = normalize_email(owner_email)
    at = svc.clock.now()
    if test_clock_id is not None:
        with svc.uow() as uow:
            at = uow.test_clocks.get(account_id, test_clock_id).now_at
    anchor, period = first_billing_period(policy, at, anchor_at)
    # A bundle's buyer owns every workspace it covers, so they manage each one.
    roster = Roster(
        tuple(
            Member(owner, name, MemberStatus.ACTIVE, frozenset({RoleGrant(policy.owner_role)}))
            for name in dict.fromkeys(workspaces)
        )
    )
    decisions.check_seat_count(policy, SeatUsage(total=seats, used=0), seats)
    if policy.seat_mode is SeatMode.AUTOMATIC:
        # Seats follow the members: starting with any other count would bill seats nobody uses,
        # then credit them back at the first roster change.
        follows = max(len(seat_holders(roster, policy, at)), policy.min_seats or 0)
        if seats != follows:
            raise InvalidInput(
                "seats",
                f"follow the members in automatic seat mode: a subscription starts with {follows}, "
                f"got {seats}",
            )
    state = SubscriptionState(
        account_id=account_id,
        subscription_id="",
        policy=policy,
        preset=preset,
        anchor_at=anchor,
        billing=SeatBilling(
            period=period, seats_total=seats, seats_at_renewal=seats, seats_paid=seats
        ),
        roster=Roster(),
        workspaces=tuple(workspaces),
        test_clock_id=test_clock_id,
    )
    decisions.check_seat_limit(Roster(), roster, policy, seats, at)
    state.roster = roster
    effects = Effects()
    with svc.uow() as uow:
        state.balance = credit_balance(uow, account_id, policy.currency)
        guard_balance(uow, state)
        open_subscription(state, effects, start=at)
        effects.events.append(
            Event("subscription.created", {"workspaces": list(workspaces), "seats": seats})
        )
        effects.audit.append(
            AuditEntry(
                at=at,
                actor=owner,
                action="subscribe",
                target=",".join(dict.fromkeys(workspaces)),
                before={},
                after=snapshot(state, at),
            )
        )
        invoices = create_state(uow, state, effects, at=at)
        uow.commit()
    return ChangeResult(
        seats=state.usage(at),
        invoices=tuple(invoices),
        credited=credit_created(effects, policy.currency),
        balance=state.credit_balance,
        detail={"subscription_id": state.subscription_id},
    )


def _seat_count_mutation(requested: int) -> Mutation:
    def mutate(state: SubscriptionState, effects: Effects, at: datetime) -> None:
        if state.policy.seat_mode is SeatMode.AUTOMATIC:
            raise InvalidInput(
                "seats",
                "follow the members in automatic seat mode: invite or deactivate members instead",
            )
        usage = state.usage(at)
        # Add-on packs hold seats of their own: the bought count only has to cover the rest.
        decisions.check_seat_count(
            state.policy, replace(usage, used=max(0, usage.used - state.addon_seats)), requested
        )
        bill_seat_change(state, effects, at=at, new_total=requested, reason="seats_changed")
        effects.events.append(
            Event(
                "seats.changed",
                {"seats_total": state.capacity, "seats_at_renewal": state.billing.seats_at_renewal},
            )
        )

    return mutate


def change_seat_count(
    svc: Services, *, account_id: str, workspace: str, actor: str, seats: int
) -> ChangeResult:
    """Buy or release seats (the new total). Only the policy's seat managers may."""
    return change_subscription(
        svc,
        account_id=account_id,
        workspace=workspace,
        actor=actor,
        action="change_seat_count",
        target=str(seats),
        permission=Action.MANAGE_SEATS,
        mutate=_seat_count_mutation(seats),
    )


@dataclass(frozen=True)
class SeatChangePreview:
    """What a seat change would cost, computed exactly as the change would be, and not made."""

    result: ChangeResult
    next_invoice_total: Money
    next_invoice_period: Period


def preview_seat_change(
    svc: Services, *, account_id: str, workspace: str, actor: str, seats: int
) -> SeatChangePreview:
    """The charge or credit of moving to ``seats`` now, and the next renewal invoice's total."""
    captured: list[SubscriptionState] = []
    inner = _seat_count_mutation(seats)

    def mutate(state: SubscriptionState, effects: Effects, at: datetime) -> None:
        inner(state, effects, at)
        captured.append(state)

    result = change_subscription(
        svc,
        account_id=account_id,
        workspace=workspace,
        actor=actor,
        action="preview_seat_change",
        target=str(seats),
        permission=Action.MANAGE_SEATS,
        mutate=mutate,
        write=False,
    )
    state = captured[0]
    index = period_index_at(state.anchor_at, state.policy.interval, state.billing.period.end)
    period = period_n(state.anchor_at, state.policy.interval, index)
    lines = [
        *state.pending,
        *renewal_lines(
            state.policy,
            period=period,
            seats_at_renewal=state.billing.seats_at_renewal,
            addons=state.addons,
        ),
    ]
    total = lines_total(lines, state.policy.currency)
    available = state.credit_balance
    next_total = max(
        Money.zero(state.policy.currency),
        total - min(available, total) if total.amount > 0 else total,
    )
    return SeatChangePreview(
        result=result, next_invoice_total=next_total, next_invoice_period=period
    )


def set_addon(
    svc: Services, *, account_id: str, workspace: str, actor: str, name: str, count: int
) -> ChangeResult:
    """Set the number of packs of add-on ``name`` (0 removes it); billed like seats."""

    def mutate(state: SubscriptionState, effects: Effects, at: datetime) -> None:
        if name not in state.policy.addons:
            raise NotFound(kind="add-on", key=name)
        if count < 0:
            raise InvalidInput("count", f"must be a whole number >= 0, got {count}")
        old = state.addons.get(name, 0)
        if count < old:
            usage = state.usage(at)
            remaining = state.capacity - (old - count) * state.policy.addons[name].seats
            if usage.used > remaining and state.policy.remove_only_unused:
                raise BelowUsedSeats(requested=remaining, used=usage.used)
        change_addon(state, effects, at=at, name=name, new_count=count)
        effects.events.append(Event("addon.changed", {"name": name, "count": count}))

    return change_subscription(
        svc,
        account_id=account_id,
        workspace=workspace,
        actor=actor,
        action="set_addon",
        target=f"{name}={count}",
        permission=Action.MANAGE_SEATS,
        mutate=mutate,
    )


def addon_count(svc: Services, *, account_id: str, workspace: str, name: str) -> int:
    with svc.uow() as uow:
        state = load_state(uow, account_id, workspace, lock=False)
    return state.addons.get(name, 0)


def cancel_subscription(
    svc: Services, *, account_id: str, workspace: str, actor: str, at_period_end: bool
) -> ChangeResult:
    """Cancel at the end of the paid period (no further invoice), or now.

    Canceling now ends the service at once; unused seat time is credited as the policy's
    ``on_decrease`` says, the base fee is not refunded.
    """

    def mutate(state: SubscriptionState, effects: Effects, at: datetime) -> None:
        if state.status is not SubscriptionStatus.ACTIVE:
            raise InvalidInput("subscription", "is already canceled")
        if at_period_end:
            state.cancel_at_period_end = True
            # Nothing moves now, but the next renewal will not come: the ledger says so.
            record(state, effects, at, "cancel_scheduled")
        else:
            cancel_now(state, effects, at=at)
        effects.events.append(Event("subscription.canceled", {"at_period_end": at_period_end}))

    return change_subscription(
        svc,
        account_id=account_id,
        workspace=workspace,
        actor=actor,
        action="cancel_subscription",
        target=workspace,
        permission=Action.MANAGE_SEATS,
        mutate=mutate,
    )


def seat_usage_of(svc: Services, *, account_id: str, workspace: str) -> SeatUsage:
    """Seats total / used / available now, for the subscription covering ``workspace``."""
    with svc.uow() as uow:
        state = load_state(uow, account_id, workspace, lock=False)
        at = now_of(uow, state, svc.clock)
    return state.usage(at)
