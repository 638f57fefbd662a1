"""``Idempotency-Key`` on every POST, PUT and DELETE: a retried request is answered, not redone.

The first request with a key runs; its answer (status and body) is stored with a SHA-256 of the
request (method, path, query, acting person, body). A later request with the same key and the same
request gets the stored answer again, marked ``Idempotent-Replayed: true``; with a different
request it is refused with 409 ``conflict``. Keys belong to the account: two accounts may use the
same key.

What is stored: successful answers and refusals by the state of things (403, 404, 409: a seat
limit reached stays reached for that key). Not stored: invalid input (422: fix it and retry with
the same key), authentication problems and server errors (retrying may succeed). Secrets shown
once (a new API key's ``token``, a webhook endpoint's ``secret``) are blanked in the stored
answer: a replay tells the id, never the secret again.

Two requests with one key at the very same moment both run (the second to finish finds the key
taken and keeps its own answer unstored); clients send a key from one request at a time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from seatledger.api import limits
from seatledger.api.problems import problem_response, refusal_body
from seatledger.api.security import identify
from seatledger.domain.errors import Conflict, InvalidInput, SeatLedgerError
from seatledger.service.access import Caller
from seatledger.service.context import Services
from seatledger.service.ports import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SECRET_FIELDS = ("token", "secret")
# Answers kept for a replay: done, or refused by the state of things (not by the input).
REMEMBERED = frozenset({403, 404, 409})

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def request_hash(method: str, path: str, query: str, actor: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), actor.encode()):
        digest.update(part + b"\n")
    digest.update(body)
    return digest.hexdigest()


def key_of(request: Request) -> str | None:
    key = request.headers.get(HEADER)
    return key if key is not None and key.strip() else None


def recall(svc: Services, account_id: str, key: str) -> IdempotencyRecord | None:
    with svc.uow() as uow:
        return uow.idempotency.get(account_id, key)


def remember(svc: Services, record: IdempotencyRecord) -> None:
    """Store the answer; a key another request stored meanwhile keeps that one."""
    with svc.uow() as uow:
        try:
            uow.idempotency.put(record)
        except Conflict:
            return
        uow.commit()


def replay(record: IdempotencyRecord) -> Response:
    stored = record.response
    media_type = str(stored.get("media_type", "application/json"))
    body = stored.get("body")
    content = b"" if body is None else json.dumps(body).encode()
    return Response(
        content,
        status_code=int(stored["status"]),
        media_type=media_type,
        headers={REPLAYED: "true"},
    )


def reused(key: str, instance: str) -> Response:
    _, body = refusal_body(
        Conflict(
            f"Idempotency-Key {key!r} was used with a different request: "
            "send a new key for a new request."
        ),
        instance,
    )
    return problem_response(409, body)


def storable(response: Response) -> dict[str, Any] | None:
    """The answer as stored, or None when it is not JSON (nothing to replay exactly)."""
    media_type = response.media_type or response.headers.get("content-type", "")
    if response.status_code == 204 or not response.body:
        return {"status": response.status_code, "body": None, "media_type": media_type}
    if "json" not in media_type:
        return None
    body = json.loads(bytes(response.body))
    if isinstance(body, dict):
        body = {k: (None if k in SECRET_FIELDS else v) for k, v in body.items()}
    return {"status": response.status_code, "body": body, "media_type": media_type}


def idempotency_header(
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
    """Declares the header in the OpenAPI document; ``IdempotentRoute`` does the work."""


class IdempotentRoute(APIRoute):
    """An API route whose writes honour ``Idempotency-Key`` (see the module docstring)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {m.upper() for m in kwargs.get("methods") or ()}
        if methods & WRITES:
            kwargs["dependencies"] = [
                *(kwargs.get("dependencies") or ()),
                Depends(idempotency_header),
            ]
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        if not ((self.methods or set()) & WRITES):
            return handler

        async def idempotent(request: Request) -> Response:
            key = key_of(request)
            if key is None:
                return await handler(request)
            if len(key) > limits.KEY:
                raise InvalidInput(HEADER, f"must be at most {limits.KEY} characters")
            svc: Services = request.app.state.services
            caller: Caller = await run_in_threadpool(identify, svc, request)
            body = await request.body()
            digest = request_hash(
                request.method, request.url.path, request.url.query, caller.email, body
            )
            stored = await run_in_threadpool(recall, svc, caller.account_id, key)
            if stored is not None:
                if stored.request_hash != digest:
                    return reused(key, request.url.path)
                return replay(stored)
            try:
                response = await handler(request)
            except SeatLedgerError as error:
                status, problem = refusal_body(error, request.url.path)
                response = problem_response(status, problem)
            if response.status_code < 400 or response.status_code in REMEMBERED:
                kept = storable(response)
                if kept is not None:
                    record = IdempotencyRecord(
                        account_id=caller.account_id,
                        key=key,
                        request_hash=digest,
                        response=kept,
                        created_at=svc.clock.now(),
                    )
                    await run_in_threadpool(remember, svc, record)
            return response

        return idempotent
