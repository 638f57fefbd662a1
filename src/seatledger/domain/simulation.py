"""Pricing simulations: replaying what happened under another policy, and comparing the bills.

A simulation never re-decides what the customer did. The seat ledger says, after every change,
how many seats were bought (``requested`` on a seat change) and used (``seats_used``); the
replay bills those same facts under the new policy. ``replay_steps`` turns ledger rows into the
steps the billing engine is driven by; ``compare_invoices`` lays the recorded and the simulated
invoices side by side, line by line; ``summarize`` adds accounts up for a pricing team.

Instants are aware UTC datetimes; windows are half-open ``[start, end)``. Amounts are ``Money``
already settled on their lines: nothing is rounded here, differences are exact sums.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from seatledger.domain.errors import InvalidInput
from seatledger.domain.invoices import InvoiceLine, LineKind, lines_total
from seatledger.domain.money import Money
from seatledger.domain.periods import Period
from seatledger.domain.policy import (
    Policy,
    SeatMode,
    merge_policy,
    policy_from_mapping,
    policy_to_mapping,
)

# The invoice kind that asks the customer to pay; a credit note only moves credit to the
# balance, which a later invoice uses (its ``credit_applied`` line), so it is never summed in.
BILLED_KIND = "invoice"


class ReplayAction(StrEnum):
    OPEN = "open"  # the subscription starts: the first invoice
    BUY_SEATS = "buy_seats"  # the bought seat count moves to ``requested``
    USAGE = "usage"  # the seats in use moved: automatic mode bills it, manual refills a kept seat
    ADDON = "addon"  # add-on ``addon`` moves to ``count`` packs
    CANCEL_AT_PERIOD_END = "cancel_at_period_end"
    CANCEL_NOW = "cancel_now"


@dataclass(frozen=True, slots=True)
class RecordedChange:
    """One seat-ledger row as a replay reads it: the figures right after a change at ``at``."""

    at: datetime
    kind: str
    seats_total: int
    seats_used: int
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReplayStep:
    """What the replay does at ``at``; ``before_renewal`` runs it before a renewal due at the
    same instant (role expiries are run first, as the billing engine does)."""

    at: datetime
    action: ReplayAction
    reason: str
    seats_used: int
    seats: int | None = None
    addon: str | None = None
    count: int | None = None
    before_renewal: bool = False


# Rows written by time itself: the replay renews and ends subscriptions on its own schedule,
# under the new policy's interval, so these are not replayed.
_TIME_KINDS = frozenset({"renewed"})


def replay_steps(
    changes: Sequence[RecordedChange], *, seat_mode: SeatMode
) -> tuple[ReplayStep, ...]:
    """The steps that replay one subscription's ledger ``changes`` (in ledger order) under a
    policy of ``seat_mode``.

    - ``subscribed`` opens with the recorded seats (``seats_total``: no add-on exists yet).
    - A row with ``requested`` in its detail moved the bought seats: under ``manual`` it is a
      purchase of that count, whatever made it (an owner buying, a kept seat refilled, seats
      following usage in automatic mode); under ``automatic`` seats follow usage instead.
    - ``canceled`` with ``requested`` is a cancellation now; without, the end of a subscription
      canceled at period end, which the replay reaches by itself (like ``renewed``: skipped).
    - ``cancel_scheduled`` and ``addon_changed`` (detail ``addon``, ``count``) are replayed as
      such; every other row (invites, role changes, expiries...) is a change of usage.

    Example: rows ``subscribed`` (3 bought, 1 used) then ``seats_changed`` (``requested`` 5) give
    ``OPEN`` with seats 3 and ``BUY_SEATS`` with seats 5 under manual mode, and ``OPEN`` then
    ``USAGE`` (1 used) under automatic mode.
    """
    steps: list[ReplayStep] = []
    for change in changes:
        requested = change.detail.get("requested")
        if change.kind in _TIME_KINDS or (change.kind == "canceled" and requested is None):
            continue
        usage = ReplayStep(change.at, ReplayAction.USAGE, change.kind, change.seats_used)
        if change.kind == "subscribed":
            step = replace(usage, action=ReplayAction.OPEN, seats=change.seats_total)
        elif change.kind == "canceled":
            step = replace(usage, action=ReplayAction.CANCEL_NOW, seats=0)
        elif change.kind == "cancel_scheduled":
            step = replace(usage, action=ReplayAction.CANCEL_AT_PERIOD_END)
        elif change.kind == "addon_changed":
            step = replace(
                usage,
                action=ReplayAction.ADDON,
                addon=str(change.detail["addon"]),
                count=int(change.detail["count"]),
            )
        elif requested is not None and seat_mode is SeatMode.MANUAL:
            step = replace(usage, action=ReplayAction.BUY_SEATS, seats=int(requested))
        else:
            step = replace(usage, before_renewal=change.kind == "roles_expired")
        steps.append(step)
    return tuple(steps)


def policy_with_change(
    recorded: Policy, base: Mapping[str, Any] | None, overrides: Mapping[str, Any] | None
) -> Policy:
    """The policy to simulate for a subscription recorded under ``recorded``.

    ``base`` is a complete policy mapping (a preset's); without one the recorded policy is the
    base, so ``{"seat_price": "12.00"}`` alone asks "what if seats had cost 12". ``overrides``
    are laid over the base key by key (nested tables merge), then validated as any policy is:
    a wrong key raises ``InvalidInput`` naming it.

    Example: ``policy_with_change(rallly, None, {"proration": {"on_decrease": "none"}})`` is
    Rallly's policy with refunds turned off and every other key as recorded.
    """
    if overrides is not None and not isinstance(overrides, Mapping):
        raise InvalidInput("policy", "must be a mapping of policy keys")
    start = dict(base) if base is not None else policy_to_mapping(recorded)
    return policy_from_mapping(merge_policy(start, overrides or {}))


def in_window(at: datetime, start: datetime | None, end: datetime | None) -> bool:
    """Whether ``at`` lies in the half-open window ``[start, end)``; a missing bound is open.

    Example: with ``start`` 2026-05-01 and ``end`` 2026-06-01, 2026-05-01 is in, 2026-06-01 out.
    """
    return (start is None or at >= start) and (end is None or at < end)


@dataclass(frozen=True, slots=True)
class InvoiceFacts:
    """An invoice or credit note, recorded (with its ``number``) or simulated (number ``""``)."""

    subscription_id: str
    kind: str
    reason: str
    issued_at: datetime
    period: Period
    currency: str
    lines: tuple[InvoiceLine, ...]
    number: str = ""

    @property
    def total(self) -> Money:
        return lines_total(self.lines, self.currency)


@dataclass(frozen=True, slots=True)
class LineDifference:
    """One line of a compared invoice: the recorded line, the simulated one, or both."""

    kind: LineKind
    recorded: InvoiceLine | None
    simulated: InvoiceLine | None
    currency: str

    @property
    def difference(self) -> Money:
        """Simulated minus recorded amount (a missing line counts as zero)."""
        zero = Money.zero(self.currency)
        simulated = self.simulated.amount if self.simulated is not None else zero
        recorded = self.recorded.amount if self.recorded is not None else zero
        return simulated - recorded


@dataclass(frozen=True, slots=True)
class InvoiceComparison:
    """A recorded invoice and its simulated counterpart (either may be missing), line by line."""

    recorded: InvoiceFacts | None
    simulated: InvoiceFacts | None
    lines: tuple[LineDifference, ...]
    currency: str

    @property
    def either(self) -> InvoiceFacts:
        found = self.recorded or self.simulated
        assert found is not None  # a comparison always holds at least one side
        return found

    @property
    def difference(self) -> Money:
        """Simulated minus recorded total (a missing invoice counts as zero)."""
        zero = Money.zero(self.currency)
        simulated = self.simulated.total if self.simulated is not None else zero
        recorded = self.recorded.total if self.recorded is not None else zero
        return simulated - recorded


def pair_lines(
    recorded: Sequence[InvoiceLine], simulated: Sequence[InvoiceLine], currency: str
) -> tuple[LineDifference, ...]:
    """Recorded and simulated lines paired by kind, the n-th of a kind with the n-th of that
    kind; unpaired lines stand alone. Order: the recorded invoice's, then simulated extras.

    Example: recorded ``[base 99.00, seats 99.00]`` against simulated ``[base 99.00, seats
    198.00, addon 50.00]`` gives base (difference 0.00), seats (+99.00), addon (+50.00).
    """
    pending: dict[LineKind, list[InvoiceLine]] = {}
    for line in simulated:
        pending.setdefault(line.kind, []).append(line)
    paired = []
    for line in recorded:
        same_kind = pending.get(line.kind, [])
        match = same_kind.pop(0) if same_kind else None
        paired.append(LineDifference(line.kind, line, match, currency))
    for line in simulated:
        if line in pending.get(line.kind, []):
            pending[line.kind].remove(line)
            paired.append(LineDifference(line.kind, None, line, currency))
    return tuple(paired)


def _key(invoice: InvoiceFacts) -> tuple[str, str, str, datetime]:
    return (invoice.subscription_id, invoice.kind, invoice.reason, invoice.issued_at)


def compare_invoices(
    recorded: Sequence[InvoiceFacts], simulated: Sequence[InvoiceFacts], currency: str
) -> tuple[InvoiceComparison, ...]:
    """Pair recorded and simulated invoices: same subscription, kind, reason and issue instant
    (the n-th such recorded one with the n-th simulated one). Each pair is compared line by line
    (``pair_lines``); an invoice without a counterpart is compared with nothing. The result is
    in issue order, recorded before simulated-only at the same instant.

    Example: a recorded renewal of EUR 198.00 on 2026-05-01 and a simulated one of EUR 148.00 on
    the same instant pair up with a difference of EUR -50.00; a simulated proration invoice the
    record does not have stands alone with its whole total as the difference.
    """
    waiting: dict[tuple[str, str, str, datetime], list[InvoiceFacts]] = {}
    for invoice in simulated:
        waiting.setdefault(_key(invoice), []).append(invoice)
    pairs: list[InvoiceComparison] = []
    for invoice in recorded:
        candidates = waiting.get(_key(invoice), [])
        match = candidates.pop(0) if candidates else None
        lines = pair_lines(invoice.lines, match.lines if match is not None else (), currency)
        pairs.append(InvoiceComparison(invoice, match, lines, currency))
    for rest in waiting.values():
        for invoice in rest:
            lines = pair_lines((), invoice.lines, currency)
            pairs.append(InvoiceComparison(None, invoice, lines, currency))
    order = {id(pair): index for index, pair in enumerate(pairs)}
    return tuple(
        sorted(pairs, key=lambda p: (p.either.issued_at, p.recorded is None, order[id(p)]))
    )


class Verdict(StrEnum):
    PAYS_MORE = "pays_more"
    PAYS_LESS = "pays_less"
    PAYS_SAME = "pays_same"


@dataclass(frozen=True, slots=True)
class BilledTotals:
    """What an account was billed (invoices only; credit notes move credit) and would be."""

    currency: str
    recorded: Money
    simulated: Money

    @property
    def difference(self) -> Money:
        return self.simulated - self.recorded

    @property
    def verdict(self) -> Verdict:
        if self.difference.is_zero:
            return Verdict.PAYS_SAME
        return Verdict.PAYS_LESS if self.difference.is_negative else Verdict.PAYS_MORE


def billed_totals(comparisons: Sequence[InvoiceComparison], currency: str) -> BilledTotals:
    """The sums of the recorded and the simulated invoice totals (kind ``invoice`` only).

    Example: recorded invoices of 99.00 and 198.00 and a credit note of -49.50, simulated
    invoices of 99.00 and 148.00: recorded 297.00, simulated 247.00, difference -50.00.
    """
    recorded = simulated = Money.zero(currency)
    for pair in comparisons:
        if pair.recorded is not None and pair.recorded.kind == BILLED_KIND:
            recorded = recorded + pair.recorded.total
        if pair.simulated is not None and pair.simulated.kind == BILLED_KIND:
            simulated = simulated + pair.simulated.total
    return BilledTotals(currency, recorded, simulated)


@dataclass(frozen=True, slots=True)
class SimulationSummary:
    """Many accounts at once: how many pay more, less or the same, and the revenue change per
    currency (simulated minus recorded billing); ``refused`` counts accounts that could not be
    simulated (named with the reason by the caller)."""

    accounts: int
    pays_more: int
    pays_less: int
    pays_same: int
    refused: int
    recorded: Mapping[str, Money]
    simulated: Mapping[str, Money]

    def revenue_change(self, currency: str) -> Money:
        return self.simulated[currency] - self.recorded[currency]


def summarize(totals: Sequence[BilledTotals], *, refused: int = 0) -> SimulationSummary:
    """Add the accounts' ``totals`` up, per currency, counting each account's verdict.

    Example: totals +10.00 EUR, -5.00 EUR and 0.00 USD give one account paying more, one less,
    one the same, and a revenue change of +5.00 EUR and 0.00 USD.
    """
    recorded: dict[str, Money] = {}
    simulated: dict[str, Money] = {}
    verdicts = dict.fromkeys(Verdict, 0)
    for item in totals:
        zero = Money.zero(item.currency)
        recorded[item.currency] = recorded.get(item.currency, zero) + item.recorded
        simulated[item.currency] = simulated.get(item.currency, zero) + item.simulated
        verdicts[item.verdict] += 1
    return SimulationSummary(
        accounts=len(totals) + refused,
        pays_more=verdicts[Verdict.PAYS_MORE],
        pays_less=verdicts[Verdict.PAYS_LESS],
        pays_same=verdicts[Verdict.PAYS_SAME],
        refused=refused,
        recorded=dict(sorted(recorded.items())),
        simulated=dict(sorted(simulated.items())),
    )
