"""What API tests share: the TestClient import, auth headers, sign-up and subscribe via HTTP."""

from __future__ import annotations

import warnings
from typing import Any

with warnings.catch_warnings():
    # Starlette's TestClient suggests another HTTP client on import; httpx is the locked one.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

__all__ = ["TestClient", "bearer", "sign_up", "subscribe"]


def bearer(token: str, actor: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if actor is not None:
        headers["Seatledger-Actor"] = actor
    return headers


def sign_up(client: TestClient, email: str = "ana@acme.test", name: str = "Acme") -> dict[str, Any]:
    """Open an account; the answer, with ``headers`` for its owner added."""
    response = client.post("/v1/accounts", json={"name": name, "owner_email": email})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    body["headers"] = bearer(body["token"])
    return body


def subscribe(
    client: TestClient,
    headers: dict[str, str],
    *,
    preset: str = "rallly-pro",
    seats: int = 3,
    workspaces: tuple[str, ...] = ("team",),
    policy: dict[str, Any] | None = None,
) -> dict[str, Any]:
    response = client.post(
        "/v1/subscriptions",
        headers=headers,
        json={"preset": preset, "workspaces": list(workspaces), "seats": seats, "policy": policy},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
