"""Properties every proration style keeps, whatever the period, the instant, the price or the
quantities: adding seats and removing them at the same instant nets to exactly zero where the style
credits (and credits nothing where it does not), and a change at the start of a period costs the
full price, as does a subscription opened at the start of its period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from seatledger.domain.billing import SeatBilling, opening_lines, price_seat_change
from seatledger.domain.money import Money
from seatledger.domain.periods import Interval, Period, period_n
from seatledger.domain.policy import Policy, policy_from_mapping
from seatledger.domain.proration_policy import OnDecrease
from seatledger.domain.proration_styles import STYLES

# Hypothesis takes naive bounds and attaches the zone itself. Anchors on the 29th to 31st are drawn
# on purpose too: that is where clamping makes periods of 28 to 31 days.
anchors = st.one_of(
    st.datetimes(
        min_value=datetime(2011, 1, 1),  # noqa: DTZ001
        max_value=datetime(2030, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    ).map(lambda instant: instant.replace(microsecond=0)),
    st.builds(
        lambda year, month, day: datetime(year, month, day, tzinfo=UTC),
        st.integers(2011, 2030),
        st.sampled_from([1, 3, 5, 7, 8, 10, 12]),
        st.integers(29, 31),
    ),
)
intervals = st.sampled_from(["month", "quarter", "year"])
prices = st.integers(min_value=1, max_value=10_000_000).map(
    lambda cents: str(Decimal(cents).scaleb(-2))
)


def styled(style: str, interval: str, price: str) -> Policy:
    return policy_from_mapping(
        {
            "billable_roles": ["owner", "member"],
            "free_roles": [],
            "currency": "USD",
            "interval": interval,
            "seat_price": price,
            "proration": {"style": style},
        }
    )


@st.composite
def periods(draw: st.DrawFn, interval: str) -> Period:
    return period_n(draw(anchors), Interval.parse(interval), draw(st.integers(0, 30)))


@st.composite
def instants(draw: st.DrawFn, period: Period) -> datetime:
    return period.start + timedelta(seconds=draw(st.integers(0, period.seconds - 1)))


@given(
    style=st.sampled_from(sorted(STYLES)),
    interval=intervals,
    price=prices,
    seats=st.integers(0, 40),
    added=st.integers(1, 40),
    data=st.data(),
)
def test_adding_and_removing_seats_at_the_same_instant_nets_to_zero_where_the_style_credits(
    style: str, interval: str, price: str, seats: int, added: int, data: st.DataObject
) -> None:
    policy = styled(style, interval, price)
    period = data.draw(periods(interval))
    instant = data.draw(instants(period))
    state = SeatBilling(period, seats, seats, seats)

    up = price_seat_change(state, policy, instant, seats + added)
    down = price_seat_change(up.state, policy, instant, seats)

    [charge] = up.charges
    if policy.proration.on_decrease is OnDecrease.NONE:
        assert down.credits == ()
    else:
        [credit] = down.credits
        assert charge.amount + credit.amount == Money.zero("USD")


@given(
    style=st.sampled_from(sorted(STYLES)),
    interval=intervals,
    price=prices,
    seats=st.integers(0, 40),
    added=st.integers(1, 40),
    data=st.data(),
)
def test_a_change_at_the_start_of_a_period_costs_the_full_price(
    style: str, interval: str, price: str, seats: int, added: int, data: st.DataObject
) -> None:
    policy = styled(style, interval, price)
    period = data.draw(periods(interval))
    state = SeatBilling(period, seats, seats, seats)

    [charge] = price_seat_change(state, policy, period.start, seats + added).charges

    assert charge.amount == policy.seat_price * added


@given(
    style=st.sampled_from(sorted(STYLES)),
    interval=intervals,
    price=prices,
    seats=st.integers(1, 40),
    data=st.data(),
)
def test_a_subscription_opened_at_the_start_of_its_period_pays_the_full_price(
    style: str, interval: str, price: str, seats: int, data: st.DataObject
) -> None:
    policy = styled(style, interval, price)
    period = data.draw(periods(interval))

    [line] = opening_lines(policy, start=period.start, period=period, seats=seats, addons={})

    assert line.amount == policy.seat_price * seats
