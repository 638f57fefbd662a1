"""Simulate a pricing change: replay an account's recorded history under another policy.

Nothing is written. One read-only unit of work reads the account's subscriptions, their seat
ledgers and their invoices; the replay then drives the billing engine
(``service/billing_engine.py``: ``open_subscription``, ``bill_seat_change``, ``follow_usage``,
``change_addon``, ``advance``) on in-memory ``SubscriptionState`` objects under the new policy,
so the simulated invoices are priced by the same code as the real ones. Replaying under the
recorded policy therefore reproduces every recorded invoice, to the cent.

What a replay bills, and what it cannot re-decide:

- It bills what happened: the seats bought (``requested`` on each seat change) and used
  (``seats_used``) after every recorded change, at the instants they happened
  (``domain/simulation.replay_steps``). It does not re-run seat-limit, permission or
  ``min_seats``/``max_seats`` refusals under the new policy: a change the new policy would have
  refused is billed as it happened (a manual purchase below the new ``min_seats`` is raised to
  it, since no seat count under it could have been bought).
- Seats in use are counted as the recorded policy counted them: new ``billable_roles``,
  ``count_pending_invites``, ``count_deactivated`` or ``free_allowance`` are not re-applied
  (the ledger keeps counts, not who held which role).
- Seat mode: under ``manual`` every recorded change of the bought count is a purchase of that
  count (a history recorded in automatic mode buys exactly the seats in use at each change).
  Under ``automatic`` the bought count follows the recorded seats in use and recorded purchases
  are not replayed (automatic mode refuses them).
- Renewals and ends at period end happen on the new policy's schedule (its interval from the
  recorded anchor, or from the start when the anchor does not fit the new interval). The replay
  runs up to ``end``, now (a test-clock subscription's own now) or the end of what the record
  has billed, whichever is first: a renewal the billing run has not issued yet is not simulated.
- Add-ons are replayed by pack count and must exist in the new policy; the currency must be the
  recorded one (a difference across currencies means nothing).
- An account's subscriptions share its credit balance: their histories are replayed merged in
  time order, renewals at their due instants.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from seatledger.domain.billing import SeatBilling
from seatledger.domain.errors import InvalidInput, SeatLedgerError
from seatledger.domain.money import Money
from seatledger.domain.periods import require_utc
from seatledger.domain.policy import Policy, SeatMode
from seatledger.domain.seats import Member, MemberStatus, RoleGrant, Roster
from seatledger.domain.simulation import (
    BilledTotals,
    InvoiceComparison,
    InvoiceFacts,
    RecordedChange,
    ReplayAction,
    ReplayStep,
    SimulationSummary,
    billed_totals,
    compare_invoices,
    in_window,
    policy_with_change,
    replay_steps,
    summarize,
)
from seatledger.service.billing_engine import (
    advance,
    bill_seat_change,
    cancel_now,
    change_addon,
    follow_usage,
    next_due,
    open_subscription,
)
from seatledger.service.context import Services
from seatledger.service.ports import Invoice, Subscription, UnitOfWork
from seatledger.service.state import Effects, SubscriptionState, SubscriptionStatus
from seatledger.service.subscriptions import first_billing_period


@dataclass(frozen=True)
class PolicyChange:
    """The policy to try: ``base`` a complete policy mapping (a preset's) or None for each
    subscription's recorded policy, with ``overrides`` laid over it (``policy_with_change``)."""

    base: Mapping[str, Any] | None = None
    overrides: Mapping[str, Any] | None = None
    label: str = ""


@dataclass(frozen=True)
class SubscriptionPolicies:
    """A subscription of the account, with the policy it was billed under and the one tried."""

    subscription_id: str
    workspaces: tuple[str, ...]
    recorded: Policy
    simulated: Policy


@dataclass(frozen=True)
class AccountSimulation:
    """One account's invoices, recorded and simulated, side by side, in ``[start, end)``."""

    account_id: str
    account_name: str
    currency: str
    start: datetime | None
    end: datetime | None
    replayed_until: datetime
    subscriptions: tuple[SubscriptionPolicies, ...]
    invoices: tuple[InvoiceComparison, ...]
    totals: BilledTotals
    recorded_balance: Money
    simulated_balance: Money


@dataclass(frozen=True)
class AccountRefusal:
    """An account that could not be simulated, and why (the error's code and message)."""

    account_id: str
    code: str
    message: str


@dataclass(frozen=True)
class AllAccountsSimulation:
    """Every account: each one's totals, those refused, and the summary of them all."""

    accounts: tuple[AccountSimulation, ...]
    refused: tuple[AccountRefusal, ...]
    summary: SimulationSummary = field(init=False)

    def __post_init__(self) -> None:
        totals = [a.totals for a in self.accounts]
        object.__setattr__(self, "summary", summarize(totals, refused=len(self.refused)))


def check_window(start: datetime | None, end: datetime | None) -> None:
    """Refuse naive instants and a window that ends before it starts."""
    if start is not None:
        require_utc(start, "from")
    if end is not None:
        require_utc(end, "to")
    if start is not None and end is not None and end <= start:
        raise InvalidInput("to", f"must be after from ({start.isoformat()}), got {end.isoformat()}")


def simulate_account(
    svc: Services,
    *,
    account_id: str,
    change: PolicyChange,
    start: datetime | None = None,
    end: datetime | None = None,
) -> AccountSimulation:
    """Replay ``account_id``'s history under ``change`` and compare its invoices issued in
    ``[start, end)`` (open bounds when None). Writes nothing: the unit of work only reads and is
    rolled back."""
    check_window(start, end)
    with svc.uow() as uow:
        history = _read_history(uow, account_id, svc.clock.now())
        uow.rollback()
    return _simulate(history, change, start, end)


def account_ids(svc: Services) -> tuple[str, ...]:
    """Every account's id, in id order."""
    with svc.uow() as uow:
        ids = uow.accounts.ids()
        uow.rollback()
    return ids


def simulate_all_accounts(
    svc: Services,
    *,
    change: PolicyChange,
    start: datetime | None = None,
    end: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AllAccountsSimulation:
    """``simulate_account`` for every account (one short read each, so writers are not held
    up); an account the change cannot apply to (another currency, an add-on the policy lacks,
    no subscription) is listed in ``refused`` with the reason. ``progress(done, total)`` is
    called after each account."""
    check_window(start, end)
    ids = account_ids(svc)
    done: list[AccountSimulation] = []
    refused: list[AccountRefusal] = []
    for index, account_id in enumerate(ids, start=1):
        try:
            done.append(
                simulate_account(svc, account_id=account_id, change=change, start=start, end=end)
            )
        except SeatLedgerError as error:
            refused.append(AccountRefusal(account_id, error.code, error.message))
        if progress is not None:
            progress(index, len(ids))
    return AllAccountsSimulation(accounts=tuple(done), refused=tuple(refused))


# ---------------------------------------------------------------------------------------------
# Reading the record


@dataclass(frozen=True)
class _SubscriptionHistory:
    subscription: Subscription
    workspaces: tuple[str, ...]
    changes: tuple[RecordedChange, ...]
    now: datetime


@dataclass(frozen=True)
class _AccountHistory:
    account_id: str
    account_name: str
    subscriptions: tuple[_SubscriptionHistory, ...]
    invoices: tuple[Invoice, ...]
    balances: Mapping[str, Money]


def _read_history(uow: UnitOfWork, account_id: str, now: datetime) -> _AccountHistory:
    account = uow.accounts.get(account_id)
    histories = []
    for sub in sorted(
        uow.subscriptions.for_account(account_id), key=lambda s: (s.created_at, s.id)
    ):
        ids = uow.subscriptions.workspace_ids(account_id, sub.id)
        names = tuple(sorted(uow.workspaces.get(account_id, i).name for i in ids))
        changes = tuple(
            RecordedChange(
                at=row.at,
                kind=row.kind,
                seats_total=row.seats_total,
                seats_used=row.seats_used,
                detail=row.detail,
            )
            for row in uow.ledger.entries(account_id, sub.id)
        )
        sub_now = now
        if sub.test_clock_id is not None:
            sub_now = uow.test_clocks.get(account_id, sub.test_clock_id).now_at
        histories.append(_SubscriptionHistory(sub, names, changes, sub_now))
    balances: dict[str, Money] = {}
    for entry in uow.credits.entries(account_id):
        zero = Money.zero(entry.amount.currency)
        balances[entry.amount.currency] = balances.get(entry.amount.currency, zero) + entry.amount
    return _AccountHistory(
        account_id=account_id,
        account_name=account.name,
        subscriptions=tuple(histories),
        invoices=uow.invoices.for_account(account_id),
        balances=balances,
    )


# ---------------------------------------------------------------------------------------------
# The replay


@dataclass
class _Replay:
    """One subscription being replayed: its state under the new policy and its steps left."""

    history: _SubscriptionHistory
    policy: Policy
    steps: list[ReplayStep]
    horizon: datetime
    state: SubscriptionState | None = None


def _simulate(
    history: _AccountHistory,
    change: PolicyChange,
    start: datetime | None,
    end: datetime | None,
) -> AccountSimulation:
    if not history.subscriptions:
        raise InvalidInput("account", f"{history.account_id} has no subscription to simulate")
    replays = [_prepare(sub, change, end) for sub in history.subscriptions]
    currencies = sorted({r.policy.currency for r in replays})
    if len(currencies) > 1:
        raise InvalidInput(
            "account",
            f"{history.account_id} is billed in {' and '.join(currencies)}: a simulation "
            "compares one currency",
        )
    currency = currencies[0]
    balances: dict[str, Money] = {}
    drafts: list[InvoiceFacts] = []
    queue = sorted(
        (
            (step.at, not step.before_renewal, index, order, step)
            for index, replay in enumerate(replays)
            for order, step in enumerate(replay.steps)
        ),
        key=lambda item: item[:4],
    )
    for at, _, index, _, step in queue:
        replay = replays[index]
        if at > replay.horizon:
            continue
        until = at - timedelta(microseconds=1) if step.before_renewal else at
        _advance_all(replays, until, balances, drafts)
        _run_step(replay, step, balances, drafts)
    for replay in replays:
        _advance_all([replay], replay.horizon, balances, drafts)
    recorded = [
        _recorded_facts(invoice)
        for invoice in history.invoices
        if in_window(invoice.issued_at or invoice.created_at, start, end)
    ]
    simulated = [d for d in drafts if in_window(d.issued_at, start, end)]
    comparisons = compare_invoices(recorded, simulated, currency)
    zero = Money.zero(currency)
    return AccountSimulation(
        account_id=history.account_id,
        account_name=history.account_name,
        currency=currency,
        start=start,
        end=end,
        replayed_until=max(r.horizon for r in replays),
        subscriptions=tuple(
            SubscriptionPolicies(
                r.history.subscription.id,
                r.history.workspaces,
                r.history.subscription.policy,
                r.policy,
            )
            for r in replays
        ),
        invoices=comparisons,
        totals=billed_totals(comparisons, currency),
        recorded_balance=history.balances.get(currency, zero),
        simulated_balance=balances.get(currency, zero),
    )


def _prepare(sub: _SubscriptionHistory, change: PolicyChange, end: datetime | None) -> _Replay:
    recorded = sub.subscription.policy
    policy = policy_with_change(recorded, change.base, change.overrides)
    if policy.currency != recorded.currency:
        raise InvalidInput(
            "policy",
            f"bills in {policy.currency}, but subscription {sub.subscription.id} was billed in "
            f"{recorded.currency}: a simulation compares amounts in the recorded currency",
        )
    horizon = sub.now if end is None else min(sub.now, end)
    record = sub.subscription
    if record.status is SubscriptionStatus.ACTIVE:
        # The record has billed everything before its current period's end and nothing after:
        # a renewal the billing run has not issued yet is not simulated either.
        horizon = min(horizon, record.period.end - timedelta(microseconds=1))
    steps = list(replay_steps(sub.changes, seat_mode=policy.seat_mode))
    return _Replay(history=sub, policy=policy, steps=steps, horizon=horizon)


def _advance_all(
    replays: Sequence[_Replay],
    until: datetime,
    balances: dict[str, Money],
    drafts: list[InvoiceFacts],
) -> None:
    """Run every renewal due by ``until`` across ``replays`` in time order (one due instant at a
    time), so invoices use the shared credit balance in the order time issues them."""
    while True:
        due = [
            (when, index)
            for index, r in enumerate(replays)
            if r.state is not None
            and (when := next_due(r.state)) is not None
            and when <= min(until, r.horizon)
        ]
        if not due:
            return
        when, index = min(due)
        replay = replays[index]
        assert replay.state is not None
        _engine(replay, balances, drafts, _advancing(when))


def _advancing(until: datetime) -> Callable[[SubscriptionState, Effects], None]:
    def run(state: SubscriptionState, effects: Effects) -> None:
        advance(state, effects, until=until)

    return run


def _holders(count: int, policy: Policy, workspace: str) -> Roster:
    """A roster of ``count`` seat holders: the replay knows how many used a seat, not who."""
    grant = frozenset({RoleGrant(policy.owner_role)})
    return Roster(
        tuple(
            Member(f"seat-{n}@replay.invalid", workspace, MemberStatus.ACTIVE, grant)
            for n in range(count)
        )
    )


def _open(replay: _Replay, step: ReplayStep) -> SubscriptionState:
    sub = replay.history.subscription
    policy = replay.policy
    begin = sub.created_at
    wanted_anchor = None if sub.anchor_at == begin else sub.anchor_at
    try:
        anchor, period = first_billing_period(policy, begin, wanted_anchor)
    except InvalidInput:
        # The recorded anchor does not fit the new interval: renew every interval from the start.
        anchor, period = first_billing_period(policy, begin, None)
    if policy.seat_mode is SeatMode.AUTOMATIC:
        seats = max(step.seats_used, policy.min_seats or 0, 0)
    else:
        seats = max(step.seats or 0, policy.min_seats or 0)
    return SubscriptionState(
        account_id=sub.account_id,
        subscription_id=sub.id,
        policy=policy,
        preset=sub.preset,
        anchor_at=anchor,
        billing=SeatBilling(
            period=period, seats_total=seats, seats_at_renewal=seats, seats_paid=seats
        ),
        roster=_holders(step.seats_used, policy, replay.history.workspaces[0]),
        workspaces=replay.history.workspaces,
        created_at=begin,
    )


def _run_step(
    replay: _Replay, step: ReplayStep, balances: dict[str, Money], drafts: list[InvoiceFacts]
) -> None:
    if step.action is ReplayAction.OPEN:
        replay.state = _open(replay, step)
        _engine(replay, balances, drafts, lambda s, e: open_subscription(s, e, start=step.at))
        return
    state = replay.state
    if state is None or state.status is not SubscriptionStatus.ACTIVE:
        # Ended earlier under the new policy's schedule: nothing more is billed.
        return
    policy = replay.policy
    state.roster = _holders(step.seats_used, policy, replay.history.workspaces[0])
    at, reason = step.at, step.reason
    if step.action is ReplayAction.BUY_SEATS:
        seats = max(step.seats or 0, policy.min_seats or 0)
        _engine(
            replay,
            balances,
            drafts,
            lambda s, e: bill_seat_change(s, e, at=at, new_total=seats, reason=reason),
        )
    elif step.action is ReplayAction.USAGE:
        _engine(replay, balances, drafts, lambda s, e: follow_usage(s, e, at=at, reason=reason))
    elif step.action is ReplayAction.ADDON:
        name, count = step.addon or "", step.count or 0
        if name not in policy.addons:
            raise InvalidInput(
                "policy.addons",
                f"has no add-on {name!r}, which subscription {state.subscription_id} had at "
                f"{at.isoformat()}",
            )
        _engine(
            replay,
            balances,
            drafts,
            lambda s, e: change_addon(s, e, at=at, name=name, new_count=count),
        )
    elif step.action is ReplayAction.CANCEL_AT_PERIOD_END:
        state.cancel_at_period_end = True
    else:  # CANCEL_NOW: as cancel does
        _engine(replay, balances, drafts, lambda s, e: cancel_now(s, e, at=at))


def _engine(
    replay: _Replay,
    balances: dict[str, Money],
    drafts: list[InvoiceFacts],
    run: Callable[[SubscriptionState, Effects], None],
) -> None:
    """Run one engine call on the replayed state with the account's shared credit balance, and
    keep the invoices it issued."""
    state = replay.state
    assert state is not None
    currency = state.policy.currency
    state.balance = balances.get(currency, Money.zero(currency))
    effects = Effects()
    run(state, effects)
    balances[currency] = state.credit_balance
    drafts.extend(
        InvoiceFacts(
            subscription_id=state.subscription_id,
            kind=draft.kind.value,
            reason=draft.reason.value,
            issued_at=draft.issued_at,
            period=draft.period,
            currency=currency,
            lines=draft.lines,
        )
        for draft in effects.invoices
    )


def _recorded_facts(invoice: Invoice) -> InvoiceFacts:
    return InvoiceFacts(
        subscription_id=invoice.subscription_id,
        kind=invoice.kind.value,
        reason=invoice.reason,
        issued_at=invoice.issued_at or invoice.created_at,
        period=invoice.period,
        currency=invoice.currency,
        lines=invoice.lines,
        number=f"{invoice.number:06d}",
    )
