"""Fewer young-generation collections while batch work keeps many objects alive on purpose.

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
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

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
