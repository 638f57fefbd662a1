"""The admin pages' parts without a browser: money and dates in words, the seat preview sentence,
signed tokens, and how pasted e-mail lists are read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from seatledger.domain.money import Money
from seatledger.domain.periods import Interval, IntervalUnit, Period
from seatledger.policy_files import resolve_policy
from seatledger.web import formatting
from seatledger.web.billing import parse_seats, price_sentence
from seatledger.web.members import split_emails
from seatledger.web.sessions import (
    BadToken,
    csrf_token,
    csrf_valid,
    flash_cookie,
    make_link_token,
    new_session,
    read_flash,
    read_link_token,
    read_session,
    session_cookie,
    session_secret,
    sign,
    unsign,
)

SECRET = b"parts-secret-0123456789abcdef-0123456789"
APRIL_16 = datetime(2026, 4, 16, tzinfo=UTC)
MAY_1 = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        pytest.param("49.50", "EUR", "EUR 49.50", id="eur-two-digits"),
        pytest.param("198", "EUR", "EUR 198.00", id="eur-whole"),
        pytest.param("1200", "JPY", "JPY 1,200", id="jpy-no-minor-unit"),
        pytest.param("1.234", "KWD", "KWD 1.234", id="kwd-three-digits"),
        pytest.param("-49.50", "EUR", "-EUR 49.50", id="credit"),
        pytest.param("1234567.50", "USD", "USD 1,234,567.50", id="grouping"),
    ],
)
def test_money_is_written_with_the_currency_code_and_its_minor_digits(
    amount: str, currency: str, text: str
) -> None:
    assert formatting.money(Money.of(amount, currency)) == text


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        pytest.param(APRIL_16, MAY_1, 15, id="whole-days"),
        pytest.param(APRIL_16 + timedelta(hours=10), MAY_1, 15, id="the-day-of-the-change-counts"),
        pytest.param(MAY_1 - timedelta(seconds=1), MAY_1, 1, id="one-second-is-a-day"),
        pytest.param(APRIL_16, APRIL_16 + timedelta(days=1), 1, id="one-day"),
    ],
)
def test_days_a_period_touches(start: datetime, end: datetime, days: int) -> None:
    assert formatting.duration_days(Period(start, end)) == days


@pytest.mark.parametrize(
    ("interval", "label", "per"),
    [
        pytest.param(Interval(IntervalUnit.MONTH), "Monthly", "a month", id="month"),
        pytest.param(Interval(IntervalUnit.YEAR), "Yearly", "a year", id="year"),
        pytest.param(
            Interval(IntervalUnit.MONTH, 3), "Every 3 months", "every 3 months", id="3-months"
        ),
    ],
)
def test_intervals_in_words(interval: Interval, label: str, per: str) -> None:
    assert formatting.interval_label(interval) == label
    assert formatting.per_interval(interval) == per


@pytest.mark.parametrize(
    ("preset", "sentence"),
    [
        pytest.param(
            "reviewer-pro",
            "EUR 99.00 a month including 2 seats, then EUR 99.00 per seat",
            id="reviewer-pro",
        ),
        pytest.param(
            "reviewer-pro-annual",
            "EUR 950.40 a year including 2 seats, then EUR 950.40 per seat",
            id="reviewer-annual",
        ),
        pytest.param("plaky", "USD 10.00 per seat a month", id="plaky-no-base-fee"),
    ],
)
def test_the_price_of_a_plan_in_words(preset: str, sentence: str) -> None:
    assert price_sentence(resolve_policy(preset), "en") == sentence


def test_role_names_read_as_words() -> None:
    assert formatting.role_label("program_facilitator") == "Program facilitator"
    assert formatting.plural(1, "seat") == "1 seat"
    assert formatting.plural(3, "seat") == "3 seats"


@pytest.mark.parametrize(
    ("text", "emails"),
    [
        pytest.param("a@x.test", ["a@x.test"], id="one"),
        pytest.param(
            "a@x.test, b@x.test;c@x.test", ["a@x.test", "b@x.test", "c@x.test"], id="commas"
        ),
        pytest.param(" a@x.test\n\n b@x.test \n", ["a@x.test", "b@x.test"], id="lines"),
        pytest.param("  \n ", [], id="blank"),
    ],
)
def test_pasted_email_lists(text: str, emails: list[str]) -> None:
    assert split_emails(text) == emails


@pytest.mark.parametrize(
    ("text", "seats"),
    [("3", 3), (" 12 ", 12), ("0", 0), ("-1", None), ("2.5", None), ("", None), ("1e3", None)],
)
def test_seat_numbers_typed_in_the_seat_field(text: str, seats: int | None) -> None:
    assert parse_seats(text) == seats


def test_a_token_is_refused_for_another_purpose_or_when_altered() -> None:
    token = sign(SECRET, "flash", {"m": "hello"})
    assert unsign(SECRET, "flash", token) == {"m": "hello"}
    with pytest.raises(BadToken):
        unsign(SECRET, "session", token)
    with pytest.raises(BadToken):
        unsign(b"another-secret-0123456789abcdef-0123", "flash", token)
    body, mac = token.split(".")
    with pytest.raises(BadToken):
        unsign(SECRET, "flash", f"{body}x.{mac}")
    assert read_flash(SECRET, token) == "hello"
    assert read_flash(SECRET, sign(SECRET, "link", {"m": "x"})) is None


def test_a_link_is_valid_strictly_before_it_expires() -> None:
    token = make_link_token(
        SECRET,
        account_id="acc_1",
        workspace="studio",
        email=" Ana@Studio.Test ",
        now=APRIL_16,
        lifetime=timedelta(hours=1),
    )
    identity = read_link_token(SECRET, token, now=APRIL_16 + timedelta(minutes=59, seconds=59))
    assert (identity.account_id, identity.workspace, identity.email) == (
        "acc_1",
        "studio",
        "ana@studio.test",
    )
    with pytest.raises(BadToken, match="has expired"):
        read_link_token(SECRET, token, now=APRIL_16 + timedelta(hours=1))


def test_a_session_cookie_carries_its_identity_and_its_csrf_token() -> None:
    identity = read_link_token(
        SECRET,
        make_link_token(SECRET, account_id="acc_1", workspace="w", email="a@x.test", now=APRIL_16),
        now=APRIL_16,
    )
    session = new_session(identity, now=APRIL_16)
    cookie = session_cookie(SECRET, session)
    read = read_session(SECRET, cookie, now=APRIL_16)
    assert read == session
    assert read_session(SECRET, cookie, now=session.expires_at) is None
    assert read_session(SECRET, flash_cookie(SECRET, "x"), now=APRIL_16) is None
    assert csrf_valid(SECRET, session, csrf_token(SECRET, session))
    other = new_session(identity, now=APRIL_16)
    assert not csrf_valid(SECRET, other, csrf_token(SECRET, session))
    assert not csrf_valid(SECRET, session, None)


def test_the_secret_comes_from_the_environment_or_is_made_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Set (empty) through monkeypatch, so the secret made here is removed again afterwards.
    monkeypatch.setenv("SEATLEDGER_SECRET_KEY", "")
    made = session_secret()
    assert len(made) >= 32
    assert session_secret() == made  # exported: worker processes started later share it
    monkeypatch.setenv("SEATLEDGER_SECRET_KEY", "too-short")
    with pytest.raises(ValueError, match="at least 32 bytes"):
        session_secret()
