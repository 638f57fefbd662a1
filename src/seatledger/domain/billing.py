"""Billing math: what opening, renewing, changing seats or add-ons costs, line by line.

Everything here is exact until a line is built: a line's amount is
``unit price x quantity x prorated share``, computed as a ``Fraction`` and settled once with the
policy's rounding. Prices are per billing interval (an annual policy carries its yearly price).
Credits mirror charges: a credit is the settled charge for the same quantity and share, negated, so
adding a seat and removing it at the same instant nets to exactly zero.

Who pays for what in the current period is ``SeatBilling``: ``seats_total`` (bought now),
``seats_at_renewal`` (what the next period bills) and ``seats_paid`` (paid for in this period; it
stays up after a decrease that is not refunded, so a seat re-filled under it can be free).

Example (reviewer Pro, EUR 99 base with 2 included seats, EUR 99 per extra seat, period
2026-04-01..2026-05-01): going from 2 to 3 seats at 2026-04-16 charges one line
``1 × Seat, 16 Apr – 1 May 2026, prorated`` of EUR 49.50, and the next period bills EUR 99 base
plus 1 × EUR 99 seat = EUR 198.00.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from seatledger.domain.errors import InvalidInput
from seatledger.domain.invoices import InvoiceLine, LineKind, describe_span, lines_total
from seatledger.domain.money import Money
from seatledger.domain.periods import Period, require_utc
from seatledger.domain.policy import (
    Addon,
    DecreaseRelease,
    OnDecrease,
    OnIncrease,
    Policy,
)
from seatledger.domain.proration import leading_share, period_share
from seatledger.domain.proration_policy import (
    ChangeDay,
    CreditBasis,
    PartialPeriodBasis,
    ProrationPolicy,
    RoundingStage,
)


@dataclass(frozen=True, slots=True)
class SeatsInvoiced:
    """What the current period has invoiced and credited for seats (``credit_basis: invoiced``).

    ``amount``: the settled seat amounts billed for the period (the opening or renewal ``seats``
    line and every seat ``proration_charge``, invoiced now or pending); ``shares``: the seats x
    share of the period those lines bought (a renewal of 3 seats: 3; one seat added half way:
    1/2); ``credited``: the settled seat credits of the period, as a positive amount. Amounts are
    in the policy's currency.

    Example: renewal of 3 seats at EUR 99, then one more at half way: amount 346.50, shares 7/2,
    so the period's seats cost ``346.50 / 3.5`` = EUR 99 per seat and period.
    """

    amount: Decimal = Decimal(0)
    shares: Fraction = Fraction(0)
    credited: Decimal = Decimal(0)

    @property
    def rate(self) -> Fraction:
        """What a whole period of one seat was invoiced at: ``amount / shares`` (0 if none)."""
        return Fraction(self.amount) / self.shares if self.shares else Fraction(0)

    @property
    def left(self) -> Decimal:
        """What is left to credit: ``amount - credited``, never below zero."""
        return max(Decimal(0), self.amount - self.credited)


@dataclass(frozen=True, slots=True)
class SeatBilling:
    """The billing state of one subscription in its current period (seat counts, never negative).

    ``seats_total`` is the capacity bought now; ``seats_at_renewal`` is what the next period bills;
    ``seats_paid`` is what this period has been paid for, which can stay above ``seats_total``
    after a decrease that was not refunded. ``invoiced`` is what the period invoiced and credited
    for seats, or None where it is not known (a period opened before it was kept): decreases then
    credit on the price, whatever ``credit_basis`` says.
    """

    period: Period
    seats_total: int
    seats_at_renewal: int
    seats_paid: int
    invoiced: SeatsInvoiced | None = None
    # billing_basis peak / true_up (domain/peak_billing.py): the most seats used since
    # ``peak_since`` (the period start, or the last true-up reconciliation); None under purchased.
    seats_peak: int | None = None
    peak_since: datetime | None = None

    def __post_init__(self) -> None:
        _require_count(self.seats_total, "seats_total")
        _require_count(self.seats_at_renewal, "seats_at_renewal")
        _require_count(self.seats_paid, "seats_paid")
        if self.seats_peak is not None:
            _require_count(self.seats_peak, "seats_peak")


@dataclass(frozen=True, slots=True)
class SeatChangePrice:
    """The outcome of a seat change: the state after it and its prorated lines.

    ``charges`` are ``proration_charge`` lines; whether they are invoiced now or carried to the next
    invoice is ``policy.proration.on_increase``, the caller's job. ``credits`` are
    ``proration_credit`` lines with negative amounts, likewise placed per ``on_decrease``.
    """

    state: SeatBilling
    charges: tuple[InvoiceLine, ...]
    credits: tuple[InvoiceLine, ...]


@dataclass(frozen=True, slots=True)
class InvoiceSettlement:
    """An invoice ready to issue: its lines, a total that is never negative, and the balance.

    ``credit_used`` is the part of the credit balance applied to this invoice; ``credit_created``
    the part of the lines' net credit that did not fit on it and was moved to the balance.
    """

    lines: tuple[InvoiceLine, ...]
    total: Money
    balance_after: Money
    credit_used: Money
    credit_created: Money


def price_seat_change(
    state: SeatBilling, policy: Policy, at: datetime, new_total: int
) -> SeatChangePrice:
    """Price a change of the seat count to ``new_total`` (seats wanted from ``at`` on).

    ``at`` must lie in ``state.period`` (half-open); the lines cover ``[at, period.end)`` and are
    prorated with ``policy.proration.unit``. Quantities count billed seats only
    (``policy.billed_seats``: seats beyond ``included_seats``); a line of quantity 0 is never made.

    - Capacity: an increase raises ``seats_total`` at once; a decrease lowers it at once under
      ``decrease_release: immediate`` and keeps it until the period ends under ``period_end``.
      ``seats_at_renewal`` becomes ``new_total`` either way.
    - Increase above ``seats_paid``: one ``proration_charge`` line for
      ``billed(new_total) - billed(seats_paid)`` seats, and ``seats_paid`` becomes ``new_total``.
      Under ``on_increase: none`` there is no line (the seats are given until renewal). A seat
      re-filled below ``seats_paid`` costs nothing: it is already paid for.
    - Decrease below ``seats_paid``: under ``credit_now`` / ``credit_next_invoice`` one
      ``proration_credit`` line (negative) for ``billed(seats_paid) - billed(new_total)`` seats and
      ``seats_paid`` becomes ``new_total``. Under ``none`` there is no line; ``seats_paid`` stays
      when ``refill_paid_seat_free`` (the seats can be re-filled free until renewal) and follows
      ``new_total`` otherwise.
    - Credit basis: under ``credit_basis: price`` a credit is ``seat_price x seats x share``. Under
      ``invoiced`` it is ``state.invoiced.rate x seats x share`` (a share of what the period's
      seats were actually invoiced at), settled with ``credit_rounding``, and never more than
      ``state.invoiced.left`` (what earlier credits of the period left of it). ``state.invoiced``
      follows: charges add their amount and ``seats x share``, credits their amount.

    Example: reviewer Pro (2 included, EUR 99 per seat), period April 2026, 2 paid seats; going to
    3 at 2026-04-16 charges ``1 × EUR 99 × 15/30`` = EUR 49.50 and leaves ``seats_paid`` 3.
    """
    _require_count(new_total, "seats")
    at = require_utc(at, "at")
    share = period_share(state.period, at, policy.proration, policy.interval)
    covered = Period(at, state.period.end)
    increase_or_released = (
        new_total >= state.seats_total or policy.decrease_release is DecreaseRelease.IMMEDIATE
    )
    paid_billed = policy.billed_seats(state.seats_paid)
    new_billed = policy.billed_seats(new_total)
    seats_paid = state.seats_paid
    invoiced = state.invoiced
    charges: tuple[InvoiceLine, ...] = ()
    credits: tuple[InvoiceLine, ...] = ()
    if new_total > state.seats_paid:
        seats_paid = new_total
        if policy.proration.on_increase is not OnIncrease.NONE:
            added = new_billed - paid_billed
            charges = _lines(
                LineKind.PRORATION_CHARGE, "Seat", added, policy.seat_price, share, covered, policy
            )
            if invoiced is not None:
                invoiced = replace(
                    invoiced,
                    amount=invoiced.amount + _amount(charges),
                    shares=invoiced.shares + added * share,
                )
    elif new_total < state.seats_paid:
        if policy.proration.on_decrease is not OnDecrease.NONE:
            seats_paid = new_total
            by_invoice = invoiced is not None and (
                policy.proration.credit_basis is CreditBasis.INVOICED
            )
            credits = _lines(
                LineKind.PRORATION_CREDIT,
                "Seat",
                paid_billed - new_billed,
                policy.seat_price,
                share,
                covered,
                policy,
                rate=invoiced.rate if invoiced is not None and by_invoice else None,
                cap=invoiced.left if invoiced is not None and by_invoice else None,
            )
            if invoiced is not None:
                invoiced = replace(invoiced, credited=invoiced.credited - _amount(credits))
        elif not policy.refill_paid_seat_free:
            seats_paid = new_total
    after = replace(
        state,
        seats_total=new_total if increase_or_released else state.seats_total,
        seats_at_renewal=new_total,
        seats_paid=seats_paid,
        invoiced=invoiced,
    )
    return SeatChangePrice(state=after, charges=charges, credits=credits)


def opening_lines(
    policy: Policy,
    *,
    start: datetime,
    period: Period,
    seats: int,
    addons: Mapping[str, int],
) -> tuple[InvoiceLine, ...]:
    """The first invoice, billed in advance from ``start`` to ``period.end``.

    Lines, in order: ``base`` (when ``base_price`` > 0, quantity 1), ``seats`` (quantity
    ``billed_seats(seats)``, when > 0), then one ``addon`` line per add-on with a count > 0, sorted
    by name. Each covers ``[start, period.end)`` and costs its full-period price times the share of
    ``period`` remaining at ``start`` (``policy.proration.unit``; ``none`` bills the full price).
    ``start`` must lie in ``period`` (half-open). A subscription that starts before its billing
    anchor passes the full period that ends at the anchor, so only the leading part is billed.

    Example: reviewer Pro with 3 seats from 2026-04-01, period April 2026: EUR 99 base and
    ``1 × Seat`` EUR 99, total EUR 198.00. Starting at 2026-04-10 before a 2026-05-01 anchor with
    day proration: both lines are 21/30 of the price, EUR 69.30 each.
    """
    start = require_utc(start, "start")
    if start not in period:
        raise InvalidInput(
            "start",
            f"must lie in the period [{period.start.isoformat()}, {period.end.isoformat()}), "
            f"got {start.isoformat()}",
        )
    # A new subscriber has no old quantity to bill the day of the start to: change_day is moot.
    proration = replace(policy.proration, change_day=ChangeDay.REMAINING)
    if proration.partial_period_basis is PartialPeriodBasis.START_PERIOD:
        share = leading_share(start, period.end, proration, policy.interval)
    else:
        share = period_share(period, start, proration, policy.interval)
    return _recurring_lines(policy, Period(start, period.end), share, seats, addons)


def renewal_lines(
    policy: Policy, *, period: Period, seats_at_renewal: int, addons: Mapping[str, int]
) -> tuple[InvoiceLine, ...]:
    """The renewal invoice for the whole of ``period``: base, seats and add-ons at full price.

    Same lines and order as ``opening_lines``, each covering ``[period.start, period.end)``.

    Example: reviewer Pro renewing 3 seats: EUR 99 base + ``1 × Seat`` EUR 99 = EUR 198.00.
    """
    # A billing run renews thousands of subscriptions on a few plans into the same periods: the
    # lines of the last few renewals priced are kept (they are immutable). The policy is told by
    # identity (the store builds each distinct one once) and held, so its id is not reused while
    # its lines are kept. A renewal that cannot be priced raises and is never kept.
    key = (id(policy), period, seats_at_renewal, tuple(sorted(addons.items())))
    kept = _recent_renewals.get(key)
    if kept is not None and kept[0] is policy:
        return kept[1]
    lines = _recurring_lines(policy, period, Fraction(1), seats_at_renewal, addons)
    if len(_recent_renewals) >= _RECENT_RENEWALS:
        _recent_renewals.clear()
    _recent_renewals[key] = (policy, lines)
    return lines


# How many renewals ``renewal_lines`` keeps the lines of.
_RECENT_RENEWALS = 64
_recent_renewals: dict[
    tuple[int, Period, int, tuple[tuple[str, int], ...]], tuple[Policy, tuple[InvoiceLine, ...]]
] = {}


def record_seats_invoiced(
    state: SeatBilling, policy: Policy, lines: Sequence[InvoiceLine], at: datetime
) -> SeatBilling:
    """``state`` with ``invoiced`` started afresh from the ``seats`` line of the opening or renewal
    invoice issued at ``at`` for ``state.period``: its amount, and its quantity x the share of
    ``state.period`` from ``at`` (``period_share`` with the day of ``at`` billed, as a new period
    bills it), nothing credited yet.

    The share is the period's own measure even where the line was priced on another one
    (``partial_period_basis: start_period``), so ``rate`` is what a whole period of a seat was
    actually invoiced at. Example: EUR 99 a month, 1 seat from 2026-01-30 before a 2026-02-15
    anchor, by day, ``start_period``: the line is 99 x 16/29 = EUR 54.62 and its shares are the
    16/31 of January 15 to February 15 it covers, so a credit at 2026-02-07 (8 of those 31 days
    left) is 54.62 x 31/16 x 8/31 = 54.62 x 8/16 = EUR 27.31, half of what was paid, where the
    price basis gives 99 x 8/31 = EUR 25.55.
    """
    at = require_utc(at, "at")
    share = period_share(state.period, at, _as_new_period(policy.proration), policy.interval)
    seats = [line for line in lines if line.kind is LineKind.SEATS]
    return replace(
        state,
        invoiced=SeatsInvoiced(
            amount=_amount(seats), shares=share * sum(line.quantity for line in seats)
        ),
    )


@lru_cache(maxsize=256)
def _as_new_period(proration: ProrationPolicy) -> ProrationPolicy:
    """``proration`` measuring a share as a new period does (the day of the change billed);
    policies are few and immutable, so each is made once."""
    return replace(proration, change_day=ChangeDay.REMAINING)


def addon_change_lines(
    policy: Policy,
    *,
    period: Period,
    at: datetime,
    name: str,
    old_count: int,
    new_count: int,
) -> tuple[InvoiceLine, ...]:
    """The prorated line for changing add-on ``name`` from ``old_count`` to ``new_count`` packs.

    ``at`` lies in ``period`` (half-open); the line covers ``[at, period.end)`` at the add-on's
    full-period price times the share remaining (``policy.proration.unit``). An increase gives one
    ``proration_charge`` line unless ``on_increase`` is ``none``; a decrease one negative
    ``proration_credit`` line unless ``on_decrease`` is ``none``; no change gives no line.

    Example: a EUR 50-a-month pack bought at 2026-04-16 in April 2026 (day proration):
    ``1 × Add-on …, prorated`` of EUR 25.00.
    """
    addon = _addon(policy, name)
    _require_count(old_count, "old_count")
    _require_count(new_count, "new_count")
    at = require_utc(at, "at")
    share = period_share(period, at, policy.proration, policy.interval)
    covered = Period(at, period.end)
    label = _addon_label(name, addon.seats)
    if new_count > old_count and policy.proration.on_increase is not OnIncrease.NONE:
        kind = LineKind.PRORATION_CHARGE
    elif new_count < old_count and policy.proration.on_decrease is not OnDecrease.NONE:
        kind = LineKind.PRORATION_CREDIT
    else:
        return ()
    return _lines(kind, label, abs(new_count - old_count), addon.price, share, covered, policy)


def settle_invoice(lines: Sequence[InvoiceLine], balance: Money) -> InvoiceSettlement:
    """Apply the account's credit ``balance`` to ``lines`` so the invoice total is never negative.

    ``balance`` is the credit the account holds (>= 0, in the invoice's currency). With ``net`` the
    sum of the lines:

    - ``net >= 0``: up to ``min(balance, net)`` of the balance is used, as one ``credit_applied``
      line with that negative amount; ``balance_after = balance - used``.
    - ``net < 0`` (credits exceed charges): the surplus ``-net`` moves to the balance, as one
      ``credit_applied`` line with that positive amount ("carried to your credit balance");
      ``balance_after = balance - net``, ``credit_created = -net``.

    Either way ``total`` is the sum of the returned lines, never negative, and the balance is never
    negative. The ``credit_applied`` line covers the span of the other lines; no line is added when
    nothing moves.

    Example: lines EUR 49.50 and EUR -99.00 with a EUR 10.00 balance give total 0.00, a
    ``credit_applied`` line of +49.50 and a balance of 59.50.
    """
    currency = balance.currency
    if balance.is_negative:
        raise InvalidInput("balance", f"a credit balance cannot be negative, got {balance}")
    net = lines_total(lines, currency)
    zero = Money.zero(currency)
    if net.is_negative:
        moved, used, created = -net, zero, -net
        description = "Credit carried to your balance"
    else:
        used = min(balance, net)
        moved, created = -used, zero
        description = "Credit applied from your balance"
    settled = tuple(lines)
    total = net
    if not moved.is_zero:
        span = Period(
            min(line.period.start for line in lines), max(line.period.end for line in lines)
        )
        settled += (InvoiceLine(LineKind.CREDIT_APPLIED, description, 1, moved, moved, span),)
        total = net + moved  # the sum of ``settled``: the lines, then the credit line
    return InvoiceSettlement(
        lines=settled,
        total=total,
        balance_after=balance - used + created,
        credit_used=used,
        credit_created=created,
    )


def _recurring_lines(
    policy: Policy, covered: Period, share: Fraction, seats: int, addons: Mapping[str, int]
) -> tuple[InvoiceLine, ...]:
    _require_count(seats, "seats")
    lines: list[InvoiceLine] = []
    if not policy.base_price.is_zero:
        lines += _lines(LineKind.BASE, "Base fee", 1, policy.base_price, share, covered, policy)
    lines += _lines(
        LineKind.SEATS,
        "Seat",
        policy.billed_seats(seats),
        policy.seat_price,
        share,
        covered,
        policy,
    )
    for name in sorted(addons):
        count = addons[name]
        addon = _addon(policy, name)
        _require_count(count, f"addons.{name}")
        label = _addon_label(name, addon.seats)
        lines += _lines(LineKind.ADDON, label, count, addon.price, share, covered, policy)
    return tuple(lines)


def seat_line(
    policy: Policy, kind: LineKind, covered: Period, quantity: int, share: Fraction
) -> tuple[InvoiceLine, ...]:
    """Zero or one seat line of ``kind``: ``quantity × seat_price × share``, settled once with the
    policy's rounding, covering ``covered`` (no line for a quantity of 0). The peak and true-up
    lines of ``peak_billing`` are built with it. Example: ``seats``, 3 seats at USD 10, share 1/2:
    ``3 × Seat`` USD 15.00."""
    return _lines(kind, "Seat", quantity, policy.seat_price, share, covered, policy)


def _amount(lines: Sequence[InvoiceLine]) -> Decimal:
    return sum((line.amount.amount for line in lines), Decimal(0))


def _lines(
    kind: LineKind,
    label: str,
    quantity: int,
    unit_amount: Money,
    share: Fraction,
    covered: Period,
    policy: Policy,
    *,
    rate: Fraction | None = None,
    cap: Decimal | None = None,
) -> tuple[InvoiceLine, ...]:
    """Zero or one line: ``quantity × unit_amount × share`` settled once; credits negated.

    Credits settle with ``credit_rounding`` (default: the policy's rounding). Under
    ``rounding_stage: unit`` the per-unit share ``unit_amount × share`` is settled first and the
    line shows it as its unit amount; the amount is that times ``quantity``. ``rate`` (a credit on
    what was invoiced) stands in for ``unit_amount`` in the arithmetic, and ``cap`` bounds the
    settled amount's size.
    """
    if quantity <= 0:
        return ()
    credit = kind is LineKind.PRORATION_CREDIT
    rounding = (policy.proration.credit_rounding or policy.rounding) if credit else policy.rounding
    currency = unit_amount.currency
    # A credit is the settled charge it undoes, negated (the same magnitude under the same
    # rounding), and a zero credit is a plain zero.
    price = unit_amount.as_fraction() if rate is None else rate
    if policy.proration.rounding_stage is RoundingStage.UNIT:
        unit_amount = Money.settle_exact(price * share, currency, rounding)
        amount = unit_amount * quantity
    else:
        amount = Money.settle_exact(price * quantity * share, currency, rounding)
    if cap is not None and amount.amount > cap:
        amount = Money(cap, currency)
    if credit and not amount.is_zero:
        amount = -amount
    what = label if kind is LineKind.BASE else f"{quantity} × {label}"
    description = f"{what}, {describe_span(covered)}"
    if kind is LineKind.PRORATION_CREDIT:
        description = f"Unused time on {description}"
    elif share != 1:
        description += ", prorated"
    return (InvoiceLine(kind, description, quantity, unit_amount, amount, covered),)


def _addon(policy: Policy, name: str) -> Addon:
    try:
        return policy.addons[name]
    except KeyError:
        known = ", ".join(sorted(policy.addons)) or "none"
        raise InvalidInput(
            "addon", f"must be one of this plan's add-ons ({known}), got {name!r}"
        ) from None


def _addon_label(name: str, seats: int) -> str:
    return f"Add-on {name} ({seats} seats)"


def _require_count(value: int, field: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(field, f"must be a whole number >= 0, got {value!r}")
