"""Limits on what one request may carry: body size, batch size, string lengths, page size.

They keep a single request from occupying the server (a 10 MB body, a million-address invite):
generous for real use, small enough to refuse abuse before any work is done.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seatledger.api.problems import problem_body, problem_response

MAX_BODY_BYTES = 256 * 1024
MAX_BATCH = 100  # e-mails in one invitation batch
MAX_PAGE = 100  # items in one page of a list
DEFAULT_PAGE = 50
NAME = 200  # names, descriptions, scopes
EMAIL = 320  # RFC 5321's longest address
ROLE = 64
ID = 64
KEY = 255  # an Idempotency-Key
URL = 2048
MAX_SEATS = 1_000_000
MAX_WORKSPACES = 20  # workspaces one subscription (bundle) covers


class BodyTooLarge(StarletteHTTPException):
    """Raised while the body is read, wherever that happens: an HTTP error, so the app's own
    handler answers it as a 413 problem."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body must be at most {limit} bytes.")


class LimitBody:
    """Refuse a body over ``limit`` bytes with 413, by its Content-Length or, for a chunked body,
    as soon as the bytes read pass the limit."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        try:
            await self.app(scope, counting_receive, send)
        except BodyTooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = problem_body(
            status=413,
            code="payload_too_large",
            title="Payload too large",
            detail=f"The request body must be at most {self.limit} bytes.",
            instance=scope.get("path"),
        )
        await problem_response(413, body)(scope, receive, send)
