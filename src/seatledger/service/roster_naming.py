"""Rosters between the store's workspace ids and the state's workspace names.

The store keys members by workspace id, the state (and everything people see) by name, so a
change renames its roster on the way in and back on the way out. Renaming builds every member
anew, which on a large roster cost more than the change itself; and a member built anew is no
longer the object the roster was loaded with, so nothing after could tell by identity that it did
not change. Here the members a change did not touch keep their stored objects both ways: only the
members it touched are renamed, and the store, the seat intervals and the next load recognise the
rest by identity (``id()``), which the rosters involved hold alive.
"""

from __future__ import annotations

from collections.abc import Mapping

from seatledger.domain.seats import Member, Roster
from seatledger.service.ports import StoredRoster

# (workspace id, workspace name) pairs, sorted: one way of naming a stored roster.
Naming = tuple[tuple[str, str], ...]


def _naming(names: Mapping[str, str]) -> Naming:
    return tuple(sorted(names.items()))


def named(stored: StoredRoster, names: Mapping[str, str]) -> Roster:
    """``stored``'s roster with workspaces named through ``names`` (id -> name), renamed once
    per stored roster and naming."""
    naming = _naming(names)
    roster = stored.renamed.get(naming)
    if roster is None:
        roster = stored.renamed[naming] = stored.roster.renamed(names)
    return roster


class ByIdRoster:
    """A named roster written with workspaces by id: ``roster``, whose members loaded from
    ``loaded`` unchanged are the stored members themselves."""

    def __init__(
        self, roster: Roster, workspace_ids: Mapping[str, str], loaded: StoredRoster | None
    ) -> None:
        self.names = {ws_id: name for name, ws_id in workspace_ids.items()}
        stored_of: dict[int, Member] = {}
        if loaded is not None:
            was = loaded.renamed.get(_naming(self.names))
            if was is not None:
                stored_of = {
                    id(n): s for n, s in zip(was.members, loaded.roster.members, strict=True)
                }
        members: list[Member] = []
        # id() of each member written -> the named member it stands for (alive in ``roster``).
        self._named_of: dict[int, Member] = {}
        for member in roster.members:
            by_id = stored_of.get(id(member))
            if by_id is None:
                by_id = Member(
                    member.email, workspace_ids[member.workspace], member.status, member.grants
                )
            members.append(by_id)
            self._named_of[id(by_id)] = member
        self.roster = Roster(tuple(members))

    def remember_named(self, saved: StoredRoster) -> None:
        """Record on ``saved`` (what the store wrote from ``roster``) its named roster, made of
        the change's own named members, so the next load of it renames nothing."""
        members = [self._named_of.get(id(m)) for m in saved.roster.members]
        if all(m is not None for m in members):
            saved.renamed[_naming(self.names)] = Roster(tuple(m for m in members if m))
