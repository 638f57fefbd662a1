"""``/v1/test-clocks``: create, attach subscriptions, advance (renewals run as the clock moves)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Request
from fastapi.responses import JSONResponse

from seatledger.api.idempotency import answer_once
from seatledger.api.pagination import CursorQuery, LimitQuery, Page, paginate
from seatledger.api.routing import path_id, resource_router
from seatledger.api.schemas import InvoiceRead
from seatledger.api.security import CallerDep, ServicesDep
from seatledger.api.test_clocks.schemas import (
    TestClockAdvance,
    TestClockAdvanced,
    TestClockAttach,
    TestClockAttached,
    TestClockCreate,
    TestClockRead,
)
from seatledger.service import listings, test_clocks
from seatledger.service.access import require_manager
from seatledger.service.context import Services

router = resource_router("test clocks")

ClockId = Annotated[str, path_id("A test clock id (`clk_…`).")]


@router.post("/test-clocks", status_code=201, response_model=TestClockRead, summary="New clock")
def create_test_clock(
    body: TestClockCreate, request: Request, caller: CallerDep, svc: ServicesDep
) -> JSONResponse:
    """A clock of the account's own, standing at ``at`` (account managers)."""

    def run(s: Services) -> TestClockRead:
        require_manager(s, caller)
        clock = test_clocks.create_test_clock(
            s, account_id=caller.account_id, at=body.at, name=body.name
        )
        return TestClockRead.of(clock)

    return answer_once(request, svc, caller, run, body=body, status=201)


@router.get("/test-clocks", response_model=Page[TestClockRead], summary="The test clocks")
def list_test_clocks(
    caller: CallerDep, svc: ServicesDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[TestClockRead]:
    clocks = listings.test_clocks(svc, caller=caller)
    items, next_cursor = paginate(
        clocks,
        key=lambda c: (c.created_at.isoformat(), c.id),
        limit=limit,
        cursor=cursor,
        read=TestClockRead.of,
    )
    return Page[TestClockRead](items=items, next_cursor=next_cursor)


@router.get("/test-clocks/{clock_id}", response_model=TestClockRead, summary="A test clock")
def get_test_clock(clock_id: ClockId, caller: CallerDep, svc: ServicesDep) -> TestClockRead:
    require_manager(svc, caller)
    return TestClockRead.of(
        test_clocks.get_test_clock(svc, account_id=caller.account_id, clock_id=clock_id)
    )


@router.post("/test-clocks/{clock_id}/attach", response_model=TestClockAttached, summary="Attach")
def attach_test_clock(
    clock_id: ClockId,
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
    body: Annotated[TestClockAttach | None, Body()] = None,
) -> JSONResponse:
    """Put the account's active subscriptions (or one) on the clock; what falls due up to the
    clock's time is issued on the way."""
    wanted = body or TestClockAttach()

    def run(s: Services) -> TestClockAttached:
        require_manager(s, caller)
        issued = test_clocks.attach_test_clock(
            s,
            account_id=caller.account_id,
            clock_id=clock_id,
            subscription_id=wanted.subscription_id,
        )
        return TestClockAttached(invoices=[InvoiceRead.of_view(v) for v in issued])

    return answer_once(request, svc, caller, run, body=wanted)


@router.post("/test-clocks/{clock_id}/advance", response_model=TestClockAdvanced, summary="Advance")
def advance_test_clock(
    clock_id: ClockId, body: TestClockAdvance, request: Request, caller: CallerDep, svc: ServicesDep
) -> JSONResponse:
    """Move the clock forward; every renewal and role expiry on the way is issued in order."""

    def run(s: Services) -> TestClockAdvanced:
        require_manager(s, caller)
        moved = test_clocks.advance_test_clock(
            s, account_id=caller.account_id, clock_id=clock_id, to=body.to
        )
        return TestClockAdvanced(
            clock=TestClockRead.of(moved.clock),
            invoices=[InvoiceRead.of_view(v) for v in moved.invoices],
        )

    return answer_once(request, svc, caller, run, body=body)
