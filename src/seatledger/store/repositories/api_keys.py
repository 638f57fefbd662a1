"""API keys: one row per key, the secret kept only as its SHA-256 hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, select, update

from seatledger.domain.errors import NotFound
from seatledger.service.ports import ApiKey, Person
from seatledger.store.driver_statements import fetch_rows
from seatledger.store.repositories._common import Repository, insert_unique
from seatledger.store.tables import api_keys, persons

# Every request's key and acting person in one statement, built once: the bound key's person, or
# for an account-wide key the person with the acting e-mail.
_WITH_PERSON = (
    select(
        api_keys,
        persons.c.id.label("p_id"),
        persons.c.email.label("p_email"),
        persons.c.display_name.label("p_display_name"),
        persons.c.created_at.label("p_created_at"),
        persons.c.erased_at.label("p_erased_at"),
    )
    .outerjoin(
        persons,
        and_(
            persons.c.account_id == api_keys.c.account_id,
            or_(
                persons.c.id == api_keys.c.person_id,
                and_(api_keys.c.person_id.is_(None), persons.c.email == bindparam("email")),
            ),
        ),
    )
    .where(api_keys.c.account_id == bindparam("account_id"), api_keys.c.id == bindparam("key_id"))
)


def _key(row: Any) -> ApiKey:
    return ApiKey(
        account_id=row.account_id,
        id=row.id,
        name=row.name,
        secret_hash=row.secret_hash,
        created_at=row.created_at,
        person_id=row.person_id,
        revoked_at=row.revoked_at,
    )


class SqlApiKeys(Repository):
    def add(self, key: ApiKey) -> None:
        insert_unique(
            self._conn,
            insert(api_keys).values(
                account_id=key.account_id,
                id=key.id,
                name=key.name,
                secret_hash=key.secret_hash,
                person_id=key.person_id,
                created_at=key.created_at,
                revoked_at=key.revoked_at,
            ),
            lambda: f"API key {key.id!r} exists already.",
        )

    def get(self, account_id: str, key_id: str) -> ApiKey:
        row = self._conn.execute(
            select(api_keys).where(api_keys.c.account_id == account_id, api_keys.c.id == key_id)
        ).one_or_none()
        if row is None:
            raise NotFound(kind="API key", key=key_id)
        return _key(row)

    def find_with_person(
        self, account_id: str, key_id: str, *, email: str | None
    ) -> tuple[ApiKey, Person | None] | None:
        # Straight to the driver: every API request authenticates.
        rows = fetch_rows(
            self._conn, _WITH_PERSON, {"account_id": account_id, "key_id": key_id, "email": email}
        )
        if not rows:
            return None
        (row,) = rows
        if row.p_id is None:
            return _key(row), None
        person = Person(
            account_id=row.account_id,
            id=row.p_id,
            email=row.p_email,
            display_name=row.p_display_name,
            created_at=row.p_created_at,
            erased_at=row.p_erased_at,
        )
        return _key(row), person

    def for_account(self, account_id: str) -> tuple[ApiKey, ...]:
        rows = self._conn.execute(
            select(api_keys)
            .where(api_keys.c.account_id == account_id)
            .order_by(api_keys.c.created_at, api_keys.c.id)
        )
        return tuple(_key(r) for r in rows)

    def revoke(self, account_id: str, key_id: str, *, at: datetime) -> ApiKey:
        result = self._conn.execute(
            update(api_keys)
            .where(api_keys.c.account_id == account_id, api_keys.c.id == key_id)
            .values(revoked_at=func.coalesce(api_keys.c.revoked_at, at))
        )
        if result.rowcount != 1:
            raise NotFound(kind="API key", key=key_id)
        return self.get(account_id, key_id)
