"""Waiting for PostgreSQL transactions to queue on a lock, for the race tests that stage one
interleaving: start a transaction, wait until it is stuck on a lock the test holds, go on."""

from __future__ import annotations

import time

from sqlalchemy import Engine, text

WAIT_SECONDS = 10


def waiting_on_locks(engine: Engine) -> int:
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()
    return int(found)


def wait_for_waiters(engine: Engine, count: int) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while waiting_on_locks(engine) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert waiting_on_locks(engine) == count, "the transactions never queued on a lock"
