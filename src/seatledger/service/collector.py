"""Fewer collections where seatledger knows what its objects do: batch work, and a serving process.

A billing run holds each batch's objects (states, lines, the rows to write: about 55 tracked
objects a renewal, twice that while one batch is written and the next priced) until the batch is
written, and reference counting then frees them all: a batch leaves no cycles behind. CPython's
cyclic collector does not know that. It starts a young collection every 700 net allocations, so it
walked those live objects again and again, moved them to the older generations, and so made full
collections that walk the whole heap: 10 to 15% of a run (``gc.callbacks`` over 5,000 renewals on
SQLite). ``fewer_collections`` raises the young generation's threshold for the length of the work
and puts the old one back after.

The threshold is the process's, so the raise is shared: the first caller in raises it, the last
one out restores what was there before the first came in (threads and nested runs alike). A cycle
made meanwhile, anywhere in the process, is still collected, after more allocations than usual.

``tune_for_serving`` is for a process that does nothing but serve requests (``seatledger serve``
calls it once its app is built): what start-up made (modules, the app and its schemas, the tables'
metadata) lives as long as the process, so it is frozen out of every later collection's walk
(``gc.freeze``), and the young threshold stays raised. Under the API bench's load (8 connections,
one worker, wrk) the server's CPU per invite-and-accept went from 8.15-8.96 ms to 7.15-7.76 (the
freeze alone: 8.31).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# A serving process's young threshold: a request allocates a few hundred tracked objects and frees
# them when it is answered.
SERVING_YOUNG_THRESHOLD = 50_000

_lock = threading.Lock()
_holders = 0
_saved: tuple[int, int, int] = (0, 0, 0)


@contextmanager
def fewer_collections(live_objects: int) -> Iterator[None]:
    """Within the block, a young collection starts after no fewer than ``live_objects`` net
    allocations (never sooner than the process had it, and never at all where the process
    switched the collector off with a threshold of 0); outside, as before."""
    global _holders, _saved
    with _lock:
        current = gc.get_threshold()
        if _holders == 0:
            _saved = (current[0], current[1], current[2])
        # A threshold of 0 is the collector switched off: left so.
        if 0 < current[0] < live_objects:
            gc.set_threshold(live_objects, current[1], current[2])
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                gc.set_threshold(*_saved)


def tune_for_serving() -> None:
    """Freeze what the process holds now out of later collections, and raise the young threshold
    to ``SERVING_YOUNG_THRESHOLD`` for good (unless it is higher, or 0: the collector off). For
    a process that only serves, once its app is built."""
    global _saved
    gc.collect()
    gc.freeze()
    with _lock:
        if _holders and 0 < _saved[0] < SERVING_YOUNG_THRESHOLD:
            # A run under way ends with the serving threshold, not the one it found.
            _saved = (SERVING_YOUNG_THRESHOLD, _saved[1], _saved[2])
        current = gc.get_threshold()
        if 0 < current[0] < SERVING_YOUNG_THRESHOLD:
            gc.set_threshold(SERVING_YOUNG_THRESHOLD, current[1], current[2])
