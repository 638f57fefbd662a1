"""What every resource's router shares: the idempotent route class and the problems it documents."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from seatledger.api import limits
from seatledger.api.idempotency import IdempotentRoute
from seatledger.api.problems import problem_responses
from seatledger.domain.errors import InvalidInput

# Every operation may meet these; each is documented as application/problem+json.
PROBLEMS = (401, 403, 404, 409, 413, 422)


async def single_query_values(request: Request) -> None:
    """Every query parameter of the API takes one value: ``?limit=5&limit=50`` is refused rather
    than read as whichever value the framework happens to keep. (Dependencies that do no I/O are
    ``async``: the framework runs a plain function in a worker thread, a hop per request.)"""
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name in seen:
            raise InvalidInput(name, "must be given once")
        seen.add(name)


def resource_router(tag: str) -> APIRouter:
    """A router for one resource under ``/v1``, its writes honouring ``Idempotency-Key``."""
    return APIRouter(
        prefix="/v1",
        tags=[tag],
        route_class=IdempotentRoute,
        responses=problem_responses(*PROBLEMS),
        dependencies=[Depends(single_query_values)],
    )


def path_id(what: str) -> Any:
    """A path parameter holding an id: ``what`` says which (``"A workspace id (`ws_…`)."``)."""
    return Path(min_length=1, max_length=limits.ID, description=what)


AccountId = Annotated[str, path_id("An account id (`acc_…`).")]
WorkspaceId = Annotated[
    str, Path(min_length=1, max_length=limits.ID, description="A workspace id (`ws_…`).")
]
PersonId = Annotated[
    str, Path(min_length=1, max_length=limits.ID, description="A person id (`per_…`).")
]
SubscriptionId = Annotated[
    str, Path(min_length=1, max_length=limits.ID, description="A subscription id (`sub_…`).")
]
