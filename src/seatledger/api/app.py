"""The FastAPI application: every use case over HTTP under ``/v1``.

``create_app(services)`` builds it on the ``Services`` (or ``Runtime``) that
``seatledger.bootstrap`` made; nothing here picks a database or a clock. The app serves
``/openapi.json`` and ``/docs``, ``/healthz`` (the database answers) and ``/metrics``
(Prometheus), and, unless told otherwise, runs the webhook worker in the background.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from seatledger import __version__
from seatledger.api import limits
from seatledger.api.accounts.endpoints import router as accounts
from seatledger.api.accounts.endpoints import signup
from seatledger.api.activity.endpoints import router as activity
from seatledger.api.api_keys.endpoints import router as api_keys
from seatledger.api.deliverer import WebhookWorker
from seatledger.api.invoices.endpoints import router as invoices
from seatledger.api.members.endpoints import router as members
from seatledger.api.metrics import MeasureRequests, Metrics
from seatledger.api.plans.endpoints import router as plans
from seatledger.api.problems import (
    ApiProblem,
    CatchUnexpected,
    on_api_problem,
    on_http_error,
    on_refusal,
    on_validation_error,
)
from seatledger.api.seats.endpoints import router as seats
from seatledger.api.simulations.endpoints import router as simulations
from seatledger.api.subscriptions.endpoints import router as subscriptions
from seatledger.api.test_clocks.endpoints import router as test_clocks
from seatledger.api.webhooks.endpoints import router as webhooks
from seatledger.api.workspaces.endpoints import router as workspaces
from seatledger.bootstrap import bootstrap
from seatledger.domain.errors import NotFound, SeatLedgerError
from seatledger.service.collector import tune_for_serving
from seatledger.service.context import Services
from seatledger.web import web_router

log = logging.getLogger("seatledger.api")

DESCRIPTION = """
Seat management and exact seat-based billing.

**Keys.** Sign up with `POST /v1/accounts` (no key needed): the answer holds an API key bound to
the person who signed up. Send it as `Authorization: Bearer slk.…`. Keys made with
`POST /v1/api-keys` and no `email` are account-wide: such requests name the acting person in
`Seatledger-Actor: <e-mail>`. The acting person's roles decide what a request may do.

**Errors** are RFC 9457 problem details with a stable `code`. **Writes** accept
`Idempotency-Key`. Amounts are strings; instants are ISO 8601 UTC.
"""


@dataclass(frozen=True)
class ApiSettings:
    """How the app runs. ``webhook_interval`` is the worker's pause in seconds (None: no worker,
    e.g. in tests that deliver by hand); ``open_signup`` lets anyone open an account."""

    open_signup: bool = True
    webhook_interval: float | None = 1.0
    max_body_bytes: int = limits.MAX_BODY_BYTES


class Health(BaseModel):
    status: str
    version: str


def create_app(services: Services, settings: ApiSettings | None = None) -> FastAPI:
    """The ASGI app serving the API on ``services``."""
    settings = settings or ApiSettings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = None
        if settings.webhook_interval is not None:
            worker = WebhookWorker(services, interval=settings.webhook_interval)
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()

    app = FastAPI(
        title="seatledger",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.metrics = metrics
    app.state.settings = settings

    app.add_exception_handler(SeatLedgerError, on_refusal)
    app.add_exception_handler(ApiProblem, on_api_problem)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    # Outermost last: measure everything, refuse big bodies, and never let a bug out raw.
    app.add_middleware(CatchUnexpected)
    app.add_middleware(limits.LimitBody, limit=settings.max_body_bytes)
    app.add_middleware(MeasureRequests, metrics=metrics)

    if settings.open_signup:
        app.include_router(signup)
    for router in (
        accounts,
        api_keys,
        workspaces,
        plans,
        subscriptions,
        seats,
        members,
        activity,
        invoices,
        simulations,
        test_clocks,
        webhooks,
    ):
        app.include_router(router)
    app.include_router(web_router(services))  # the admin pages, under /admin

    @app.get("/healthz", response_model=Health, tags=["operations"], summary="Health")
    def healthz() -> Health:
        """200 when the database answers."""
        with services.lookup() as uow, suppress(NotFound):
            uow.accounts.get("")  # any answer from the database will do
        return Health(status="ok", version=__version__)

    app.add_api_route(
        "/metrics",
        metrics.endpoint,
        methods=["GET"],
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    return app


def app_from_environment() -> FastAPI:
    """The app ``seatledger serve --workers N`` starts in each worker process: the database URL
    and the flags come from the environment the command set."""
    runtime = bootstrap(os.environ.get("SEATLEDGER_DATABASE_URL") or None)
    app = create_app(runtime)
    # The worker process only serves (``collector.tune_for_serving``); ``create_app`` itself
    # leaves the collector alone, for applications that mount the app in a process of their own.
    tune_for_serving()
    return app
