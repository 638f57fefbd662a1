"""What a subscription held as committed at one of its versions, kept between transactions.

Every seat change and preview needs the whole roster of the subscription it changes, its add-ons
and its unbilled pending lines, and reading the roster is O(members): on a 1,000-member
subscription it was most of a preview's time. These change only in a change that also moves the
subscription's ``version`` on (``gateway.save_state`` and the billing run's batches write both
in one transaction, under the subscription's lock), so what was committed at a version never
changes afterwards: rows read (or written and committed) at version ``v`` are the right answer
for anyone who later reads the subscription row at ``v``, in any process. A process that finds
another version reads the rows as before.

Two rules keep that true:
- Rows are remembered from a read only when the subscription row was read in the same
  transaction under its lock (``remember=True``: nobody can commit a change in between), and from
  a write only once the write is committed (``uow.after_commit``): a transaction that rolls back
  may have used a version number the next committed change takes.
- Entries are whole immutable values (rosters, members, pending lines) and are never updated,
  only replaced by a later version of the same subscription and evicted, least recently used
  first.

One cache of each kind per engine (one database), so two stores in one process never share
entries.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Engine

from seatledger.service.ports import StoredRoster, SubscriptionParts
from seatledger.store.read_ahead import Contended

V = TypeVar("V")

# (account id, subscription id, version, the workspace ids sorted: () for what is not a roster)
VersionKey = tuple[str, str, int, tuple[str, ...]]
# The same without the version: one entry per subscription (and workspaces).
_Slot = tuple[str, str, tuple[str, ...]]

# Subscriptions a process keeps rosters of: a busy service process touches a few hundred
# subscriptions a minute, and one entry is a few hundred bytes per member.
DEFAULT_SIZE = 512


class VersionCache(Generic[V]):
    """A bounded map of committed values by ``VersionKey``; safe to share between threads.

    Only the latest version known of each subscription is kept: once a later version is
    committed, nobody reads the subscription row at an earlier one again, and keeping every
    version of a busy subscription's roster would hold thousands of members per change in memory
    (and make every garbage collection walk them)."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[_Slot, tuple[int, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: VersionKey) -> V | None:
        slot, version = _slot(key)
        with self._lock:
            found = self._entries.get(slot)
            if found is None or found[0] != version:
                return None
            self._entries.move_to_end(slot)
            return found[1]

    def put(self, key: VersionKey, value: V) -> None:
        slot, version = _slot(key)
        with self._lock:
            found = self._entries.get(slot)
            # A put may come late (a transaction's after-commit, in a threaded server): never
            # replace a later version with an earlier one.
            if found is not None and found[0] > version:
                return
            self._entries[slot] = (version, value)
            self._entries.move_to_end(slot)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def earlier(self, key: VersionKey) -> tuple[int, V] | None:
        """The version kept for ``key``'s subscription and its value, when that version is
        earlier than ``key``'s: what a reader can catch up from instead of reading everything."""
        slot, version = _slot(key)
        with self._lock:
            found = self._entries.get(slot)
        if found is None or found[0] >= version:
            return None
        return found

    def latest(self, key: VersionKey) -> int | None:
        """The version kept for ``key``'s subscription, whatever ``key``'s own version."""
        slot, _ = _slot(key)
        with self._lock:
            found = self._entries.get(slot)
        return None if found is None else found[0]

    def answer(self, key: VersionKey, read: Callable[[], V], *, remember: bool) -> V:
        """The value known at ``key``, else ``read()`` (kept when ``remember``: the caller read
        it under the subscription's lock)."""
        value = self.get(key)
        if value is None:
            value = read()
            if remember:
                self.put(key, value)
        return value

    def clear(self) -> None:
        """Forget every entry: the next reader of each subscription reads its rows."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def _slot(key: VersionKey) -> tuple[_Slot, int]:
    account_id, subscription_id, version, workspace_ids = key
    return (account_id, subscription_id, workspace_ids), version


class EngineCaches:
    """The caches of one engine's database."""

    def __init__(self) -> None:
        self.rosters: VersionCache[StoredRoster] = VersionCache()
        self.parts: VersionCache[SubscriptionParts] = VersionCache()
        self.contended = Contended(DEFAULT_SIZE)


_BY_ENGINE: WeakKeyDictionary[Engine, EngineCaches] = WeakKeyDictionary()
_BY_ENGINE_LOCK = threading.Lock()


def caches_of(engine: Engine) -> EngineCaches:
    """The caches of ``engine``'s database (made on first use, gone with the engine)."""
    with _BY_ENGINE_LOCK:
        caches = _BY_ENGINE.get(engine)
        if caches is None:
            caches = _BY_ENGINE[engine] = EngineCaches()
        return caches
