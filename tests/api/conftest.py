"""API tests drive the real ASGI app (FastAPI's TestClient) on SQLite and PostgreSQL.

``client`` is the app on an empty migrated store with a manual clock (time moves only when a test
moves it) and no background webhook worker (tests deliver by hand). ``api_helpers`` holds what
the test modules share (``sign_up``, ``subscribe``, ``bearer``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from api_helpers import TestClient
from sqlalchemy import event

from seatledger.api import ApiSettings, create_app
from seatledger.bootstrap import Runtime, bootstrap
from seatledger.clock import ManualClock


def _no_fsync(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous = OFF")
    cursor.close()


@pytest.fixture
def runtime(database_url: str, clock: ManualClock) -> Iterator[Runtime]:
    built = bootstrap(database_url, clock=clock)
    if built.engine is not None and built.engine.dialect.name == "sqlite":
        # A throwaway file: waiting for the disk on every commit would only slow the tests.
        event.listen(built.engine, "connect", _no_fsync)
    yield built
    built.dispose()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    app = create_app(runtime, ApiSettings(webhook_interval=None))
    with TestClient(app) as test_client:
        yield test_client
