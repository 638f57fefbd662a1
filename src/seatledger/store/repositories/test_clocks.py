"""Test clocks: an account's own clocks that attached subscriptions follow instead of the wall."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert, select, update

from seatledger.domain.errors import NotFound
from seatledger.service.ports import TestClock
from seatledger.store.repositories._common import Repository, insert_unique
from seatledger.store.tables import test_clocks


def _clock(row: Any) -> TestClock:
    return TestClock(
        account_id=row.account_id,
        id=row.id,
        name=row.name,
        now_at=row.now_at,
        created_at=row.created_at,
    )


def _by_key(account_id: str, clock_id: str) -> Select[Any]:
    return select(test_clocks).where(
        test_clocks.c.account_id == account_id, test_clocks.c.id == clock_id
    )


class SqlTestClocks(Repository):
    def add(self, clock: TestClock) -> None:
        insert_unique(
            self._conn,
            insert(test_clocks).values(
                account_id=clock.account_id,
                id=clock.id,
                name=clock.name,
                now_at=clock.now_at,
                created_at=clock.created_at,
            ),
            lambda: f"Test clock {clock.id!r} exists already.",
        )

    def get(self, account_id: str, clock_id: str) -> TestClock:
        return self._one(_by_key(account_id, clock_id), clock_id)

    def get_for_update(self, account_id: str, clock_id: str) -> TestClock:
        return self._one(_by_key(account_id, clock_id).with_for_update(), clock_id)

    def move(self, account_id: str, clock_id: str, now_at: datetime) -> TestClock:
        result = self._conn.execute(
            update(test_clocks)
            .where(test_clocks.c.account_id == account_id, test_clocks.c.id == clock_id)
            .values(now_at=now_at)
        )
        if result.rowcount != 1:
            raise NotFound(kind="test clock", key=clock_id)
        return self.get(account_id, clock_id)

    def for_account(self, account_id: str) -> tuple[TestClock, ...]:
        rows = self._conn.execute(
            select(test_clocks)
            .where(test_clocks.c.account_id == account_id)
            .order_by(test_clocks.c.created_at, test_clocks.c.id)
        )
        return tuple(_clock(r) for r in rows)

    def _one(self, statement: Select[Any], clock_id: str) -> TestClock:
        row = self._conn.execute(statement).one_or_none()
        if row is None:
            raise NotFound(kind="test clock", key=clock_id)
        return _clock(row)
