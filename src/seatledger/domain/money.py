"""Money: an exact decimal amount in one ISO 4217 currency.

Amounts stay exact while they are computed (``Decimal`` or ``Fraction``) and are *settled*, i.e.
quantized to the currency's minor unit with an explicit rounding mode, once per invoice line. Nothing
here reads the ambient ``decimal`` context: every rounding names its mode.

Example: EUR 99 for half a period is ``Money.settle_exact(Fraction(99, 2), "EUR", Rounding.HALF_UP)``
== ``Money.of("49.50", "EUR")``.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache
from typing import Self

from seatledger.domain.errors import InvalidInput

# ISO 4217 minor units of the active currencies (exponent: 10**-n). Currencies absent from this
# table are refused rather than guessed, so a typo never bills in a currency with the wrong cents.
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split()
_THREE = "BHD IQD JOD KWD LYD OMR TND".split()
_FOUR = "CLF UYW".split()
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD "
    "CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD "
    "GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD "
    "MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP "
    "PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS "
    "TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD YER ZAR ZMW ZWG"
).split()
MINOR_UNITS: dict[str, int] = (
    dict.fromkeys(_TWO, 2)
    | dict.fromkeys(_ZERO, 0)
    | dict.fromkeys(_THREE, 3)
    | dict.fromkeys(_FOUR, 4)
)


class Rounding(StrEnum):
    """How an exact amount becomes a settled one, at the currency's minor unit."""

    HALF_UP = "half_up"
    HALF_EVEN = "half_even"
    UP = "up"
    DOWN = "down"

    @property
    def decimal_mode(self) -> str:
        """The ``decimal`` module's name for this mode (``ROUND_HALF_UP``...), passed explicitly."""
        return _DECIMAL_MODES[self]


_DECIMAL_MODES = {
    Rounding.HALF_UP: decimal.ROUND_HALF_UP,
    Rounding.HALF_EVEN: decimal.ROUND_HALF_EVEN,
    Rounding.UP: decimal.ROUND_UP,
    Rounding.DOWN: decimal.ROUND_DOWN,
}

# Wide enough that no amount a billing system meets is rounded by the context itself.
_EXACT = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN, traps=[decimal.Inexact])
# Settling rounds on purpose (so Inexact is not trapped), always with the mode passed explicitly:
# the ambient context a caller may have changed never decides a cent.
_SETTLE = decimal.Context(
    prec=60, rounding=decimal.ROUND_HALF_EVEN, traps=[decimal.InvalidOperation]
)


def minor_unit(currency: str) -> int:
    """The number of decimals of ``currency``'s minor unit (EUR 2, JPY 0, KWD 3)."""
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise InvalidInput(
            "currency", f"must be an ISO 4217 code such as EUR or USD, got {currency!r}"
        ) from None


def _exponent(currency: str) -> Decimal:
    """The currency's minor unit as a ``Decimal`` quantum (``0.01`` for EUR), built once: every
    settled amount and every stored line asks for it."""
    quantum = _EXPONENTS.get(currency)
    if quantum is None:
        quantum = _EXPONENTS[currency] = Decimal(1).scaleb(-minor_unit(currency), context=_EXACT)
    return quantum


_EXPONENTS: dict[str, Decimal] = {}


@dataclass(frozen=True, slots=True)
class Money:
    """An exact ``Decimal`` amount and its ISO 4217 currency.

    Building one from a float is a ``TypeError`` (floats cannot hold cents exactly); arithmetic and
    comparison across currencies raise ``ValueError``.
    """

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        amount = self.amount
        if not isinstance(amount, Decimal):
            raise TypeError(f"Money needs a Decimal amount, got {type(amount).__name__}")
        if not amount.is_finite():
            raise InvalidInput("amount", f"must be a finite number, got {amount}")
        if self.currency not in MINOR_UNITS:
            minor_unit(self.currency)  # refuses it, naming the field

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Self:
        """Money from a decimal string, an int or a Decimal: ``Money.of("99.00", "EUR")``."""
        if isinstance(amount, bool) or not isinstance(amount, str | int | Decimal):
            raise TypeError(
                f"Money needs a str, int or Decimal amount, got {type(amount).__name__}"
            )
        try:
            return cls(Decimal(amount), currency)
        except decimal.InvalidOperation:
            raise InvalidInput("amount", f"must be a decimal number, got {amount!r}") from None

    @classmethod
    def zero(cls, currency: str) -> Self:
        """Nothing, in ``currency``: the start of a sum (``Money.zero("EUR")`` is EUR 0.00)."""
        return cls(Decimal(0), currency)

    @classmethod
    def sum_of(cls, amounts: Iterable[Money], currency: str) -> Money:
        """The exact sum of ``amounts``, all in ``currency`` (``ValueError`` otherwise); zero for
        none. The same as adding them up one by one, without a ``Money`` per step."""
        minor_unit(currency)
        total = Decimal(0)
        for money in amounts:
            if money.currency != currency:
                raise ValueError(f"cannot combine {currency} with {money.currency}")
            total = _EXACT.add(total, money.amount)
        return cls(total, currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        """Money from integer minor units, the stored form: ``from_minor(4950, "EUR")`` is 49.50."""
        if isinstance(minor, bool) or not isinstance(minor, int):
            raise TypeError(f"minor units are an int, got {type(minor).__name__}")
        # Exact, with the currency's exponent already: 4950 scaled by -2 is 49.50, 0 is 0.00.
        return cls(Decimal(minor).scaleb(-minor_unit(currency), context=_EXACT), currency)

    @classmethod
    def settle_exact(
        cls, value: Fraction | Decimal | int, currency: str, rounding: Rounding
    ) -> Money:
        """Settle an exact value (a ``Fraction`` from proration) to the currency's minor unit.

        This is the one place where exact amounts are rounded: once, per invoice line. Half cases
        are decided on the exact value, so ``Fraction(-1, 200)`` EUR is -0.01 with ``HALF_UP``
        (half away from zero) and 0.00 with ``HALF_EVEN``. A float is a ``TypeError``.
        ``settle_exact(Fraction(1, 3), "EUR", Rounding.HALF_UP)`` is EUR 0.33.
        """
        if isinstance(value, bool) or not isinstance(value, Fraction | Decimal | int):
            raise TypeError(
                f"settle_exact needs a Fraction, Decimal or int, got {type(value).__name__}"
            )
        if isinstance(value, Fraction):
            scale = 10 ** minor_unit(currency)
            minor = _round_ratio(value.numerator * scale, value.denominator, rounding)
            return cls.from_minor(minor, currency)
        return cls(Decimal(value), currency).settle(rounding)

    def settle(self, rounding: Rounding) -> Money:
        """This amount quantized to the currency's minor unit with ``rounding``.

        ``Money.of("0.125", "EUR").settle(Rounding.HALF_UP)`` is EUR 0.13 (``HALF_EVEN``: 0.12).
        A result of zero is always positive zero, so a tiny credit never prints as "-0.00".
        """
        amount = self.amount.quantize(
            _exponent(self.currency), rounding=rounding.decimal_mode, context=_SETTLE
        )
        return Money(amount.copy_abs() if amount.is_zero() else amount, self.currency)

    @property
    def is_settled(self) -> bool:
        """Whether the amount has no digits below the minor unit: 49.50 EUR yes, 49.505 no."""
        return self.amount == self.amount.quantize(_exponent(self.currency), context=_SETTLE)

    @property
    def minor_units(self) -> int:
        """The amount in integer minor units; only a settled amount has one."""
        # Scaled exactly, a settled amount is a whole number: one comparison instead of a
        # quantize (every stored line asks for two of these).
        scaled = self.amount.scaleb(minor_unit(self.currency), context=_EXACT)
        units = int(scaled)
        if units != scaled:
            raise ValueError(f"{self} is not settled to {self.currency}'s minor unit")
        return units

    def as_fraction(self) -> Fraction:
        """The amount as an exact ``Fraction`` for proration arithmetic: 0.10 is 1/10."""
        return _fraction(self.amount)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(_EXACT.add(self.amount, other.amount), self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(_EXACT.subtract(self.amount, other.amount), self.currency)

    def __neg__(self) -> Money:
        return Money(self.amount.copy_negate(), self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int | Decimal):
            raise TypeError(
                f"Money can be multiplied by int or Decimal, not {type(factor).__name__}"
            )
        return Money(_EXACT.multiply(self.amount, Decimal(factor)), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    @property
    def is_zero(self) -> bool:
        """Whether the amount is zero (either sign)."""
        return self.amount == 0

    @property
    def is_negative(self) -> bool:
        """Whether the amount is below zero: a credit (negative zero is not negative)."""
        return self.amount < 0

    def format(self) -> str:
        """The amount as a string with exactly the currency's minor digits: ``"49.50"``.

        An amount that is not settled yet keeps all its digits, in plain notation (``"0.0000001"``,
        never ``"1E-7"``), so a display never hides a fraction of a cent.
        """
        if self.is_settled:
            return str(self.settle(Rounding.HALF_EVEN).amount)
        return format(self.amount, "f")

    def __str__(self) -> str:
        return f"{self.currency} {self.format()}"

    def allocate(self, weights: list[int]) -> list[Money]:
        """Split this settled amount in proportion to ``weights`` without losing a minor unit.

        Each part gets the floor of its share; the leftover minor units go one each to the parts
        with the largest remainders (ties to the earliest), so the parts always add up exactly.
        ``Money.of("100.00", "EUR").allocate([1, 1, 1])`` is 33.34, 33.33, 33.33.
        """
        if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
            raise ValueError("allocate needs non-negative weights with a positive sum")
        total = self.minor_units
        whole = sum(weights)
        sign = -1 if total < 0 else 1
        magnitude = abs(total)
        shares = [divmod(magnitude * w, whole) for w in weights]
        parts = [q for q, _ in shares]
        leftover = magnitude - sum(parts)
        by_remainder = sorted(range(len(weights)), key=lambda i: (-shares[i][1], i))
        for i in by_remainder[:leftover]:
            parts[i] += 1
        return [Money.from_minor(sign * p, self.currency) for p in parts]


@lru_cache(maxsize=1024)
def _fraction(amount: Decimal) -> Fraction:
    # Prices come back line after line; a Fraction is immutable, so each is converted once.
    return Fraction(amount)


def _round_ratio(numerator: int, denominator: int, rounding: Rounding) -> int:
    """Round ``numerator / denominator`` (denominator positive, as a ``Fraction`` keeps it) to an
    integer with ``rounding``, half cases decided exactly, in integers only."""
    floor, remainder = divmod(numerator, denominator)
    if remainder == 0:
        return floor
    # Here floor < value < floor + 1, and value > 0 exactly when floor >= 0.
    if rounding is Rounding.DOWN:
        return floor if floor >= 0 else floor + 1
    if rounding is Rounding.UP:
        return floor + 1 if floor >= 0 else floor
    twice = 2 * remainder
    if twice > denominator:
        return floor + 1
    if twice < denominator:
        return floor
    if rounding is Rounding.HALF_UP:  # half away from zero, as ROUND_HALF_UP does
        return floor + 1 if floor >= 0 else floor
    return floor if floor % 2 == 0 else floor + 1
