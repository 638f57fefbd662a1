"""Errors as RFC 9457 problem details (``application/problem+json``).

Every refusal carries the stable ``code`` of the domain error (SCENARIOS.md), its ``title``, a
``detail`` sentence built from the error's typed fields (so it has the numbers), and the fields
themselves as extension members (``used``, ``total``, ``requested``...). Validation errors name the
offending ``field`` (``emails[3]``, ``seats``) and list every problem under ``errors``.

The HTTP status is chosen here, never in the domain: ``status_for`` walks the error's class
hierarchy (its MRO) to the nearest class in ``STATUSES``, so a new subclass of ``SeatCountRefused``
is a 422 without anyone listing it, and anything unknown under ``SeatLedgerError`` is a 400.
Anything that is not a ``SeatLedgerError`` is a bug: logged with its stack trace, answered as a
bare 500 that says nothing about the inside.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seatledger.domain.errors import (
    Conflict,
    FreeAllowanceReached,
    InvalidInput,
    NotFound,
    NotPermitted,
    RequiredRole,
    SeatCountRefused,
    SeatLedgerError,
    SeatLimitReached,
)

log = logging.getLogger("seatledger.api")

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:seatledger:problem:"

STATUSES: dict[type[SeatLedgerError], int] = {
    SeatLedgerError: 400,
    SeatLimitReached: 409,
    FreeAllowanceReached: 409,
    SeatCountRefused: 422,
    NotPermitted: 403,
    NotFound: 404,
    InvalidInput: 422,
    Conflict: 409,
    RequiredRole: 409,
}


def status_for(error: SeatLedgerError) -> int:
    """The status of the nearest class of ``error``'s hierarchy that has one."""
    for cls in type(error).__mro__:
        if cls in STATUSES:
            return STATUSES[cls]
    return 400


class Problem(BaseModel):
    """An RFC 9457 problem: ``type`` names the problem (``urn:seatledger:problem:<code>``),
    ``code`` is the stable error code, ``detail`` the sentence for people. Refusals add their
    typed fields (``used``, ``total``, ``requested``, ``field``, ``rule``...)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["urn:seatledger:problem:seat_limit_reached"])
    title: str = Field(examples=["No seats available"])
    status: int = Field(examples=[409])
    detail: str = Field(
        examples=["No seats available. You're using all 3 of your 3 seats. Upgrade your plan..."]
    )
    code: str = Field(examples=["seat_limit_reached"])
    instance: str | None = Field(default=None, examples=["/v1/workspaces/ws_.../invitations"])


class ApiProblem(Exception):
    """A refusal of the HTTP layer itself (no key, a body too large): not a domain error."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.headers = dict(headers or {})


def unauthenticated() -> ApiProblem:
    return ApiProblem(
        401,
        "unauthenticated",
        "Unauthenticated",
        "Send a valid, unrevoked API key as `Authorization: Bearer slk.…`.",
        headers={"WWW-Authenticate": 'Bearer realm="seatledger"'},
    )


def problem_body(
    *, status: int, code: str, title: str, detail: str, instance: str | None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance is not None:
        body["instance"] = instance
    for key, value in extra.items():
        body.setdefault(key, value)
    return body


def problem_response(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(dict(body), status_code=status, media_type=MEDIA_TYPE, headers=headers)


def refusal_body(error: SeatLedgerError, instance: str | None) -> tuple[int, dict[str, Any]]:
    """The status and problem body of a domain refusal."""
    status = status_for(error)
    body = problem_body(
        status=status,
        code=error.code,
        title=error.title,
        detail=error.message,
        instance=instance,
        **error.fields(),
    )
    return status, body


def _field(location: Sequence[Any]) -> str:
    """``("body", "emails", 3)`` -> ``emails[3]``; headers and query parameters by their name."""
    parts = list(location)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "body"


async def on_refusal(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SeatLedgerError)
    status, body = refusal_body(exc, request.url.path)
    return problem_response(status, body)


async def on_api_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    body = problem_body(
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        instance=request.url.path,
    )
    return problem_response(exc.status, body, exc.headers)


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _field(error.get("loc", ())), "rule": str(error.get("msg", "is invalid"))}
        for error in exc.errors()
    ]
    first = errors[0] if errors else {"field": "body", "rule": "is invalid"}
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    body = problem_body(
        status=422,
        code=InvalidInput.code,
        title=InvalidInput.title,
        detail=f"{first['field']}: {first['rule']}{more}",
        instance=request.url.path,
        field=first["field"],
        rule=first["rule"],
        errors=errors,
    )
    return problem_response(422, body)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI's answer to a body it cannot even decode (not UTF-8): invalid input like any
        # other body that is not the JSON the operation takes.
        rule = "must be a JSON document in UTF-8"
        body = problem_body(
            status=422,
            code=InvalidInput.code,
            title=InvalidInput.title,
            detail=f"body: {rule}",
            instance=request.url.path,
            field="body",
            rule=rule,
            errors=[{"field": "body", "rule": rule}],
        )
        return problem_response(422, body)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    body = problem_body(
        status=exc.status_code,
        code=code,
        title=code.replace("_", " ").capitalize(),
        detail=str(exc.detail),
        instance=request.url.path,
    )
    return problem_response(exc.status_code, body, getattr(exc, "headers", None))


def internal_error_body(instance: str | None) -> dict[str, Any]:
    return problem_body(
        status=500,
        code="internal_error",
        title="Internal error",
        detail="Something went wrong on our side; it has been logged.",
        instance=instance,
    )


class CatchUnexpected:
    """The last net: an exception nobody handled is logged with its trace and answered as a bare
    500 problem (never a stack trace), without re-raising into the server."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("Unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            response = problem_response(500, internal_error_body(scope.get("path")))
            await response(scope, receive, send)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the problems an operation can answer."""
    schema = Problem.model_json_schema()
    described = {
        401: "No API key, or one unknown or revoked.",
        403: "The acting person may not do this.",
        404: "Nothing with this id in the caller's account.",
        409: "Refused by the state of things (seat limit, a required role, a replayed key).",
        413: "The request body is too large.",
        422: "Invalid input: the problem names the field and the rule.",
    }
    return {
        status: {
            "description": described.get(status, "A problem."),
            "content": {MEDIA_TYPE: {"schema": schema}},
        }
        for status in statuses
    }
