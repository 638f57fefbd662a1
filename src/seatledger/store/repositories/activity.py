"""Fair billing's activity records: one row per (subscription, person), replaced when it moves."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy import delete, insert, select

from seatledger.domain.fair_billing import MemberActivity
from seatledger.store.repositories._common import Repository
from seatledger.store.tables import member_activity, persons


class SqlMemberActivity(Repository):
    def load(self, account_id: str, subscription_id: str) -> dict[str, MemberActivity]:
        t, p = member_activity, persons
        rows = self._conn.execute(
            select(p.c.email, t.c.last_active_at, t.c.inactive_at)
            .join(p, (p.c.account_id == t.c.account_id) & (p.c.id == t.c.person_id))
            .where(
                t.c.account_id == account_id,
                t.c.subscription_id == subscription_id,
                p.c.email.is_not(None),
            )
        )
        return {
            row.email: MemberActivity(
                last_active_at=row.last_active_at, inactive_at=row.inactive_at
            )
            for row in rows
        }

    def save(
        self,
        account_id: str,
        subscription_id: str,
        *,
        upserts: Mapping[str, MemberActivity],
        deleted: Collection[str],
    ) -> None:
        t = member_activity
        mine = (t.c.account_id == account_id) & (t.c.subscription_id == subscription_id)
        gone = set(deleted) | set(upserts)
        if gone:
            # Replaced rather than updated: the rows are few (the people whose record moved), and
            # one delete and one insert are the same statements on both databases.
            self._conn.execute(delete(t).where(mine, t.c.person_id.in_(sorted(gone))))
        if upserts:
            self._conn.execute(
                insert(t),
                [
                    {
                        "account_id": account_id,
                        "subscription_id": subscription_id,
                        "person_id": person_id,
                        "last_active_at": a.last_active_at,
                        "inactive_at": a.inactive_at,
                    }
                    for person_id, a in sorted(upserts.items())
                ],
            )
