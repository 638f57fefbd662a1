"""Rosters as committed at a subscription's version, kept between transactions.

Every seat change and preview needs the whole roster of the subscription it changes, and reading
it is O(members): on a 1,000-member subscription it was most of a preview's time. The roster
changes only in a change that also moves the subscription's ``version`` on (``gateway.save_state``
writes both in one transaction, under the subscription's lock), so the roster committed at a
version never changes afterwards: a roster read (or written and committed) at version ``v`` is
the right answer for anyone who later reads the subscription row at ``v``, in any process. A
process that finds another version reads the rows as before.

Two rules keep that true:
- A roster is remembered from a read only when the subscription row was read in the same
  transaction under its lock (``rosters.load(..., version=...)``: nobody can commit a change in
  between), and from a write only once the write is committed (``uow.after_commit``): a
  transaction that rolls back may have used a version number the next committed change takes.
- Entries are whole values (``Roster`` and its members are immutable) and are never updated,
  only added and evicted, least recently used first.

One cache per engine (one database), so two stores in one process never share entries.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from weakref import WeakKeyDictionary

from sqlalchemy import Engine

from seatledger.service.ports import StoredRoster

# (account id, subscription id, version, the workspace ids sorted)
RosterKey = tuple[str, str, int, tuple[str, ...]]

# Subscriptions a process keeps rosters of: a busy service process touches a few hundred
# subscriptions a minute, and one entry is a few hundred bytes per member.
DEFAULT_SIZE = 512


class RosterCache:
    """A bounded map of committed rosters by ``RosterKey``; safe to share between threads."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[RosterKey, StoredRoster] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: RosterKey) -> StoredRoster | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: RosterKey, stored: StoredRoster) -> None:
        with self._lock:
            self._entries[key] = stored
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


_BY_ENGINE: WeakKeyDictionary[Engine, RosterCache] = WeakKeyDictionary()
_BY_ENGINE_LOCK = threading.Lock()


def roster_cache(engine: Engine) -> RosterCache:
    """The cache of ``engine``'s database (made on first use, gone with the engine)."""
    with _BY_ENGINE_LOCK:
        cache = _BY_ENGINE.get(engine)
        if cache is None:
            cache = _BY_ENGINE[engine] = RosterCache()
        return cache
