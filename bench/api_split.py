"""Where an API invite-and-accept spends its time, in one process and one request at a time: the
owner's invitation and the invitee's acceptance through the app itself (httpx's ASGI transport,
no network, no server), with an account-wide key as ``seat_change_http_postgres`` sends them,
timed whole and in parts:

- ``authentication``: the key and the acting person (``api_keys.authenticate``);
- ``path lookups``: the workspace named by the path (``listings.workspace_name``);
- ``use cases``: ``members.invite_members`` and ``members.accept_invite``;
- ``the rest``: what the web framework does around them (routing, dependencies, validation,
  worker threads, the JSON answer) and the transport.

    .venv/bin/python -m bench.api_split [operations] [sqlite|postgresql]

docs/performance.md uses it to say where the API's time goes. PostgreSQL needs a server
(``scripts/with-postgres``, as ``make bench`` runs).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import httpx

from bench.backends import Raw, database
from bench.world import new_subscription, with_workspace_id
from seatledger.api import ApiSettings, create_app
from seatledger.bootstrap import Runtime
from seatledger.clock import SystemClock
from seatledger.service import api_keys, listings, members

_WARM_UP = 20
_PARTS: tuple[tuple[Any, str, str], ...] = (
    (api_keys, "authenticate", "authentication"),
    (listings, "workspace_name", "path lookups"),
    (members, "invite_members", "use cases"),
    (members, "accept_invite", "use cases"),
)


def _timing(spent: dict[str, float]) -> Callable[[], None]:
    """Wrap each part so its time adds up in ``spent``; returns what undoes the wrapping."""
    originals = [(module, name, getattr(module, name)) for module, name, _ in _PARTS]

    def timed(original: Callable[..., Any], part: str) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[part] += time.perf_counter() - started

        return run

    for (module, name, part), (_, _, original) in zip(_PARTS, originals, strict=True):
        setattr(module, name, timed(original, part))

    def undo() -> None:
        for module, name, original in originals:
            setattr(module, name, original)

    return undo


def _key(runtime: Runtime, account_id: str, owner: str) -> str:
    issued = api_keys.issue_operator_key(runtime, account_id=account_id, email=owner, name="o")
    caller = api_keys.authenticate(runtime, token=issued.token, actor=None)
    assert caller is not None
    return api_keys.create_api_key(runtime, caller=caller, name="bench").token


async def _measure(runtime: Runtime, raw: Raw, operations: int) -> dict[str, float]:
    sub = with_workspace_id(raw, new_subscription(runtime, 0, 1_000_000))
    token = _key(runtime, sub.account_id, sub.owner)
    app = create_app(runtime, ApiSettings(webhook_interval=None))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def operate(email: str) -> None:
            headers = {"Authorization": f"Bearer {token}", "Seatledger-Actor": sub.owner}
            path = f"/v1/workspaces/{sub.workspace_id}/invitations"
            body = {"emails": [email], "role": "reviewer"}
            invited = await client.post(path, json=body, headers=headers)
            accepted = await client.post(
                f"{path}/accept", headers={**headers, "Seatledger-Actor": email}
            )
            if invited.status_code >= 300 or accepted.status_code >= 300:
                raise SystemExit(f"api_split: refused: {invited.text} {accepted.text}")

        for i in range(_WARM_UP):
            await operate(f"warm{i}@split.test")
        spent: dict[str, float] = defaultdict(float)
        undo = _timing(spent)
        try:
            started = time.perf_counter()
            for i in range(operations):
                await operate(f"op{i}@split.test")
            total = time.perf_counter() - started
        finally:
            undo()
    parts = {part: seconds / operations * 1000 for part, seconds in spent.items()}
    return {
        "total": total / operations * 1000,
        **parts,
        "the rest": (total - sum(spent.values())) / operations * 1000,
    }


def main(argv: list[str]) -> None:
    operations = int(argv[0]) if argv else 300
    kind = argv[1] if len(argv) > 1 else "sqlite"
    with database(kind) as db:
        runtime = db.runtime(SystemClock())
        raw = db.raw()
        try:
            figures = asyncio.run(_measure(runtime, raw, operations))
        finally:
            raw.close()
            runtime.dispose()
    print(f"API invite-and-accept on {kind}, {operations} operations, ms per operation:")
    for name, ms in figures.items():
        print(f"  {name:15s} {ms:7.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
