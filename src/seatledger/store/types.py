"""Column types: aware UTC instants on both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from seatledger.domain.periods import require_utc

# How many instants one column type keeps the SQLite text of, and how many texts it keeps the
# instant of (see ``bind_processor`` and ``result_processor``).
_REMEMBERED_TEXTS = 256


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: written from an aware datetime, read back as an aware UTC datetime.

    A naive datetime is refused (``InvalidInput``) rather than guessed at, because a guess would
    shift a billing period by the server's offset. PostgreSQL keeps ``timestamptz``; SQLite has
    no time zones, so the value is stored as naive UTC text (which also sorts correctly) and the
    zone is put back on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        # The text SQLite's DATETIME stores ("2026-04-01 05:30:00.000000"), made in one step: the
        # billing run converts thousands of instants per batch, and the generic path (this
        # decorator, then the dialect's formatting) took most of the time of writing a row.
        # The same few instants come back row after row (a run's instant, its periods' bounds):
        # each is formatted once. Equal aware instants have one text whatever their zone, and a
        # naive one is never equal to an aware key, so it still reaches ``require_utc``.
        texts: dict[datetime, str] = {}

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            text = texts.get(value)
            if text is None:
                if len(texts) >= _REMEMBERED_TEXTS:
                    texts.clear()
                text = require_utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")
                texts[value] = text
            return text

        return process

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        if dialect.name == "sqlite":
            return self._sqlite_result_processor(dialect, coltype)
        if self.impl_instance.result_processor(dialect, coltype):
            return super().result_processor(dialect, coltype)

        # PostgreSQL's sessions are in UTC (``store/engine.py``), so psycopg reads an instant with
        # ``datetime.UTC`` already: kept as it is, where the generic path converted every one.
        def process(value: datetime | None) -> datetime | None:
            if value is None or value.tzinfo is UTC:
                return value
            return self.process_result_value(value, dialect)

        return process

    def _sqlite_result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any]:
        generic = super().result_processor(dialect, coltype)
        assert generic is not None  # SQLite's DATETIME parses its text
        # The text read back is parsed by the generic path (the dialect's parser, then the zone
        # put back), once per text: a batch reads the same few instants (periods' bounds, anchors)
        # row after row. Datetimes are immutable, so one object serves every row that has it.
        instants: dict[Any, datetime] = {}

        def process(value: Any) -> datetime | None:
            instant = instants.get(value)
            if instant is None:
                instant = generic(value)
                if instant is None:
                    return None
                if len(instants) >= _REMEMBERED_TEXTS:
                    instants.clear()
                instants[value] = instant
            return instant

        return process

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        instant = require_utc(value)
        if dialect.name == "sqlite":
            return instant.replace(tzinfo=None)
        return instant

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
