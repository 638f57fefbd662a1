"""Members put in place in a stored roster, without walking the roster.

A stored roster is in the store's order (workspace id, e-mail), and each naming of it kept on the
``StoredRoster`` (``renamed``) holds the same members renamed, position for position. Catching a
roster up with the rows written since (``repositories/rosters.py``) puts the changed members in
place by bisection, in the roster and in every naming alike, and the rosters it makes know what
changed from the ones kept (``Roster.with_changes``), so what was counted on those stands.
"""

from __future__ import annotations

from bisect import bisect_left
from operator import attrgetter

from seatledger.domain.seats import Member, RoleGrant, RosterKey
from seatledger.service.ports import StoredRoster

# The store's order of members: (workspace id, e-mail).
member_key = attrgetter("workspace", "email")


class Placement:
    """Members put in place in a stored roster (in the store's order: workspace id, e-mail) and,
    position for position, in every naming of it the stored roster keeps."""

    def __init__(self, kept: StoredRoster) -> None:
        self._kept = kept
        self.members = list(kept.roster.members)
        self._named: dict[
            tuple[tuple[str, str], ...],
            tuple[
                dict[str, str], list[Member], dict[RosterKey, tuple[Member | None, Member | None]]
            ],
        ] = {
            naming: (dict(naming), list(roster.members), {})
            for naming, roster in kept.renamed.items()
            if len(roster.members) == len(self.members)
        }
        self._grant_sets: dict[frozenset[RoleGrant], frozenset[RoleGrant]] = {}
        self._changes: dict[RosterKey, tuple[Member | None, Member | None]] = {}

    def put(self, member: Member) -> None:
        """Put ``member`` in place of the stored member with its key, or in its place among
        them; an equal member leaves the stored one as it is."""
        members, key = self.members, (member.workspace, member.email)
        at = bisect_left(members, key, key=member_key)
        found = members[at] if at < len(members) and member_key(members[at]) == key else None
        if found is not None:
            self._grant_sets.setdefault(found.grants, found.grants)
            if found == member:
                return
        # Equal grant sets stay one object, as a whole read of the roster makes them.
        grants = self._grant_sets.setdefault(member.grants, member.grants)
        member = Member(member.email, member.workspace, member.status, grants)
        if found is None:
            members.insert(at, member)
        else:
            members[at] = member
        self._changes[key] = (found, member)
        for names, named, changes in self._named.values():
            as_named = Member(member.email, names[member.workspace], member.status, grants)
            was = None
            if found is None:
                named.insert(at, as_named)
            else:
                was = named[at]
                named[at] = as_named
            changes[(as_named.workspace, as_named.email)] = (was, as_named)

    def stored(self, person_ids: dict[str, str]) -> StoredRoster:
        """The stored roster with the members put, and its namings, with ``person_ids``."""
        kept = self._kept
        roster = kept.roster.with_changes(tuple(self.members), self._changes)
        renamed = {
            naming: kept.renamed[naming].with_changes(tuple(named), changes)
            for naming, (_, named, changes) in self._named.items()
        }
        return StoredRoster(roster, person_ids, renamed)
