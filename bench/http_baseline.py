"""The HTTP baseline: a plain ASGI app doing the raw invite-and-accept per request.

``POST /`` with a JSON body ``{"account", "sub", "ws", "workspace", "owner", "email"}`` runs
``seat_change.raw_invite_and_accept`` through psycopg 3 (the database in ``BENCH_RAW_URL``)
and answers 200, or 409 when no seat was free; ``GET`` answers 200 (the readiness probe).
The writes run in a worker thread with a connection of its own, as the API's synchronous
endpoints do, so one slow request does not hold up the event loop. Serve it with the same
uvicorn settings as ``seatledger serve``:
``python -m uvicorn bench.http_baseline:app --workers N``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio.to_thread

from bench.backends import Db, Raw
from bench.seat_change import raw_invite_and_accept
from bench.world import START_AT, Sub

URL_ENV = "BENCH_RAW_URL"
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_local = threading.local()


def _raw() -> Raw:
    raw: Raw | None = getattr(_local, "raw", None)
    if raw is None:
        raw = Db("postgresql", os.environ[URL_ENV]).raw()
        _local.raw = raw
    return raw


def _operate(body: bytes) -> bool:
    fields = json.loads(body)
    sub = Sub(fields["account"], fields["sub"], fields["workspace"], fields["ws"], fields["owner"])
    return raw_invite_and_accept(_raw(), sub, fields["email"], START_AT)


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    status = 200
    if scope["method"] == "POST":
        body = await _body(receive)
        status = 200 if await anyio.to_thread.run_sync(_operate, body) else 409
    payload = b'{"ok": true}' if status == 200 else b'{"ok": false}'
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": payload})
