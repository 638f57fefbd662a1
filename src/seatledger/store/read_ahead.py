"""Reads sent ahead with a seat change's locked read, for subscriptions other processes change.

A seat change starts by locking its subscription (``SqlSubscriptions.find_for_workspace_name``).
When another process changed the subscription since this one last held it, the roster kept
(``store/version_cache.py``) is caught up from the rows written since, and the add-ons and
pending lines are read again: two more round trips, both made while holding the row lock every
other writer of the subscription waits on. On a busy subscription that wait is the whole cost:
16 processes on one subscription spent most of each transaction's hold waiting for a CPU after
each round trip.

So a workspace whose subscription was found changed that way is remembered (``Contended``), with
the subscription and workspaces found, and its next locked read sends both reads in the same
round trip, after the lock in the pipeline: each statement reads what was committed when it
starts (READ COMMITTED), so they read what the lock's last holder committed. What they return is
kept for the unit of work (``ReadAhead``) only when the locked row is the subscription and
workspaces they were sent for, and used only by the reads they stand for: the roster caught up
from the same kept version, the parts at the same version. Anything else is dropped and read as
before. A process alone on its subscriptions finds its kept rosters current and sends nothing
ahead.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from seatledger.store.version_cache import VersionKey


class Covered(NamedTuple):
    """The subscription a workspace name was found covered by, and its workspace ids sorted."""

    subscription_id: str
    workspace_ids: tuple[str, ...]


class Contended:
    """Workspace names (by account) whose subscription another process changed between two of
    this process's locked reads of it, each with what that read found covering it; bounded, the
    least recently used dropped first; safe to share between threads. ``size`` is as many as the
    rosters kept (``version_cache.EngineCaches``): a name is worth remembering while its roster
    is."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, str], Covered] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, account_id: str, name: str) -> Covered | None:
        with self._lock:
            return self._entries.get((account_id, name))

    def mark(self, account_id: str, name: str, covered: Covered) -> None:
        with self._lock:
            self._entries[(account_id, name)] = covered
            self._entries.move_to_end((account_id, name))
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def forget(self, account_id: str, name: str) -> None:
        with self._lock:
            self._entries.pop((account_id, name), None)

    def __len__(self) -> int:
        return len(self._entries)


class ReadAhead:
    """What one unit of work read ahead under a subscription's lock: the rows catching a kept
    roster up (by the roster's key and the version it was kept at) and the rows of the
    subscription's parts (by the subscription and its version). Each is taken once."""

    def __init__(self, contended: Contended) -> None:
        self.contended = contended
        self._rosters: dict[tuple[VersionKey, int], list[Any]] = {}
        self._parts: dict[tuple[str, str, int], list[Any]] = {}

    def keep_roster(self, key: VersionKey, since: int, rows: list[Any]) -> None:
        self._rosters[(key, since)] = rows

    def take_roster(self, key: VersionKey, since: int) -> list[Any] | None:
        return self._rosters.pop((key, since), None)

    def keep_parts(
        self, account_id: str, subscription_id: str, version: int, rows: list[Any]
    ) -> None:
        self._parts[(account_id, subscription_id, version)] = rows

    def take_parts(self, account_id: str, subscription_id: str, version: int) -> list[Any] | None:
        return self._parts.pop((account_id, subscription_id, version), None)

    def clear(self) -> None:
        self._rosters.clear()
        self._parts.clear()
