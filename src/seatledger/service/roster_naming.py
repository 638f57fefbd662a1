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

from bisect import bisect_left
from collections.abc import Mapping

from seatledger.domain.seats import Member, Roster, RosterKey, RosterOrigin, changes_since
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
    ``loaded`` unchanged are the stored members themselves.

    When the named roster was made from the loaded one by ``put`` and ``drop`` (its ``origin``),
    only the changed members are renamed and placed: ``roster`` is then the loaded roster with
    them, in the store's order (workspace id, e-mail), and its origin says what changed, so the
    store and the seat intervals look at those members only."""

    def __init__(
        self, roster: Roster, workspace_ids: Mapping[str, str], loaded: StoredRoster | None
    ) -> None:
        self.names = {ws_id: name for name, ws_id in workspace_ids.items()}
        # The named members of ``roster``, in its order, when known without a walk of it.
        self._named: tuple[Member, ...] | None = None
        self._source = roster
        self._named_of: dict[int, Member] = {}
        was = None if loaded is None else loaded.renamed.get(_naming(self.names))
        changes = None if was is None else changes_since(roster, was)
        if loaded is not None and was is not None and changes is not None:
            self.roster = self._placed(loaded.roster, was, changes, workspace_ids)
            return
        stored_of: dict[int, Member] = {}
        if loaded is not None and was is not None:
            stored_of = {id(n): s for n, s in zip(was.members, loaded.roster.members, strict=True)}
        members: list[Member] = []
        # id() of each member written -> the named member it stands for (alive in ``roster``).
        for member in roster.members:
            by_id = stored_of.get(id(member))
            if by_id is None:
                by_id = Member(
                    member.email, workspace_ids[member.workspace], member.status, member.grants
                )
            members.append(by_id)
            self._named_of[id(by_id)] = member
        self.roster = Roster(tuple(members))

    def _placed(
        self,
        stored: Roster,
        was: Roster,
        changes: Mapping[RosterKey, tuple[Member | None, Member | None]],
        workspace_ids: Mapping[str, str],
    ) -> Roster:
        """``stored`` with ``changes`` (named, made from ``was``: ``stored`` named) renamed and
        put in place; the named members kept alongside, position for position."""
        by_id, named_now = list(stored.members), list(was.members)
        changed: dict[RosterKey, tuple[Member | None, Member | None]] = {}
        for before, now in changes.values():
            stored_before = None
            if before is not None:
                at = _position(by_id, named_now, before, workspace_ids)
                stored_before = by_id.pop(at)
                del named_now[at]
            stored_now = None
            if now is not None:
                stored_now = Member(now.email, workspace_ids[now.workspace], now.status, now.grants)
                at = bisect_left(by_id, _stored_key(stored_now), key=_stored_key)
                by_id.insert(at, stored_now)
                named_now.insert(at, now)
            either = stored_now or stored_before
            if either is not None:
                changed[_stored_key(either)] = (stored_before, stored_now)
        self._named = tuple(named_now)
        return stored.with_changes(tuple(by_id), changed)

    def remember_named(self, saved: StoredRoster) -> None:
        """Record on ``saved`` (what the store wrote from ``roster``) its named roster, made of
        the change's own named members, so the next load of it renames nothing."""
        if self._named is not None:
            if saved.roster is self.roster:
                # The change's own roster in the store's order: the same members, made the same
                # way from the same roster, so what was counted on the one stands for the other.
                source = self._source
                origin = source.origin or RosterOrigin(source, {})
                saved.renamed[_naming(self.names)] = Roster(self._named, origin)
                return
            self._named_of = {
                id(b): n for b, n in zip(self.roster.members, self._named, strict=True)
            }
        members = [self._named_of.get(id(m)) for m in saved.roster.members]
        if all(m is not None for m in members):
            saved.renamed[_naming(self.names)] = Roster(tuple(m for m in members if m))


def _stored_key(member: Member) -> RosterKey:
    return (member.workspace, member.email)


def _position(
    by_id: list[Member], named: list[Member], member: Member, workspace_ids: Mapping[str, str]
) -> int:
    """Where the named ``member`` is in ``named``: found by its stored key in ``by_id`` (the
    store's order), else by identity (a stored roster in another order)."""
    at = bisect_left(by_id, (workspace_ids[member.workspace], member.email), key=_stored_key)
    if at < len(named) and named[at] is member:
        return at
    return next(i for i, m in enumerate(named) if m is member)
