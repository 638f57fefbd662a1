"""Rosters: the memberships and role grants of a set of workspaces, loaded and saved as a whole.

The domain works on a ``Roster`` value; the store keeps one ``memberships`` row per (workspace,
person) and one ``role_assignments`` row per (membership, role, scope). ``save`` diffs the new
roster against the stored rows (read again, or the ``StoredRoster`` the caller kept from ``load``
or the last ``save``), so an unchanged member is not touched (its timestamps keep their meaning),
a removed one is deleted with its grants, and only the changed rows are written.

Every membership row written is stamped with the version of the subscription change that wrote it
(``roster_version``; a change of grants updates the membership row too). A reader that kept the
roster at an earlier version (``store/version_cache.py``) reads only the rows stamped after it and
the number of memberships: the same number as the kept roster plus the new ones means nobody was
removed meanwhile, and the kept members stand; otherwise it reads the whole roster. A busy
subscription changed by several processes in turn is then read in a few rows per change instead
of all of its members.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    any_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.selectable import CompoundSelect

from seatledger.domain.errors import InvalidInput
from seatledger.domain.seats import (
    Member,
    MemberStatus,
    RoleGrant,
    Roster,
    RosterKey,
    changes_since,
)
from seatledger.service.ports import StoredRoster, SubscriptionVersion
from seatledger.store.driver_statements import execute_each, fetch_rows
from seatledger.store.read_ahead import ReadAhead
from seatledger.store.repositories._common import ConnectionSource, Repository
from seatledger.store.repositories.people import SqlPersons
from seatledger.store.roster_placement import Placement, member_key
from seatledger.store.tables import memberships, persons, role_assignments
from seatledger.store.version_cache import VersionCache, VersionKey

# A grant for the whole workspace is stored with scope '' (a primary key column cannot be NULL).
WHOLE_WORKSPACE = ""

GrantKey = tuple[str, str]  # (role, stored scope)


_m, _p, _g = memberships, persons, role_assignments

# Built once: the hot path only binds values (building a statement costs more than running it).
# Three single-table reads, each linear in the roster whatever the planner knows. As one join,
# PostgreSQL without statistics on young tables (a new database, a fresh account) planned nested
# loops matching on the account only, quadratic in the members (70 ms for 361 of them), and did
# the same with the e-mail as a correlated lookup (the e-mail index, filtering on the id).
# The memberships of the roster's workspaces.
_IN_ROSTER = (
    _m.c.account_id == bindparam("account_id"),
    _m.c.workspace_id.in_(bindparam("workspace_ids", expanding=True)),
)
_LOAD_MEMBERS = select(_m.c.workspace_id, _m.c.person_id, _m.c.status).where(*_IN_ROSTER)
_LOAD_EMAILS = select(_p.c.id, _p.c.email).where(
    _p.c.account_id == bindparam("account_id"), _p.c.id.in_(bindparam("ids", expanding=True))
)
# People per e-mail read on SQLite: a large roster is read in a few statements of bounded size.
_EMAILS_AT_ONCE = 1000
# On PostgreSQL the ids go as one array. A list of a thousand parameters made a statement that
# psycopg prepares after five runs, and PostgreSQL then chose a generic plan for it that scans
# the account's people testing each against the whole list (216 ms on 2,000 members, against
# 22 ms while it planned each run); ``= ANY(array)`` is looked up in the primary key either way.
_LOAD_EMAILS_ARRAY = select(_p.c.id, _p.c.email).where(
    _p.c.account_id == bindparam("account_id"),
    _p.c.id == any_(bindparam("ids", type_=postgresql.ARRAY(String))),
)
_LOAD_GRANTS = select(
    _g.c.workspace_id, _g.c.person_id, _g.c.role, _g.c.scope, _g.c.expires_at
).where(
    _g.c.account_id == bindparam("account_id"),
    _g.c.workspace_id.in_(bindparam("workspace_ids", expanding=True)),
)


# Catching up with a kept roster, in one statement: the memberships written after the kept
# version, with their people's e-mails and one row per grant (none for a member without one), and
# how many memberships there are now (the row with no workspace). The first select gives the
# column types (the instants are read as aware UTC datetimes).
@cache
def _changed_members(workspaces: int) -> CompoundSelect[Any]:
    """The catch-up statement for a roster of ``workspaces`` workspaces (their ids bound as
    ``w0``, ``w1``...): built once per count, so it goes straight to the driver
    (``fetch_rows``), which takes no list expanded per run."""
    in_roster = (
        _m.c.account_id == bindparam("account_id"),
        _m.c.workspace_id.in_([bindparam(f"w{i}") for i in range(workspaces)]),
    )
    return union_all(
        select(
            _m.c.workspace_id,
            _m.c.person_id,
            _m.c.status,
            _p.c.email,
            _g.c.role,
            _g.c.scope,
            _g.c.expires_at,
            cast(null(), Integer).label("members"),
        )
        .join(_p, (_p.c.account_id == _m.c.account_id) & (_p.c.id == _m.c.person_id))
        .outerjoin(
            _g,
            (_g.c.account_id == _m.c.account_id)
            & (_g.c.workspace_id == _m.c.workspace_id)
            & (_g.c.person_id == _m.c.person_id),
        )
        .where(*in_roster, _m.c.roster_version > bindparam("since")),
        select(null(), null(), null(), null(), null(), null(), null(), func.count())
        .select_from(_m)
        .where(*in_roster),
    )


def catch_up_read(
    account_id: str, workspace_ids: Sequence[str], since: int
) -> tuple[CompoundSelect[Any], dict[str, Any]]:
    """The catch-up statement of a roster of ``workspace_ids`` kept at version ``since``, and
    its values (``fetch_rows``); also sent ahead with a locked read (``store/read_ahead.py``)."""
    ids = {f"w{i}": workspace_id for i, workspace_id in enumerate(workspace_ids)}
    return _changed_members(len(ids)), {"account_id": account_id, "since": since, **ids}


def _caught_up(kept: StoredRoster, rows: Sequence[Any]) -> StoredRoster | None:
    """The roster now, from ``kept`` (the roster at the version the catch-up read was made from,
    in the store's order) and the rows that read returned; None when a member was removed since
    (no row is left to say who). Only the changed members are built and put in place, in the
    roster and in each naming of it kept (``StoredRoster.renamed``), so nothing here walks every
    member."""
    count = 0
    changed: dict[tuple[str, str], str] = {}  # (workspace id, person id) -> status
    emails: dict[str, str | None] = {}
    held: dict[tuple[str, str], list[RoleGrant]] = {}
    for row in rows:
        workspace_id, person_id, status, email, role, scope, expires_at, members = row
        if workspace_id is None:
            count = members
            continue
        changed[(workspace_id, person_id)] = status
        emails[person_id] = email
        grants = held.setdefault((workspace_id, person_id), [])
        if role is not None:
            grants.append(_grant(role, scope, expires_at))
    if not changed:
        return kept if count == len(kept.roster.members) else None
    placed = Placement(kept)
    person_ids = dict(kept.person_ids)
    for (workspace_id, person_id), status in sorted(changed.items()):
        email = emails.get(person_id) or f"erased-{person_id}"
        granted = frozenset(held.get((workspace_id, person_id), ()))
        placed.put(Member(email, workspace_id, _STATUSES[status], granted))
        person_ids[email] = person_id
    if len(placed.members) != count:
        return None
    return placed.stored(person_ids)


def _membership_key(table: Any) -> Any:
    return and_(
        table.c.account_id == bindparam("k_account"),
        table.c.workspace_id == bindparam("k_workspace"),
        table.c.person_id == bindparam("k_person"),
    )


# The columns to set are the keys of the parameters passed with the statement.
_INSERT_MEMBERSHIP = insert(_m)
_INSERT_GRANT = insert(_g)
_UPDATE_MEMBERSHIP = update(_m).where(_membership_key(_m))
_DELETE_MEMBERSHIP = delete(_m).where(_membership_key(_m))
_DELETE_GRANTS = delete(_g).where(_membership_key(_g))
_DELETE_GRANT = delete(_g).where(
    _membership_key(_g), _g.c.role == bindparam("k_role"), _g.c.scope == bindparam("k_scope")
)


class SqlRosters(Repository):
    def __init__(
        self,
        source: ConnectionSource,
        persons: SqlPersons,
        cache: VersionCache[StoredRoster],
        after_commit: Callable[[Callable[[], None]], None],
        ahead: ReadAhead,
    ) -> None:
        super().__init__(source)
        self._persons = persons
        self._cache = cache
        self._after_commit = after_commit
        self._ahead = ahead

    def get(self, account_id: str, workspace_ids: Sequence[str]) -> Roster:
        return self.load(account_id, workspace_ids).roster

    def load(
        self,
        account_id: str,
        workspace_ids: Sequence[str],
        *,
        version: SubscriptionVersion | None = None,
        remember: bool = False,
    ) -> StoredRoster:
        if version is None:
            return self._read(account_id, workspace_ids)
        key = roster_key(account_id, workspace_ids, version)
        return self._cache.answer(
            key, lambda: self._read_at(account_id, workspace_ids, key), remember=remember
        )

    def remember(
        self,
        account_id: str,
        workspace_ids: Sequence[str],
        stored: StoredRoster,
        *,
        version: SubscriptionVersion,
    ) -> None:
        key = roster_key(account_id, workspace_ids, version)
        self._after_commit(lambda: self._cache.put(key, stored))

    def _read_at(
        self, account_id: str, workspace_ids: Sequence[str], key: VersionKey
    ) -> StoredRoster:
        """The roster at ``key``'s version: caught up from an earlier one kept, else read."""
        earlier = self._cache.earlier(key)
        if earlier is not None:
            since, kept = earlier
            rows = self._ahead.take_roster(key, since)
            if rows is None:
                rows = fetch_rows(self._conn, *catch_up_read(account_id, workspace_ids, since))
            caught_up = _caught_up(kept, rows)
            if caught_up is not None:
                return caught_up
        return self._read(account_id, workspace_ids)

    def _read(self, account_id: str, workspace_ids: Sequence[str]) -> StoredRoster:
        # Every seat change and preview reads the whole roster, so this loop runs once per
        # membership and grant: rows are fetched at once and unpacked as tuples, statuses looked up
        # in a dict, and equal grants and sets of grants (most members hold the same few) built once.
        keys = {"account_id": account_id, "workspace_ids": list(workspace_ids)}
        held: dict[tuple[str, str], list[RoleGrant]] = {}  # by (workspace id, person id)
        made: dict[tuple[str, str, Any], RoleGrant] = {}
        for workspace_id, person_id, role, scope, expires_at in self._conn.execute(
            _LOAD_GRANTS, keys
        ).all():
            grant = made.get((role, scope, expires_at))
            if grant is None:
                grant = made[(role, scope, expires_at)] = _grant(role, scope, expires_at)
            held.setdefault((workspace_id, person_id), []).append(grant)
        rows = self._conn.execute(_LOAD_MEMBERS, keys).all()
        emails = self._emails(account_id, sorted({person_id for _, person_id, _ in rows}))
        grants: dict[tuple[str, str], list[RoleGrant]] = {}
        found: dict[tuple[str, str], tuple[str, str, MemberStatus]] = {}
        for workspace_id, person_id, status in rows:
            # An erased person has no memberships (erase refuses), so the e-mail is there.
            email = emails.get(person_id)
            key = (workspace_id, email if email is not None else f"erased-{person_id}")
            found[key] = (person_id, workspace_id, _STATUSES[status])
            grants[key] = held.get((workspace_id, person_id), [])
        sets: dict[tuple[RoleGrant, ...], frozenset[RoleGrant]] = {}
        members = []
        for key, (_, workspace, status) in sorted(found.items()):
            listed = tuple(grants[key])
            granted = sets.get(listed)
            if granted is None:
                granted = sets[listed] = frozenset(listed)
            members.append(Member(key[1], workspace, status, granted))
        person_ids = {key[1]: person_id for key, (person_id, _, _) in found.items()}
        return StoredRoster(Roster(tuple(members)), person_ids)

    def _emails(self, account_id: str, person_ids: list[str]) -> dict[str, str | None]:
        emails: dict[str, str | None] = {}
        if self._conn.dialect.name == "postgresql":
            rows = self._conn.execute(
                _LOAD_EMAILS_ARRAY, {"account_id": account_id, "ids": person_ids}
            )
            emails.update((person_id, email) for person_id, email in rows)
            return emails
        for start in range(0, len(person_ids), _EMAILS_AT_ONCE):
            chunk = person_ids[start : start + _EMAILS_AT_ONCE]
            rows = self._conn.execute(_LOAD_EMAILS, {"account_id": account_id, "ids": chunk})
            emails.update((person_id, email) for person_id, email in rows)
        return emails

    def save(
        self,
        account_id: str,
        workspace_ids: Sequence[str],
        roster: Roster,
        *,
        at: datetime,
        version: int,
        stored: StoredRoster | None = None,
    ) -> StoredRoster:
        if stored is None:
            stored = self.load(account_id, workspace_ids)
        changes = changes_since(roster, stored.roster)
        if changes is not None:
            return self._save_changes(
                account_id, workspace_ids, roster, changes, stored, at=at, version=version
            )
        # A member that is the stored member itself (the caller kept it) is as stored: valid
        # when it was written, and unchanged.
        as_stored = {id(m) for m in stored.roster.members}
        wanted = _check(roster, workspace_ids, as_stored)
        before = {(m.workspace, m.email): m for m in stored.roster.members}
        ids = stored.person_ids
        for key in sorted(before.keys() - wanted.keys()):
            self._delete(account_id, ids[key[1]], key[0])
        added = [member for key, member in sorted(wanted.items()) if key not in before]
        new_ids = self._persons.ensure_ids(
            account_id, [m.email for m in added if m.email not in ids], at=at
        )
        person_ids = {m.email: ids.get(m.email) or new_ids[m.email] for m in wanted.values()}
        self._insert(account_id, person_ids, added, at, version)
        for key, member in sorted(wanted.items()):
            old = before.get(key)
            if old is not None and old is not member and old != member:
                self._update(account_id, person_ids[member.email], old, member, at, version)
        return StoredRoster(Roster(tuple(m for _, m in sorted(wanted.items()))), person_ids)

    def _save_changes(
        self,
        account_id: str,
        workspace_ids: Sequence[str],
        roster: Roster,
        changes: Mapping[RosterKey, tuple[Member | None, Member | None]],
        stored: StoredRoster,
        *,
        at: datetime,
        version: int,
    ) -> StoredRoster:
        """``save`` of a roster made from ``stored.roster`` by ``put`` and ``drop``: only the
        members ``changes`` names are checked and written, the rows written as ``save`` would."""
        allowed = set(workspace_ids)
        for before, now in changes.values():
            if now is not None and now is not before:
                _check_member(now, allowed)
        ids = stored.person_ids
        dropped = sorted(
            (before for before, now in changes.values() if before is not None and now is None),
            key=member_key,
        )
        for member in dropped:
            self._delete(account_id, ids[member.email], member.workspace)
        added = sorted(
            (now for before, now in changes.values() if before is None and now is not None),
            key=member_key,
        )
        new_ids = self._persons.ensure_ids(
            account_id, [m.email for m in added if m.email not in ids], at=at
        )
        person_ids = {**ids, **new_ids}
        self._insert(account_id, person_ids, added, at, version)
        updated = sorted(
            (
                (before, now)
                for before, now in changes.values()
                if before is not None and now is not None and before is not now
            ),
            key=lambda pair: member_key(pair[1]),
        )
        for before, now in updated:
            if before != now:
                self._update(account_id, person_ids[now.email], before, now, at, version)
        for email in {m.email for m in dropped}:
            if not any(m.email == email for m in roster.members):
                del person_ids[email]
        if _in_order(roster, changes):
            return StoredRoster(roster, person_ids)
        return StoredRoster(Roster(tuple(sorted(roster.members, key=member_key))), person_ids)

    def _insert(
        self,
        account_id: str,
        person_ids: dict[str, str],
        added: list[Member],
        at: datetime,
        version: int,
    ) -> None:
        if not added:
            return
        rows = [
            {
                "account_id": account_id,
                "workspace_id": member.workspace,
                "person_id": person_ids[member.email],
                "status": member.status.value,
                "created_at": at,
                "updated_at": at,
                "status_changed_at": at,
                "roster_version": version,
            }
            for member in added
        ]
        execute_each(self._conn, [(_INSERT_MEMBERSHIP, rows)])
        self._insert_grants(
            account_id,
            [(person_ids[m.email], m.workspace, grant) for m in added for grant in m.grants],
            at,
        )

    def _update(
        self,
        account_id: str,
        person_id: str,
        before: Member,
        member: Member,
        at: datetime,
        version: int,
    ) -> None:
        workspace = member.workspace
        key = {"k_account": account_id, "k_workspace": workspace, "k_person": person_id}
        # The membership row is written for a change of grants too: its stamp says the member
        # changed at ``version``.
        changes: dict[str, Any] = {"updated_at": at, "roster_version": version}
        if before.status is not member.status:
            changes |= {"status": member.status.value, "status_changed_at": at}
        execute_each(self._conn, [(_UPDATE_MEMBERSHIP, [{**key, **changes}])])
        # A grant whose expiry changed is replaced: removed with the old expiry, added anew.
        for grant in before.grants - member.grants:
            self._conn.execute(
                _DELETE_GRANT, {**key, "k_role": grant.role, "k_scope": _stored_scope(grant)}
            )
        self._insert_grants(
            account_id,
            [(person_id, workspace, grant) for grant in member.grants - before.grants],
            at,
        )

    def _insert_grants(
        self, account_id: str, grants: list[tuple[str, str, RoleGrant]], at: datetime
    ) -> None:
        """Insert (person id, workspace id, grant) rows, each member's in (role, scope) order."""
        if not grants:
            return
        rows = [
            {
                "account_id": account_id,
                "workspace_id": workspace_id,
                "person_id": person_id,
                "role": grant.role,
                "scope": _stored_scope(grant),
                "expires_at": grant.expires_at,
                "created_at": at,
            }
            for person_id, workspace_id, grant in sorted(
                grants, key=lambda g: (g[1], g[0], _grant_key(g[2]))
            )
        ]
        execute_each(self._conn, [(_INSERT_GRANT, rows)])

    def _delete(self, account_id: str, person_id: str, workspace_id: str) -> None:
        key = {"k_account": account_id, "k_workspace": workspace_id, "k_person": person_id}
        self._conn.execute(_DELETE_GRANTS, key)
        self._conn.execute(_DELETE_MEMBERSHIP, key)


def roster_key(
    account_id: str, workspace_ids: Sequence[str], version: SubscriptionVersion
) -> VersionKey:
    """What the roster of ``workspace_ids`` at ``version`` is kept by (``store/version_cache.py``)."""
    return (account_id, version.subscription_id, version.version, tuple(sorted(workspace_ids)))


def _in_order(
    roster: Roster, changes: Mapping[RosterKey, tuple[Member | None, Member | None]]
) -> bool:
    """True when ``roster``, made by ``changes`` from a roster in the store's order, is in that
    order too: every member it put in sits between neighbours it is ordered with (the others keep
    their order; taking members out does not change it)."""
    members = roster.members
    for _, now in changes.values():
        if now is None:
            continue
        key = member_key(now)
        at = bisect_left(members, key, key=member_key)
        if at == len(members) or members[at] is not now:
            return False
        if at > 0 and member_key(members[at - 1]) >= key:
            return False
        if at + 1 < len(members) and member_key(members[at + 1]) <= key:
            return False
    return True


def _check_member(member: Member, allowed: set[str]) -> None:
    """Refuse a member the tables could not hold faithfully (besides a duplicate)."""
    if member.workspace not in allowed:
        raise InvalidInput(
            "workspace",
            f"{member.email} is in workspace {member.workspace!r}, which is not one of "
            f"the roster's workspaces ({', '.join(sorted(allowed))})",
        )
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


def _check(
    roster: Roster, workspace_ids: Sequence[str], as_stored: set[int]
) -> dict[tuple[str, str], Member]:
    """(workspace, e-mail) -> member, refusing what the tables could not hold faithfully (the
    members in ``as_stored``, by ``id()``, are checked for duplicates only)."""
    allowed = set(workspace_ids)
    wanted: dict[tuple[str, str], Member] = {}
    for member in roster.members:
        if id(member) in as_stored:
            key = (member.workspace, member.email)
            if key in wanted:
                raise InvalidInput("email", f"{member.email} appears twice in {member.workspace!r}")
            wanted[key] = member
            continue
        _check_member(member, allowed)
        key = (member.workspace, member.email)
        if key in wanted:
            raise InvalidInput("email", f"{member.email} appears twice in {member.workspace!r}")
        wanted[key] = member
    return wanted


def _stored_scope(grant: RoleGrant) -> str:
    return WHOLE_WORKSPACE if grant.scope is None else grant.scope


def _grant_key(grant: RoleGrant) -> GrantKey:
    return (grant.role, _stored_scope(grant))


def _grant(role: str, scope: str, expires_at: datetime | None) -> RoleGrant:
    return RoleGrant(
        role=role, scope=None if scope == WHOLE_WORKSPACE else scope, expires_at=expires_at
    )


_STATUSES = {status.value: status for status in MemberStatus}
