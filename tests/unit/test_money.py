"""Money: exact amounts in one currency, settled once to the minor unit, split without losing a cent."""

from __future__ import annotations

import decimal
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatledger.domain.errors import InvalidInput
from seatledger.domain.money import MINOR_UNITS, Money, Rounding, minor_unit

# --- currencies and construction ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "digits", "minor", "shown"),
    [
        pytest.param("JPY", 0, 4950, "4950", id="JPY has no minor unit"),
        pytest.param("EUR", 2, 4950, "49.50", id="EUR has cents"),
        pytest.param("USD", 2, -5, "-0.05", id="USD negative cents"),
        pytest.param("KWD", 3, 4950, "4.950", id="KWD has fils, three digits"),
        pytest.param("CLF", 4, 12345, "1.2345", id="CLF has four digits"),
    ],
)
def test_minor_units_per_currency(currency: str, digits: int, minor: int, shown: str) -> None:
    money = Money.from_minor(minor, currency)

    assert minor_unit(currency) == digits
    assert money.format() == shown
    assert money.minor_units == minor
    assert money == Money.of(shown, currency)


@pytest.mark.parametrize(
    "currency",
    [
        pytest.param("eur", id="lower case"),
        pytest.param("EURO", id="four letters"),
        pytest.param("XXX", id="not a billing currency"),
        pytest.param("", id="empty"),
    ],
)
def test_unknown_currency_is_refused_by_name(currency: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Money.of("1.00", currency)

    assert caught.value.field == "currency"
    assert repr(currency) in caught.value.rule


def test_every_listed_currency_has_a_plausible_minor_unit() -> None:
    assert all(len(code) == 3 and code.isupper() for code in MINOR_UNITS)
    assert set(MINOR_UNITS.values()) == {0, 2, 3, 4}


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        pytest.param("99.00", "EUR", Decimal("99.00"), id="decimal string"),
        pytest.param("-0.5", "EUR", Decimal("-0.5"), id="negative string, not settled"),
        pytest.param(99, "EUR", Decimal(99), id="int"),
        pytest.param(Decimal("950.40"), "EUR", Decimal("950.40"), id="Decimal"),
        pytest.param(" 12.5 ", "USD", Decimal("12.5"), id="string with spaces"),
    ],
)
def test_of_keeps_the_exact_amount(
    amount: str | int | Decimal, currency: str, expected: Decimal
) -> None:
    money = Money.of(amount, currency)

    assert money.amount == expected
    assert money.currency == currency


@pytest.mark.parametrize(
    "amount",
    [
        pytest.param(0.1, id="float 0.1"),
        pytest.param(99.0, id="float 99.0"),
        pytest.param(True, id="bool"),
        pytest.param(Fraction(1, 2), id="Fraction (settle it instead)"),
        pytest.param(None, id="None"),
    ],
)
def test_of_refuses_floats_and_other_types(amount: object) -> None:
    with pytest.raises(TypeError):
        Money.of(amount, "EUR")  # type: ignore[arg-type]


def test_constructor_refuses_a_float_amount() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        Money(0.1, "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "rule"),
    [
        pytest.param("12,50", "decimal number", id="comma decimal separator"),
        pytest.param("ten", "decimal number", id="words"),
        pytest.param("", "decimal number", id="empty"),
        pytest.param("NaN", "finite", id="NaN"),
        pytest.param("Infinity", "finite", id="infinity"),
    ],
)
def test_of_refuses_text_that_is_not_a_finite_number(amount: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Money.of(amount, "EUR")

    assert caught.value.field == "amount"
    assert rule in caught.value.rule


@pytest.mark.parametrize(
    "minor",
    [pytest.param(49.5, id="float"), pytest.param(True, id="bool"), pytest.param("4950", id="str")],
)
def test_from_minor_needs_an_int(minor: object) -> None:
    with pytest.raises(TypeError, match="int"):
        Money.from_minor(minor, "EUR")  # type: ignore[arg-type]


def test_zero_is_settled_zero_in_its_currency() -> None:
    zero = Money.zero("KWD")

    assert zero.is_zero and zero.is_settled and not zero.is_negative
    assert str(zero) == "KWD 0.000"


# --- mixed currencies and arithmetic ---------------------------------------------------------------


@pytest.mark.parametrize(
    "combine",
    [
        pytest.param(lambda a, b: a + b, id="add"),
        pytest.param(lambda a, b: a - b, id="subtract"),
        pytest.param(lambda a, b: a < b, id="less than"),
        pytest.param(lambda a, b: a <= b, id="at most"),
        pytest.param(lambda a, b: a > b, id="greater than"),
        pytest.param(lambda a, b: a >= b, id="at least"),
    ],
)
def test_mixed_currencies_are_refused(combine: Callable[[Money, Money], object]) -> None:
    with pytest.raises(ValueError, match="EUR with USD"):
        combine(Money.of("1.00", "EUR"), Money.of("1.00", "USD"))


def test_money_does_not_combine_with_a_bare_number() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        Money.of("1.00", "EUR") + Decimal(1)  # type: ignore[operator]


def test_money_of_different_currencies_is_never_equal() -> None:
    assert Money.of("1.00", "EUR") != Money.of("1.00", "USD")
    assert Money.of("1.0", "EUR") == Money.of("1.00", "EUR")


@pytest.mark.parametrize(
    ("left", "op", "right", "expected"),
    [
        pytest.param("99.00", "+", "49.50", "148.50", id="add"),
        pytest.param("49.50", "-", "99.00", "-49.50", id="subtract below zero"),
        pytest.param("0.1", "+", "0.2", "0.3", id="no binary float drift"),
        pytest.param("99.00", "*", 3, "297.00", id="times int"),
        pytest.param("99.00", "*", Decimal("0.8"), "79.200", id="times Decimal stays exact"),
        pytest.param("33.333", "*", 3, "99.999", id="exact beyond the minor unit"),
    ],
)
def test_arithmetic_is_exact(left: str, op: str, right: str | int | Decimal, expected: str) -> None:
    a = Money.of(left, "EUR")
    if op == "+":
        result = a + Money.of(str(right), "EUR")
    elif op == "-":
        result = a - Money.of(str(right), "EUR")
    else:
        assert not isinstance(right, str)
        result = a * right
        assert right * a == result

    assert result.amount == Decimal(expected)
    assert result.currency == "EUR"


@pytest.mark.parametrize(
    "factor",
    [pytest.param(0.5, id="float"), pytest.param(True, id="bool"), pytest.param("2", id="str")],
)
def test_multiplying_by_a_float_is_refused(factor: object) -> None:
    with pytest.raises(TypeError, match="int or Decimal"):
        Money.of("10.00", "EUR") * factor  # type: ignore[operator]


def test_arithmetic_refuses_results_beyond_sixty_digits_rather_than_rounding() -> None:
    huge = Money.of("1" + "0" * 59, "EUR")

    with pytest.raises(decimal.Inexact):
        huge + Money.of("0.01", "EUR")


def test_negation_and_signs() -> None:
    credit = -Money.of("49.50", "EUR")

    assert credit.amount == Decimal("-49.50")
    assert credit.is_negative and not credit.is_zero
    assert -credit == Money.of("49.50", "EUR")


def test_ordering_within_one_currency() -> None:
    small, large = Money.of("9.99", "EUR"), Money.of("10.00", "EUR")

    assert small < large and small <= large and large > small and large >= small
    assert small <= Money.of("9.990", "EUR") and small >= Money.of("9.990", "EUR")
    assert not small > large and not large < small


def test_as_fraction_is_exact() -> None:
    assert Money.of("0.10", "EUR").as_fraction() == Fraction(1, 10)


# --- settling ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "half_up", "half_even"),
    [
        pytest.param("0.005", "EUR", "0.01", "0.00", id="EUR 0.005: up vs to even 0"),
        pytest.param("0.015", "EUR", "0.02", "0.02", id="EUR 0.015: both to 0.02"),
        pytest.param("0.025", "EUR", "0.03", "0.02", id="EUR 0.025: up vs to even 2"),
        pytest.param("2.675", "EUR", "2.68", "2.68", id="EUR 2.675 is exact, not a float"),
        pytest.param("-0.005", "EUR", "-0.01", "0.00", id="EUR -0.005: away from zero vs even"),
        pytest.param("-0.015", "EUR", "-0.02", "-0.02", id="EUR -0.015"),
        pytest.param("0.0049", "EUR", "0.00", "0.00", id="EUR below half"),
        pytest.param("0.0051", "EUR", "0.01", "0.01", id="EUR above half"),
        pytest.param("0.5", "JPY", "1", "0", id="JPY half a yen"),
        pytest.param("1.5", "JPY", "2", "2", id="JPY one and a half"),
        pytest.param("0.0005", "KWD", "0.001", "0.000", id="KWD half a fils"),
        pytest.param("49.50", "EUR", "49.50", "49.50", id="already settled"),
    ],
)
def test_settle_half_up_vs_half_even(
    amount: str, currency: str, half_up: str, half_even: str
) -> None:
    money = Money.of(amount, currency)

    assert money.settle(Rounding.HALF_UP).format() == half_up
    assert money.settle(Rounding.HALF_EVEN).format() == half_even
    assert money.settle(Rounding.HALF_UP).is_settled


@pytest.mark.parametrize(
    ("amount", "up", "down"),
    [
        pytest.param("0.001", "0.01", "0.00", id="tiny positive"),
        pytest.param("-0.001", "-0.01", "0.00", id="tiny negative"),
        pytest.param("1.999", "2.00", "1.99", id="just below a whole"),
    ],
)
def test_settle_up_and_down_are_away_from_and_towards_zero(amount: str, up: str, down: str) -> None:
    money = Money.of(amount, "EUR")

    assert money.settle(Rounding.UP).format() == up
    assert money.settle(Rounding.DOWN).format() == down


def test_a_settled_zero_never_prints_negative() -> None:
    settled = Money.of("-0.004", "EUR").settle(Rounding.HALF_UP)

    assert str(settled) == "EUR 0.00"
    assert str(Money.of("-0.00", "EUR")) == "EUR 0.00"
    assert not settled.is_negative


def test_settling_ignores_the_ambient_decimal_context() -> None:
    with decimal.localcontext() as ctx:
        ctx.prec = 3
        ctx.rounding = decimal.ROUND_DOWN
        ctx.traps[decimal.Inexact] = True
        settled = Money.of("123456.785", "EUR").settle(Rounding.HALF_UP)
        stored = Money.from_minor(12345678, "EUR")

    assert settled.format() == "123456.79"
    assert stored.format() == "123456.78"


def test_rounding_names_its_decimal_mode() -> None:
    assert Rounding("half_up").decimal_mode == decimal.ROUND_HALF_UP
    assert Rounding("half_even").decimal_mode == decimal.ROUND_HALF_EVEN
    assert Rounding.UP.decimal_mode == decimal.ROUND_UP
    assert Rounding.DOWN.decimal_mode == decimal.ROUND_DOWN


@pytest.mark.parametrize(
    ("value", "currency", "rounding", "expected"),
    [
        pytest.param(Fraction(99, 2), "EUR", Rounding.HALF_UP, "49.50", id="half of EUR 99"),
        pytest.param(Fraction(1, 3), "EUR", Rounding.HALF_UP, "0.33", id="a third"),
        pytest.param(Fraction(2, 3), "EUR", Rounding.HALF_EVEN, "0.67", id="two thirds"),
        pytest.param(
            Fraction(99 * 15, 31), "EUR", Rounding.HALF_UP, "47.90", id="15 of 31 days of 99"
        ),
        pytest.param(Fraction(1, 200), "EUR", Rounding.HALF_UP, "0.01", id="exact half cent up"),
        pytest.param(Fraction(1, 200), "EUR", Rounding.HALF_EVEN, "0.00", id="half cent to even 0"),
        pytest.param(Fraction(3, 200), "EUR", Rounding.HALF_EVEN, "0.02", id="1.5 cents to even 2"),
        pytest.param(
            Fraction(-1, 200), "EUR", Rounding.HALF_UP, "-0.01", id="negative half cent away"
        ),
        pytest.param(
            Fraction(-1, 200), "EUR", Rounding.HALF_EVEN, "0.00", id="negative half cent even 0"
        ),
        pytest.param(
            Fraction(-3, 200), "EUR", Rounding.HALF_EVEN, "-0.02", id="negative 1.5 cents even"
        ),
        pytest.param(Fraction(-5, 2), "JPY", Rounding.HALF_UP, "-3", id="JPY -2.5 half up"),
        pytest.param(Fraction(-5, 2), "JPY", Rounding.HALF_EVEN, "-2", id="JPY -2.5 half even"),
        pytest.param(Fraction(-7, 2), "JPY", Rounding.HALF_EVEN, "-4", id="JPY -3.5 half even"),
        pytest.param(Fraction(-8, 3), "JPY", Rounding.HALF_UP, "-3", id="JPY -2.67 nearest"),
        pytest.param(Fraction(-7, 3), "JPY", Rounding.HALF_UP, "-2", id="JPY -2.33 nearest"),
        pytest.param(Fraction(1, 3), "EUR", Rounding.UP, "0.34", id="a third up"),
        pytest.param(Fraction(-1, 3), "EUR", Rounding.UP, "-0.34", id="minus a third up"),
        pytest.param(Fraction(2, 3), "EUR", Rounding.DOWN, "0.66", id="two thirds down"),
        pytest.param(Fraction(-2, 3), "EUR", Rounding.DOWN, "-0.66", id="minus two thirds down"),
        pytest.param(Fraction(1, 2000), "KWD", Rounding.HALF_UP, "0.001", id="KWD half fils"),
        pytest.param(Fraction(4950, 100), "EUR", Rounding.DOWN, "49.50", id="exact fraction"),
        pytest.param(Decimal("0.125"), "EUR", Rounding.HALF_EVEN, "0.12", id="Decimal input"),
        pytest.param(7, "EUR", Rounding.HALF_UP, "7.00", id="int input"),
    ],
)
def test_settle_exact(
    value: Fraction | Decimal | int, currency: str, rounding: Rounding, expected: str
) -> None:
    settled = Money.settle_exact(value, currency, rounding)

    assert settled == Money.of(expected, currency)
    assert settled.format() == expected


@pytest.mark.parametrize(
    "value",
    [pytest.param(0.5, id="float"), pytest.param(True, id="bool"), pytest.param("1", id="str")],
)
def test_settle_exact_refuses_floats(value: object) -> None:
    with pytest.raises(TypeError, match="Fraction, Decimal or int"):
        Money.settle_exact(value, "EUR", Rounding.HALF_UP)  # type: ignore[arg-type]


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-(10**12),
                max_value=10**12),
    st.sampled_from(["EUR", "JPY", "KWD"]),
)  # fmt: skip
def test_an_amount_has_minor_units_exactly_when_it_is_settled(
    amount: Decimal, currency: str
) -> None:
    money = Money(amount, currency)
    if not money.is_settled:
        with pytest.raises(ValueError, match="not settled"):
            _ = money.minor_units
        return
    digits = minor_unit(currency)
    assert money.minor_units == amount * 10**digits
    assert Money.from_minor(money.minor_units, currency) == money


@pytest.mark.parametrize(
    ("amount", "settled", "minor"),
    [
        pytest.param("49.50", True, 4950, id="cents"),
        pytest.param("49.5", True, 4950, id="one digit"),
        pytest.param("49", True, 4900, id="whole"),
        pytest.param("1E+2", True, 10000, id="exponent form"),
        pytest.param("49.505", False, None, id="half a cent"),
        pytest.param("49.500", True, 4950, id="trailing zeros"),
        pytest.param("-0.00", True, 0, id="negative zero"),
        pytest.param("-0.001", False, None, id="a tenth of a cent below zero"),
    ],
)
def test_is_settled_and_minor_units(amount: str, settled: bool, minor: int | None) -> None:
    money = Money.of(amount, "EUR")

    assert money.is_settled is settled
    if minor is None:
        with pytest.raises(ValueError, match="not settled"):
            _ = money.minor_units
    else:
        assert money.minor_units == minor


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        pytest.param("49.5", "EUR", "EUR 49.50", id="padded to cents"),
        pytest.param("1E+2", "JPY", "JPY 100", id="no exponent notation"),
        pytest.param("0.0000001", "EUR", "EUR 0.0000001", id="unsettled keeps every digit"),
        pytest.param("-12.345", "EUR", "EUR -12.345", id="unsettled negative"),
        pytest.param("3", "KWD", "KWD 3.000", id="three digits"),
    ],
)
def test_format_and_str(amount: str, currency: str, shown: str) -> None:
    assert str(Money.of(amount, currency)) == shown


# --- allocate ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "weights", "parts"),
    [
        pytest.param("100.00", "EUR", [1, 1, 1], ["33.34", "33.33", "33.33"], id="100 by three"),
        pytest.param(
            "-100.00", "EUR", [1, 1, 1], ["-33.34", "-33.33", "-33.33"], id="-100 by three"
        ),
        pytest.param("0.05", "EUR", [1, 1, 1], ["0.02", "0.02", "0.01"], id="5 cents by three"),
        pytest.param(
            "10.00", "EUR", [1, 0, 1], ["5.00", "0.00", "5.00"], id="a zero weight gets nothing"
        ),
        pytest.param(
            "0.01", "EUR", [0, 1, 1], ["0.00", "0.01", "0.00"], id="one cent, earliest tie wins"
        ),
        pytest.param(
            "1.00", "EUR", [1, 2], ["0.33", "0.67"], id="one to two, remainder to larger share"
        ),
        pytest.param("100", "JPY", [3, 3, 1], ["43", "43", "14"], id="JPY by weights"),
        pytest.param("1.000", "KWD", [1] * 3, ["0.334", "0.333", "0.333"], id="KWD three digits"),
        pytest.param("0.00", "EUR", [2, 5], ["0.00", "0.00"], id="nothing to split"),
        pytest.param("7.00", "EUR", [4], ["7.00"], id="a single part takes all"),
    ],
)
def test_allocate(amount: str, currency: str, weights: list[int], parts: list[str]) -> None:
    money = Money.of(amount, currency)

    result = money.allocate(weights)

    assert [p.format() for p in result] == parts
    assert sum((p for p in result), Money.zero(currency)) == money


@pytest.mark.parametrize(
    "weights",
    [
        pytest.param([], id="no weights"),
        pytest.param([0, 0], id="all zero"),
        pytest.param([1, -1, 1], id="a negative weight"),
    ],
)
def test_allocate_refuses_weights_without_a_positive_sum(weights: list[int]) -> None:
    with pytest.raises(ValueError, match="non-negative weights"):
        Money.of("1.00", "EUR").allocate(weights)


def test_allocate_needs_a_settled_amount() -> None:
    with pytest.raises(ValueError, match="not settled"):
        Money.of("1.005", "EUR").allocate([1, 1])


# --- properties ----------------------------------------------------------------------------------

CURRENCIES = st.sampled_from(["JPY", "EUR", "USD", "KWD"])
ROUNDINGS = st.sampled_from(list(Rounding))


@given(
    minor=st.integers(min_value=-(10**12), max_value=10**12),
    currency=CURRENCIES,
    weights=st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12).filter(
        lambda ws: sum(ws) > 0
    ),
)
def test_allocate_parts_always_add_up(minor: int, currency: str, weights: list[int]) -> None:
    money = Money.from_minor(minor, currency)

    parts = money.allocate(weights)

    assert len(parts) == len(weights)
    assert sum(p.minor_units for p in parts) == minor
    assert all(p.is_settled and p.currency == currency for p in parts)
    for part, weight in zip(parts, weights, strict=True):
        # Each part is within one minor unit of its exact share, and a zero weight gets nothing.
        exact = Fraction(minor * weight, sum(weights))
        assert abs(part.minor_units - exact) < 1
        if weight == 0:
            assert part.is_zero


@given(
    minor=st.integers(min_value=-(10**12), max_value=10**12),
    currency=CURRENCIES,
    count=st.integers(min_value=1, max_value=50),
)
def test_allocate_equal_weights_differ_by_at_most_one_minor_unit(
    minor: int, currency: str, count: int
) -> None:
    parts = [p.minor_units for p in Money.from_minor(minor, currency).allocate([1] * count)]

    assert sum(parts) == minor
    assert max(parts) - min(parts) <= 1
    # The larger parts come first, so the same split always reads the same.
    assert parts == sorted(parts, key=abs, reverse=True)


AMOUNTS = st.decimals(
    min_value=Decimal(-(10**9)), max_value=Decimal(10**9), allow_nan=False, places=6
)


@given(amount=AMOUNTS, currency=CURRENCIES, rounding=ROUNDINGS, again=ROUNDINGS)
def test_settle_is_idempotent(
    amount: Decimal, currency: str, rounding: Rounding, again: Rounding
) -> None:
    settled = Money(amount, currency).settle(rounding)

    assert settled.is_settled
    assert settled.settle(again) == settled
    assert Money.from_minor(settled.minor_units, currency) == settled
    assert abs(settled.amount - amount) < Decimal(1).scaleb(-minor_unit(currency))


@given(
    numerator=st.integers(min_value=-(10**9), max_value=10**9),
    denominator=st.integers(min_value=1, max_value=10**6),
    currency=CURRENCIES,
    rounding=ROUNDINGS,
)
def test_settle_exact_agrees_with_decimal_quantize(
    numerator: int, denominator: int, currency: str, rounding: Rounding
) -> None:
    # Any fraction whose denominator divides a power of ten is an exact Decimal too; both paths
    # must settle it to the same amount.
    value = Fraction(numerator, denominator)
    digits = 12
    if (value * 10**digits).denominator != 1:
        value = Fraction(round(value * 10**digits), 10**digits)
    exact_decimal = Decimal(value.numerator) / Decimal(value.denominator)

    assert Money.settle_exact(value, currency, rounding) == Money.settle_exact(
        exact_decimal, currency, rounding
    )


# --- sums ----------------------------------------------------------------------------------------


@given(st.lists(st.integers(min_value=-(10**12), max_value=10**12), max_size=12))
def test_sum_of_is_the_sum_added_up_one_by_one(minors: list[int]) -> None:
    amounts = [Money.from_minor(m, "EUR") for m in minors]
    one_by_one = Money.zero("EUR")
    for amount in amounts:
        one_by_one = one_by_one + amount

    total = Money.sum_of(amounts, "EUR")

    assert total == one_by_one
    assert total.minor_units == sum(minors)


def test_sum_of_nothing_is_zero_and_other_currencies_are_refused() -> None:
    assert Money.sum_of([], "JPY") == Money.zero("JPY")
    with pytest.raises(ValueError, match="cannot combine EUR with USD"):
        Money.sum_of([Money.of("1.00", "EUR"), Money.of("1.00", "USD")], "EUR")
    with pytest.raises(InvalidInput, match="currency"):
        Money.sum_of([], "XXX")


@given(
    st.fractions(max_denominator=10**6).filter(lambda f: abs(f) < 10**9),
    st.sampled_from(["EUR", "JPY", "KWD"]),
    st.sampled_from(list(Rounding)),
)
def test_settle_exact_matches_decimal_rounding_of_the_exact_value(
    value: Fraction, currency: str, rounding: Rounding
) -> None:
    # The value to 80 digits, then quantized by the decimal module with the same mode: 80 digits
    # hold every half case of these values exactly and never move any other across a half.
    context = decimal.Context(prec=80)
    expected = context.divide(Decimal(value.numerator), Decimal(value.denominator)).quantize(
        Decimal(1).scaleb(-minor_unit(currency)), rounding=rounding.decimal_mode
    )
    settled = Money.settle_exact(value, currency, rounding)
    assert settled.amount == expected
    assert settled.amount.as_tuple().exponent == -minor_unit(currency)
