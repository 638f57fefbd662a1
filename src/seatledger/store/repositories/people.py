"""Accounts, workspaces and persons."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Insert, Select, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from seatledger.domain.errors import Conflict, NotFound
from seatledger.service.ports import Account, Person, Workspace, new_id
from seatledger.store.driver_statements import fetch_rows
from seatledger.store.repositories._common import Repository, insert_unique
from seatledger.store.tables import accounts, memberships, persons, workspaces


class SqlAccounts(Repository):
    def add(self, account: Account) -> None:
        statement = insert(accounts).values(
            id=account.id, name=account.name, created_at=account.created_at
        )
        insert_unique(self._conn, statement, lambda: f"Account {account.id!r} exists already.")

    def get(self, account_id: str) -> Account:
        row = self._conn.execute(
            select(accounts.c.id, accounts.c.name, accounts.c.created_at).where(
                accounts.c.id == account_id
            )
        ).one_or_none()
        if row is None:
            raise NotFound(kind="account", key=account_id)
        return Account(id=row.id, name=row.name, created_at=row.created_at)

    def ids(self) -> tuple[str, ...]:
        return tuple(self._conn.execute(select(accounts.c.id).order_by(accounts.c.id)).scalars())


class SqlWorkspaces(Repository):
    def add(self, workspace: Workspace) -> None:
        statement = insert(workspaces).values(
            account_id=workspace.account_id,
            id=workspace.id,
            name=workspace.name,
            created_at=workspace.created_at,
        )
        insert_unique(
            self._conn,
            statement,
            lambda: f"A workspace {workspace.id!r} or named {workspace.name!r} exists already.",
        )

    def get(self, account_id: str, workspace_id: str) -> Workspace:
        # Prebuilt and straight to the driver: the lookup of nearly every API request by path.
        found = fetch_rows(self._conn, _WORKSPACE, {"account_id": account_id, "id": workspace_id})
        if not found:
            raise NotFound(kind="workspace", key=workspace_id)
        (row,) = found
        return _workspace(row)

    def find_by_name(self, account_id: str, name: str) -> Workspace | None:
        found = self._select(workspaces.c.account_id == account_id, workspaces.c.name == name)
        return found[0] if found else None

    def for_account(self, account_id: str) -> tuple[Workspace, ...]:
        return self._select(workspaces.c.account_id == account_id)

    def _select(self, *where: Any) -> tuple[Workspace, ...]:
        rows = self._conn.execute(select(workspaces).where(*where).order_by(workspaces.c.name))
        return tuple(_workspace(r) for r in rows)


class SqlPersons(Repository):
    def add(self, person: Person) -> None:
        statement = insert(persons).values(
            account_id=person.account_id,
            id=person.id,
            email=person.email,
            display_name=person.display_name,
            created_at=person.created_at,
            erased_at=person.erased_at,
        )
        insert_unique(
            self._conn,
            statement,
            lambda: f"A person {person.id!r} or with e-mail {person.email!r} exists already.",
        )

    def get(self, account_id: str, person_id: str) -> Person:
        return self._get(_PERSON, account_id, person_id)

    def _get(self, statement: Select[Any], account_id: str, person_id: str) -> Person:
        rows = fetch_rows(self._conn, statement, {"account_id": account_id, "id": person_id})
        if not rows:
            raise NotFound(kind="person", key=person_id)
        (row,) = rows
        return _person(row)

    def find_by_email(self, account_id: str, email: str) -> Person | None:
        return self._select(persons.c.account_id == account_id, persons.c.email == email)

    def ensure(self, account_id: str, email: str, *, at: datetime) -> Person:
        found = self.find_by_email(account_id, email)
        if found is not None:
            return found
        person = Person(
            account_id=account_id, id=new_id("per"), email=email, display_name=None, created_at=at
        )
        try:
            self.add(person)
        except Conflict:
            # Another transaction added the same e-mail and committed while we waited on its
            # insert: that row is visible now, and it is the person we want.
            raced = self.find_by_email(account_id, email)
            if raced is None:
                raise
            return raced
        return person

    def ids_by_email(self, account_id: str, emails: Collection[str]) -> dict[str, str]:
        return self._ids(_IDS_BY_EMAIL, account_id, emails)

    def ensure_ids(
        self, account_id: str, emails: Collection[str], *, at: datetime
    ) -> dict[str, str]:
        wanted = list(dict.fromkeys(emails))
        # Several at once are looked up first (a batch often names people the account has);
        # one alone is inserted straight away, as a newcomer usually is.
        ids = self._held_ids(account_id, wanted) if len(wanted) > 1 else {}
        statement = _insert_new(self._conn)
        for _turn in range(_ENSURE_TURNS):
            taken = []
            for email in wanted:
                if email in ids:
                    continue
                # Straight to the driver, with what the unit deferred (a seat change's invite).
                rows = fetch_rows(
                    self._conn,
                    statement,
                    {
                        "account_id": account_id,
                        "id": new_id("per"),
                        "email": email,
                        "display_name": None,
                        "created_at": at,
                        "erased_at": None,
                    },
                )
                if not rows:
                    taken.append(email)
                else:
                    ids[email] = rows[0].id
            if not taken:
                return ids
            # Someone has the address already (added by a transaction that committed while this
            # insert waited on it, or looked up above only for a batch): that is the person. One
            # erased meanwhile has no address any more; the next turn inserts it anew.
            ids |= self._held_ids(account_id, taken)
            if all(email in ids for email in taken):
                return ids
        raise Conflict(
            "People with these addresses were added and erased while this change ran: try again."
        )

    def _held_ids(self, account_id: str, emails: Collection[str]) -> dict[str, str]:
        """``ids_by_email``, the rows held (``FOR KEY SHARE``) until the transaction ends: a
        person about to be named by a new membership is not erased meanwhile (``erase`` locks
        the row before it looks for memberships), and one being erased is waited for and then
        not found (its address is gone)."""
        return self._ids(_IDS_BY_EMAIL_HELD, account_id, emails)

    def _ids(
        self, statement: Select[Any], account_id: str, emails: Collection[str]
    ) -> dict[str, str]:
        if not emails:
            return {}
        rows = self._conn.execute(statement, {"account_id": account_id, "emails": list(emails)})
        return {r.email: r.id for r in rows}

    def workspace_ids(self, account_id: str, person_id: str) -> tuple[str, ...]:
        rows = self._conn.execute(
            select(memberships.c.workspace_id)
            .where(memberships.c.account_id == account_id, memberships.c.person_id == person_id)
            .order_by(memberships.c.workspace_id)
        )
        return tuple(rows.scalars())

    def erase(self, account_id: str, person_id: str, *, at: datetime) -> Person:
        # Locked before the memberships are looked for: a transaction adding a membership holds
        # the row (``_held_ids``), so it commits first and its membership is found here.
        person = self._get(_PERSON_LOCKED, account_id, person_id)
        remaining = self.workspace_ids(account_id, person_id)
        if remaining:
            raise Conflict(
                f"Person {person_id!r} still has memberships in {', '.join(remaining)}: "
                "remove them before erasing the person."
            )
        if person.erased_at is not None:
            return person
        self._conn.execute(
            update(persons)
            .where(persons.c.account_id == account_id, persons.c.id == person_id)
            .values(email=None, display_name=None, erased_at=at)
        )
        return self.get(account_id, person_id)

    def _select(self, *where: Any) -> Person | None:
        row = self._conn.execute(select(persons).where(*where)).one_or_none()
        return None if row is None else _person(row)


def _workspace(row: Any) -> Workspace:
    return Workspace(account_id=row.account_id, id=row.id, name=row.name, created_at=row.created_at)


def _person(row: Any) -> Person:
    return Person(
        account_id=row.account_id,
        id=row.id,
        email=row.email,
        display_name=row.display_name,
        created_at=row.created_at,
        erased_at=row.erased_at,
    )


_WORKSPACE = select(workspaces).where(
    workspaces.c.account_id == bindparam("account_id"), workspaces.c.id == bindparam("id")
)
_PERSON = select(persons).where(
    persons.c.account_id == bindparam("account_id"), persons.c.id == bindparam("id")
)
_PERSON_LOCKED = _PERSON.with_for_update()


_IDS_BY_EMAIL = select(persons.c.id, persons.c.email).where(
    persons.c.account_id == bindparam("account_id"),
    persons.c.email.in_(bindparam("emails", expanding=True)),
)
_IDS_BY_EMAIL_HELD = _IDS_BY_EMAIL.with_for_update(read=True, key_share=True)
# An address is inserted again at most this often when its person is erased under the insert.
_ENSURE_TURNS = 3
# A new person unless the e-mail is taken: no row comes back then, and no savepoint is needed
# to keep the transaction usable (both databases skip the row instead of failing).
_INSERT_NEW: dict[str, Insert] = {
    "sqlite": sqlite.insert(persons).on_conflict_do_nothing().returning(persons.c.id),
    "postgresql": postgresql.insert(persons).on_conflict_do_nothing().returning(persons.c.id),
}


def _insert_new(conn: Connection) -> Insert:
    return _INSERT_NEW[conn.dialect.name]
