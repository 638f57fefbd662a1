"""Rosters: the memberships and role grants of a set of workspaces, loaded and saved as a whole.

The domain works on a ``Roster`` value; the store keeps one ``memberships`` row per (workspace,
person) and one ``role_assignments`` row per (membership, role, scope). ``save`` diffs the new
roster against the stored rows, so an unchanged member is not touched (its timestamps keep their
meaning) and a removed one is deleted with its grants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from seatledger.domain.errors import InvalidInput
from seatledger.domain.seats import Member, MemberStatus, RoleGrant, Roster
from seatledger.store.repositories._common import ConnectionSource, Repository
from seatledger.store.repositories.people import SqlPersons
from seatledger.store.tables import memberships, persons, role_assignments

# A grant for the whole workspace is stored with scope '' (a primary key column cannot be NULL).
WHOLE_WORKSPACE = ""

GrantKey = tuple[str, str]  # (role, stored scope)


@dataclass(frozen=True, slots=True)
class _Stored:
    person_id: str
    member: Member


class SqlRosters(Repository):
    def __init__(self, source: ConnectionSource, persons: SqlPersons) -> None:
        super().__init__(source)
        self._persons = persons

    def get(self, account_id: str, workspace_ids: Sequence[str]) -> Roster:
        stored = self._stored(account_id, workspace_ids)
        return Roster(tuple(s.member for _, s in sorted(stored.items())))

    def save(
        self,
        account_id: str,
        workspace_ids: Sequence[str],
        roster: Roster,
        *,
        at: datetime,
    ) -> None:
        wanted = _check(roster, workspace_ids)
        stored = self._stored(account_id, workspace_ids)
        for key in sorted(stored.keys() - wanted.keys()):
            self._delete(account_id, stored[key].person_id, key[0])
        for key, member in sorted(wanted.items()):
            before = stored.get(key)
            if before is None:
                person = self._persons.ensure(account_id, member.email, at=at)
                self._insert(account_id, person.id, member, at)
            elif before.member != member:
                self._update(account_id, before, member, at)

    def _stored(
        self, account_id: str, workspace_ids: Sequence[str]
    ) -> dict[tuple[str, str], _Stored]:
        """(workspace, e-mail) -> the stored member, grants included."""
        m, p, g = memberships, persons, role_assignments
        rows = self._conn.execute(
            select(m.c.workspace_id, m.c.person_id, m.c.status, p.c.email)
            .join(p, (p.c.account_id == m.c.account_id) & (p.c.id == m.c.person_id))
            .where(m.c.account_id == account_id, m.c.workspace_id.in_(list(workspace_ids)))
        ).all()
        grant_rows = self._conn.execute(
            select(g.c.workspace_id, g.c.person_id, g.c.role, g.c.scope, g.c.expires_at).where(
                g.c.account_id == account_id, g.c.workspace_id.in_(list(workspace_ids))
            )
        ).all()
        grants: dict[tuple[str, str], set[RoleGrant]] = {}
        for g_row in grant_rows:
            grants.setdefault((g_row.workspace_id, g_row.person_id), set()).add(_grant(g_row))
        result: dict[tuple[str, str], _Stored] = {}
        for r in rows:
            # An erased person has no memberships (erase refuses), so the e-mail is there.
            email = r.email if r.email is not None else f"erased-{r.person_id}"
            member = Member(
                email=email,
                workspace=r.workspace_id,
                status=MemberStatus(r.status),
                grants=frozenset(grants.get((r.workspace_id, r.person_id), ())),
            )
            result[(r.workspace_id, email)] = _Stored(r.person_id, member)
        return result

    def _insert(self, account_id: str, person_id: str, member: Member, at: datetime) -> None:
        self._conn.execute(
            insert(memberships).values(
                account_id=account_id,
                workspace_id=member.workspace,
                person_id=person_id,
                status=member.status.value,
                created_at=at,
                updated_at=at,
                status_changed_at=at,
            )
        )
        self._insert_grants(account_id, person_id, member.workspace, member.grants, at)

    def _update(self, account_id: str, before: _Stored, member: Member, at: datetime) -> None:
        person_id, workspace = before.person_id, member.workspace
        changes: dict[str, Any] = {"updated_at": at}
        if before.member.status is not member.status:
            changes |= {"status": member.status.value, "status_changed_at": at}
        self._conn.execute(
            update(memberships)
            .where(
                memberships.c.account_id == account_id,
                memberships.c.workspace_id == workspace,
                memberships.c.person_id == person_id,
            )
            .values(**changes)
        )
        # A grant whose expiry changed is replaced: removed with the old expiry, added anew.
        removed = before.member.grants - member.grants
        g = role_assignments
        for grant in removed:
            self._conn.execute(
                delete(g).where(
                    g.c.account_id == account_id,
                    g.c.workspace_id == workspace,
                    g.c.person_id == person_id,
                    g.c.role == grant.role,
                    g.c.scope == _stored_scope(grant),
                )
            )
        self._insert_grants(
            account_id, person_id, workspace, member.grants - before.member.grants, at
        )

    def _insert_grants(
        self,
        account_id: str,
        person_id: str,
        workspace_id: str,
        grants: frozenset[RoleGrant],
        at: datetime,
    ) -> None:
        if not grants:
            return
        self._conn.execute(
            insert(role_assignments),
            [
                {
                    "account_id": account_id,
                    "workspace_id": workspace_id,
                    "person_id": person_id,
                    "role": grant.role,
                    "scope": _stored_scope(grant),
                    "expires_at": grant.expires_at,
                    "created_at": at,
                }
                for grant in sorted(grants, key=_grant_key)
            ],
        )

    def _delete(self, account_id: str, person_id: str, workspace_id: str) -> None:
        key = {
            "account_id": account_id,
            "workspace_id": workspace_id,
            "person_id": person_id,
        }
        g, m = role_assignments, memberships
        self._conn.execute(delete(g).where(*(g.c[k] == v for k, v in key.items())))
        self._conn.execute(delete(m).where(*(m.c[k] == v for k, v in key.items())))


def _check(roster: Roster, workspace_ids: Sequence[str]) -> dict[tuple[str, str], Member]:
    """(workspace, e-mail) -> member, refusing what the tables could not hold faithfully."""
    allowed = set(workspace_ids)
    wanted: dict[tuple[str, str], Member] = {}
    for member in roster.members:
        if member.workspace not in allowed:
            raise InvalidInput(
                "workspace",
                f"{member.email} is in workspace {member.workspace!r}, which is not one of "
                f"the roster's workspaces ({', '.join(sorted(allowed))})",
            )
        key = (member.workspace, member.email)
        if key in wanted:
            raise InvalidInput("email", f"{member.email} appears twice in {member.workspace!r}")
        seen: set[GrantKey] = set()
        for grant in member.grants:
            if grant.scope == WHOLE_WORKSPACE:
                raise InvalidInput("scope", "must be a name, or absent for the whole workspace")
            if _grant_key(grant) in seen:
                raise InvalidInput(
                    "role",
                    f"{member.email} holds {grant.role!r} in scope {grant.scope!r} twice "
                    "(with different expiries)",
                )
            seen.add(_grant_key(grant))
        wanted[key] = member
    return wanted


def _stored_scope(grant: RoleGrant) -> str:
    return WHOLE_WORKSPACE if grant.scope is None else grant.scope


def _grant_key(grant: RoleGrant) -> GrantKey:
    return (grant.role, _stored_scope(grant))


def _grant(row: Any) -> RoleGrant:
    return RoleGrant(
        role=row.role,
        scope=None if row.scope == WHOLE_WORKSPACE else row.scope,
        expires_at=row.expires_at,
    )
