"""The seat ledger's intervals: appended when a holding starts, closed once when it ends."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from seatledger.domain.seat_intervals import HoldingKind, IntervalReason, SeatInterval
from seatledger.service.ports import new_id
from seatledger.store.driver_statements import execute_each
from seatledger.store.repositories._common import Repository
from seatledger.store.tables import seat_intervals

# A holding of the whole workspace is stored with scope '' (as role assignments are).
WHOLE_WORKSPACE = ""

_INSERT = insert(seat_intervals)


class SqlSeatIntervals(Repository):
    def add(self, account_id: str, subscription_id: str, intervals: Sequence[SeatInterval]) -> None:
        if not intervals:
            return
        rows = [
            {
                "account_id": account_id,
                "id": new_id("sin"),
                "subscription_id": subscription_id,
                "person_id": i.person,
                "workspace_id": i.workspace,
                "role": i.role,
                "scope": i.scope or WHOLE_WORKSPACE,
                "kind": i.kind.value,
                "started_at": i.started_at,
                "start_reason": i.start_reason.value,
                "ended_at": i.ended_at,
                "end_reason": i.end_reason.value if i.end_reason is not None else None,
            }
            for i in intervals
        ]
        execute_each(self._conn, [(_INSERT, rows)])

    def close(
        self,
        account_id: str,
        subscription_id: str,
        *,
        person_id: str,
        workspace_id: str,
        role: str,
        scope: str | None,
        kind: HoldingKind,
        at: datetime,
        reason: IntervalReason,
    ) -> int:
        t = seat_intervals
        result = self._conn.execute(
            update(t)
            .where(
                t.c.account_id == account_id,
                t.c.subscription_id == subscription_id,
                t.c.person_id == person_id,
                t.c.workspace_id == workspace_id,
                t.c.role == role,
                t.c.scope == (scope or WHOLE_WORKSPACE),
                t.c.kind == kind.value,
                t.c.ended_at.is_(None),
            )
            .values(ended_at=at, end_reason=reason.value)
        )
        return int(result.rowcount)

    def for_subscription(self, account_id: str, subscription_id: str) -> tuple[SeatInterval, ...]:
        t = seat_intervals
        rows = self._conn.execute(
            select(t)
            .where(t.c.account_id == account_id, t.c.subscription_id == subscription_id)
            .order_by(t.c.started_at, t.c.person_id, t.c.workspace_id, t.c.role, t.c.scope)
        )
        return tuple(_interval(row) for row in rows)


def _interval(row: Any) -> SeatInterval:
    return SeatInterval(
        person=row.person_id,
        workspace=row.workspace_id,
        role=row.role,
        scope=row.scope or None,
        kind=HoldingKind(row.kind),
        started_at=row.started_at,
        start_reason=IntervalReason(row.start_reason),
        ended_at=row.ended_at,
        end_reason=IntervalReason(row.end_reason) if row.end_reason is not None else None,
    )
