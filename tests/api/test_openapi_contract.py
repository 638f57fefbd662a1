"""The OpenAPI document is the contract: Schemathesis generates requests for every operation from
it, on the seeded demo account, and every answer must be no 5xx and match its documented schema
(status, content type, body); requests that break the schema must be refused with a 4xx.

The app is built once, for its schema, on services that stand for the running test's database:
each test (one per operation and database) gets a fresh demo account. Examples are few per
operation, so the whole contract runs in well under a minute per database.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from api_helpers import bearer
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from seatledger.api import ApiSettings, create_app
from seatledger.bootstrap import Runtime
from seatledger.service.api_keys import issue_operator_key
from seatledger.service.context import Services
from seatledger.service.demo import DEMO_OWNER, seed_demo
from seatledger.service.ports import UnitOfWork

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


class CurrentTest:
    """The services of the test running now: what the app built at import time acts on."""

    runtime: Runtime | None = None

    def uow(self) -> UnitOfWork:
        assert self.runtime is not None, "the contract test's database is not set up"
        return self.runtime.uow()

    def now(self) -> datetime:
        return self.runtime.clock.now() if self.runtime is not None else datetime.now(UTC)


current = CurrentTest()
app = create_app(Services(uow=current.uow, clock=current), ApiSettings(webhook_interval=None))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture
def demo_headers(runtime: Runtime) -> Iterator[dict[str, str]]:
    current.runtime = runtime
    account_id, _ = seed_demo(runtime)
    issued = issue_operator_key(runtime, account_id=account_id, email=DEMO_OWNER, name="contract")
    yield bearer(issued.token, DEMO_OWNER)
    current.runtime = None


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_answers_as_documented(case: Any, demo_headers: dict[str, str]) -> None:
    # The caller is always the demo owner: generated keys and actors would only meet 401s.
    case.headers = {**(case.headers or {}), **demo_headers}
    case.call_and_validate(checks=CHECKS)
