"""What a request costs the server around its use case: every dependency written as a plain
function runs in a worker thread, one hop per request each. Only finding the caller (which reads
the database) and the endpoint itself (which runs the use case) may take one."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import pytest
from api_helpers import TestClient, sign_up, subscribe


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions handed to worker threads, as they are."""
    seen: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counting(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        inner = func.func if isinstance(func, functools.partial) else func
        seen.append(getattr(inner, "__qualname__", repr(inner)))
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    return seen


def test_only_the_caller_and_the_endpoint_take_worker_threads(
    client: TestClient, hops: list[str]
) -> None:
    owner = sign_up(client)["headers"]
    ws = subscribe(client, owner)["subscription"]["workspaces"][0]["id"]
    hops.clear()
    invited = client.post(
        f"/v1/workspaces/{ws}/invitations",
        headers=owner,
        json={"emails": ["bo@acme.test"], "role": "member"},
    )
    assert invited.status_code == 200, invited.text
    assert hops == ["current_caller", "_run_sync_endpoint"]
    hops.clear()
    listed = client.get(f"/v1/workspaces/{ws}/members?limit=5", headers=owner)
    assert listed.status_code == 200, listed.text
    # A read's answer is checked against its schema in a thread of the framework's own.
    assert hops[:2] == ["current_caller", "_run_sync_endpoint"]
    assert not {"services", "single_query_values", "idempotency_header"} & set(hops)
