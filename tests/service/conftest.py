"""Service tests run the use cases through ``bootstrap`` on a migrated SQLite file and PostgreSQL,
with a manual clock (``clock`` from the root conftest) so time moves only when a test moves it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from seatledger.bootstrap import Runtime, bootstrap
from seatledger.clock import ManualClock


@pytest.fixture
def runtime(database_url: str, clock: ManualClock) -> Iterator[Runtime]:
    built = bootstrap(database_url, clock=clock)
    yield built
    built.dispose()
