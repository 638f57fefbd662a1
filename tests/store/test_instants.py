"""Instants are stored as UTC and read back as aware UTC datetimes, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url

from seatledger.domain.errors import InvalidInput
from seatledger.service.ports import Account, Person
from seatledger.store import SqlUnitOfWork
from seatledger.store.engine import make_engine
from seatledger.store.tables import accounts
from seatledger.store.types import UTCDateTime

KOLKATA = timezone(timedelta(hours=5, minutes=30))
NEW_YORK_WINTER = timezone(timedelta(hours=-5))


@pytest.mark.parametrize(
    "written",
    [
        pytest.param(datetime(2026, 4, 1, tzinfo=UTC), id="utc"),
        pytest.param(datetime(2026, 4, 1, 5, 30, tzinfo=KOLKATA), id="kolkata-same-instant"),
        pytest.param(datetime(2026, 1, 31, 23, 59, 59, 999_999, tzinfo=UTC), id="microseconds"),
        pytest.param(datetime(2025, 12, 31, 20, 0, tzinfo=NEW_YORK_WINTER), id="crosses-year"),
    ],
)
def test_an_instant_comes_back_as_the_same_aware_utc_instant(
    uow: SqlUnitOfWork, written: datetime
) -> None:
    with uow:
        uow.accounts.add(Account("acc_1", "One", written))
        uow.commit()
    with uow:
        read = uow.accounts.get("acc_1").created_at
    assert read == written
    assert read.tzinfo is UTC
    assert read.isoformat() == written.astimezone(UTC).isoformat()


def test_a_naive_datetime_is_refused_before_it_reaches_the_database(uow: SqlUnitOfWork) -> None:
    naive = datetime(2026, 4, 1)  # noqa: DTZ001 - the naive instant is the point
    with uow, pytest.raises(InvalidInput) as refused:
        uow.accounts.add(Account("acc_1", "One", naive))
    assert refused.value.field == "instant"
    assert "naive 2026-04-01T00:00:00" in refused.value.message


def test_nullable_instants_stay_null(uow: SqlUnitOfWork) -> None:
    at = datetime(2026, 4, 1, tzinfo=UTC)
    with uow:
        uow.accounts.add(Account("acc_1", "One", at))
        uow.persons.add(Person("acc_1", "per_1", "ana@x.test", "Ana", at))
        uow.commit()
    with uow:
        assert uow.persons.get("acc_1", "per_1").erased_at is None


# Hypothesis takes its bounds naive and adds the zones itself.
@given(
    st.datetimes(
        min_value=datetime(1000, 1, 1),  # noqa: DTZ001
        timezones=st.sampled_from([UTC, KOLKATA, NEW_YORK_WINTER]),
    )
)
def test_sqlite_stores_an_instant_as_its_datetime_type_would(instant: datetime) -> None:
    # UTCDateTime makes SQLite's text in one step; it must be exactly the dialect's own.
    dialect = sqlite.dialect()
    ours = UTCDateTime().bind_processor(dialect)
    theirs = sqlite.DATETIME().bind_processor(dialect)
    assert ours is not None and theirs is not None
    assert ours(instant) == theirs(instant.astimezone(UTC).replace(tzinfo=None))
    assert ours(None) is None


def test_sqlite_text_of_a_kept_instant_is_right_and_a_naive_one_still_refused() -> None:
    # The text of each instant is kept: the same instant in another zone has the same text, and
    # a naive datetime equal in its fields to a kept instant is refused all the same.
    process = UTCDateTime().bind_processor(sqlite.dialect())
    assert process is not None
    instant = datetime(2026, 4, 1, 5, 30, tzinfo=UTC)
    assert process(instant) == "2026-04-01 05:30:00.000000"
    assert process(instant.astimezone(KOLKATA)) == "2026-04-01 05:30:00.000000"
    assert process(datetime(2026, 4, 1, 11, tzinfo=KOLKATA)) == "2026-04-01 05:30:00.000000"
    with pytest.raises(InvalidInput, match="timezone-aware"):
        process(instant.replace(tzinfo=None))
    # Past the number it keeps, it starts again and stays right.
    for minute in range(600):
        later = instant + timedelta(minutes=minute)
        assert process(later) == later.replace(tzinfo=None).isoformat(" ", "microseconds")


def test_sqlite_reads_each_text_as_the_generic_path_does_kept_or_not() -> None:
    # An instant read back is parsed once per text and kept: it must be what the decorator's
    # generic path (SQLite's DATETIME parser, then the zone put back) makes of that text.
    dialect = sqlite.dialect()
    coltype = object()
    # As the statement layer asks for it: from the type as the dialect implements it.
    ours = UTCDateTime().dialect_impl(dialect).result_processor(dialect, coltype)
    impl = sqlite.DATETIME().result_processor(dialect, coltype)
    assert ours is not None and impl is not None
    assert ours(None) is None
    start = datetime(2026, 4, 1, 5, 30, tzinfo=UTC)
    texts = [
        (start + timedelta(minutes=m, microseconds=m)).replace(tzinfo=None).isoformat(" ")
        for m in range(600)
    ]
    for text in [*texts, *texts[:10], "2026-04-01 05:30:00", *texts[-10:]]:
        read = ours(text)
        assert read == impl(text).replace(tzinfo=UTC)
        assert read.tzinfo is UTC
    assert ours(texts[-1]) is ours(texts[-1])  # parsed once, kept
    assert ours(None) is None


@pytest.mark.postgres
def test_postgresql_sessions_are_in_utc_and_keep_the_urls_own_options(
    postgres_database_url: str,
) -> None:
    # In UTC, and spelled so, psycopg reads an instant with ``datetime.UTC`` itself; the
    # server's own zone (Debian's default is Etc/UTC) never reaches the engine.
    url = make_url(postgres_database_url).update_query_dict(
        {"options": "-c statement_timeout=12345"}
    )
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW TimeZone").scalar() == "UTC"
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "12345ms"
            (instant,) = conn.exec_driver_sql("SELECT now()").one()
            assert instant.tzinfo is UTC
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_an_instant_read_in_another_zone_is_still_converted_to_utc(
    postgres_database_url: str,
) -> None:
    # A session someone set to another zone (a pooled connection, a URL that overrides it).
    engine = make_engine(postgres_database_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL TimeZone = 'Asia/Kolkata'")
            conn.execute(
                insert(accounts).values(
                    id="acc_1", name="One", created_at=datetime(2026, 4, 1, tzinfo=UTC)
                )
            )
            read = conn.execute(select(accounts.c.created_at)).scalar_one()
        assert read == datetime(2026, 4, 1, tzinfo=UTC)
        assert read.tzinfo is UTC
    finally:
        engine.dispose()
