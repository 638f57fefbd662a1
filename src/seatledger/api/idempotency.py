"""``Idempotency-Key`` on every POST, PUT and DELETE: a retried request is answered, not redone.

Each write endpoint runs its work through ``respond_once``, which hands it to the service layer's
``run_idempotent`` (``service/idempotency.py``): the key, a SHA-256 of the request (method, path,
query, acting person, body) and the answer are stored in the same transaction as the change. The
same key with the same request gets the stored answer again, marked ``Idempotent-Replayed:
true``; with another request, 409 ``conflict``. Two copies of one request sent at once make one
change. Keys belong to the account: two accounts may use the same key.

A refusal (a seat limit, invalid input, not permitted...) stores nothing: the retry runs again,
since the state that refused it may have changed. Secrets shown once (a new API key's ``token``,
a webhook endpoint's ``secret``) are blanked in the stored answer: a replay tells the id, never
the secret again.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from seatledger.api import limits
from seatledger.service.access import Caller
from seatledger.service.context import Services
from seatledger.service.idempotency import run_idempotent

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SECRET_FIELDS = ("token", "secret")
HANDLED = "seatledger_idempotency_handled"


async def idempotency_header(
    _key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            max_length=limits.KEY,
            description="A key of your choice (a UUID): a retry with the same key and request "
            "gets the first answer again; with another request, 409.",
        ),
    ] = None,
) -> None:
    """Declares the header in the OpenAPI document; ``respond_once`` does the work."""


class IdempotentRoute(APIRoute):
    """An API route whose writes take ``Idempotency-Key``: it is documented, and a write that
    answered with a key but without going through ``respond_once`` is a bug, not a silent
    double charge on the next retry."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {m.upper() for m in kwargs.get("methods") or ()}
        if methods & WRITES:
            kwargs["dependencies"] = [
                *(kwargs.get("dependencies") or ()),
                Depends(idempotency_header),
            ]
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not ((self.methods or set()) & WRITES):
            return handler

        async def checked(request: Request) -> Response:
            response = await handler(request)
            keyed = key_of(request) is not None
            if keyed and response.status_code < 400 and not _handled(request):
                raise RuntimeError(f"{request.method} {self.path} ignores {HEADER}")
            return response

        return checked


def key_of(request: Request) -> str | None:
    key = request.headers.get(HEADER)
    return key if key is not None and key.strip() else None


def _handled(request: Request) -> bool:
    return bool(getattr(request.state, HANDLED, False))


def _blanked(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if k in SECRET_FIELDS else v) for k, v in answer.items()}


def respond_once(
    request: Request,
    svc: Services,
    *,
    account_id: str,
    actor: str,
    body: BaseModel | None,
    run: Callable[[Services], BaseModel],
    status: int = 200,
) -> JSONResponse:
    """The answer of ``run`` (given the ``Services`` to do its work with), once per
    ``Idempotency-Key``: without a key it simply runs."""
    key = key_of(request)
    if key is None:
        return JSONResponse(run(svc).model_dump(mode="json"), status_code=status)
    setattr(request.state, HANDLED, True)
    first: list[dict[str, Any]] = []

    def call(joined: Services) -> dict[str, Any]:
        first.append(run(joined).model_dump(mode="json"))
        return first[0]

    answer = run_idempotent(
        svc,
        account_id=account_id,
        key=key,
        request={
            "method": request.method,
            "path": request.url.path,
            "query": sorted(request.query_params.multi_items()),
            "actor": actor,
            "body": body.model_dump(mode="json") if body is not None else None,
        },
        call=call,
        encode=lambda done: {"status": status, "body": _blanked(done)},
    )
    if not answer.replayed:
        return JSONResponse(first[0], status_code=status)
    return JSONResponse(
        answer.response["body"],
        status_code=int(answer.response["status"]),
        headers={REPLAYED: "true"},
    )


def answer_once(
    request: Request,
    svc: Services,
    caller: Caller,
    run: Callable[[Services], BaseModel],
    *,
    body: BaseModel | None = None,
    status: int = 200,
) -> JSONResponse:
    """``respond_once`` for a caller's request: keyed in their account, hashed with who acts."""
    return respond_once(
        request,
        svc,
        account_id=caller.account_id,
        actor=caller.email,
        body=body,
        run=run,
        status=status,
    )
