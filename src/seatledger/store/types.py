"""Column types: aware UTC instants on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from seatledger.domain.periods import require_utc


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: written from an aware datetime, read back as an aware UTC datetime.

    A naive datetime is refused (``InvalidInput``) rather than guessed at, because a guess would
    shift a billing period by the server's offset. PostgreSQL keeps ``timestamptz``; SQLite has
    no time zones, so the value is stored as naive UTC text (which also sorts correctly) and the
    zone is put back on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

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
