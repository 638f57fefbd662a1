"""Idempotency-Key: a replay returns the stored answer and changes nothing; another request with
the same key is refused with 409."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from api_helpers import TestClient, sign_up, subscribe
from fastapi import FastAPI

from seatledger.api.routing import resource_router

Call = tuple[str, str, dict[str, Any]]


def seats(client: TestClient, headers: dict[str, str], ws: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/v1/workspaces/{ws}/seats", headers=headers).json()
    return body


@pytest.fixture
def owner_ws(client: TestClient) -> tuple[dict[str, str], str]:
    owner = sign_up(client)["headers"]
    ws = subscribe(client, owner, seats=3)["subscription"]["workspaces"][0]["id"]
    return owner, ws


def test_a_replayed_seat_purchase_is_answered_again_and_bills_once(
    client: TestClient, owner_ws: tuple[dict[str, str], str]
) -> None:
    owner, ws = owner_ws
    headers = {**owner, "Idempotency-Key": "buy-1"}
    first = client.put(f"/v1/workspaces/{ws}/seats", headers=headers, json={"seats": 5})
    again = client.put(f"/v1/workspaces/{ws}/seats", headers=headers, json={"seats": 5})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    invoices = client.get("/v1/invoices", headers=owner).json()["items"]
    assert [i["reason"] for i in invoices] == ["subscribe", "proration"]
    assert seats(client, owner, ws)["total"] == 5


def test_the_same_key_with_another_body_is_a_conflict(
    client: TestClient, owner_ws: tuple[dict[str, str], str]
) -> None:
    owner, ws = owner_ws
    headers = {**owner, "Idempotency-Key": "buy-2"}
    client.put(f"/v1/workspaces/{ws}/seats", headers=headers, json={"seats": 4})
    other = client.put(f"/v1/workspaces/{ws}/seats", headers=headers, json={"seats": 6})
    assert other.status_code == 409
    assert other.json()["code"] == "conflict"
    assert "buy-2" in other.json()["detail"]
    assert seats(client, owner, ws)["total"] == 4


def test_the_same_key_on_another_path_is_a_conflict(
    client: TestClient, owner_ws: tuple[dict[str, str], str]
) -> None:
    owner, ws = owner_ws
    headers = {**owner, "Idempotency-Key": "k"}
    client.post(f"/v1/workspaces/{ws}/seats/preview", headers=headers, json={"seats": 4})
    moved = client.put(f"/v1/workspaces/{ws}/seats", headers=headers, json={"seats": 4})
    assert moved.status_code == 409
    assert seats(client, owner, ws)["total"] == 3


def test_a_refusal_is_not_kept_so_the_retry_runs_again(
    client: TestClient, owner_ws: tuple[dict[str, str], str]
) -> None:
    """A seat limit reached now may not be reached later: the same key retried after buying
    seats makes the change, and a further retry replays that success."""
    owner, ws = owner_ws
    invite = {"emails": ["bo@acme.test", "cy@acme.test", "di@acme.test"], "role": "member"}
    keyed = {**owner, "Idempotency-Key": "invite-3"}
    url = f"/v1/workspaces/{ws}/invitations"
    refused = client.post(url, headers=keyed, json=invite)
    assert (refused.status_code, refused.json()["code"]) == (409, "seat_limit_reached")
    client.put(f"/v1/workspaces/{ws}/seats", headers=owner, json={"seats": 10})
    admitted = client.post(url, headers=keyed, json=invite)
    again = client.post(url, headers=keyed, json=invite)
    assert (admitted.status_code, again.status_code) == (200, 200)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == admitted.json()
    assert seats(client, owner, ws)["used"] == 4


def test_a_write_that_forgets_the_key_is_a_bug_not_a_double_charge(
    runtime: Any, owner_ws: tuple[dict[str, str], str]
) -> None:
    """Every write answers through respond_once; one that does not is caught the first time a
    client sends a key, instead of silently redoing the change on every retry."""
    router = resource_router("probe")

    @router.post("/careless")
    def careless() -> dict[str, str]:
        return {"done": "twice, on a retry"}

    app = FastAPI()
    app.state.services = runtime
    app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as probe:
        assert probe.post("/v1/careless").status_code == 200
        assert probe.post("/v1/careless", headers={"Idempotency-Key": "k"}).status_code == 500


@pytest.mark.parametrize(
    ("bad", "good"),
    [
        ({"emails": ["bo@acme.test"], "role": 7}, {"emails": ["bo@acme.test"], "role": "member"}),
        (
            {"emails": ["no-at-sign"], "role": "member"},
            {"emails": ["bo@acme.test"], "role": "member"},
        ),
    ],
    ids=["refused by the schema", "refused by the domain"],
)
def test_invalid_input_is_not_remembered(
    bad: dict[str, Any],
    good: dict[str, Any],
    client: TestClient,
    owner_ws: tuple[dict[str, str], str],
) -> None:
    owner, ws = owner_ws
    headers = {**owner, "Idempotency-Key": "fix-and-retry"}
    url = f"/v1/workspaces/{ws}/invitations"
    refused = client.post(url, headers=headers, json=bad)
    fixed = client.post(url, headers=headers, json=good)
    assert (refused.status_code, fixed.status_code) == (422, 200)
    assert seats(client, owner, ws)["used"] == 2


def test_a_replayed_webhook_endpoint_never_shows_its_secret_again(
    client: TestClient, owner_ws: tuple[dict[str, str], str]
) -> None:
    owner, _ = owner_ws
    headers = {**owner, "Idempotency-Key": "hook"}
    body = {"url": "https://hooks.acme.test/in"}
    first = client.post("/v1/webhook-endpoints", headers=headers, json=body)
    again = client.post("/v1/webhook-endpoints", headers=headers, json=body)
    assert first.json()["secret"].startswith("whsec_")
    assert again.json() == {**first.json(), "secret": None}


def test_keys_belong_to_one_account(client: TestClient) -> None:
    first = sign_up(client)["headers"]
    second = sign_up(client, "bob@other.test", "Other")["headers"]
    made = [
        client.post(
            "/v1/api-keys", headers={**who, "Idempotency-Key": "shared"}, json={"name": "x"}
        )
        for who in (first, second)
    ]
    assert [r.status_code for r in made] == [201, 201]
    assert made[0].json()["api_key"]["id"] != made[1].json()["api_key"]["id"]


def test_a_replayed_key_creation_never_shows_the_secret_again(
    client: TestClient, owner_ws: tuple[dict[str, str], str]
) -> None:
    owner, _ = owner_ws
    headers = {**owner, "Idempotency-Key": "new-key"}
    first = client.post("/v1/api-keys", headers=headers, json={"name": "backend"})
    again = client.post("/v1/api-keys", headers=headers, json={"name": "backend"})
    assert first.json()["token"].startswith("slk.")
    assert again.json()["token"] is None
    assert again.json()["api_key"] == first.json()["api_key"]
    keys = client.get("/v1/api-keys", headers=owner).json()["items"]
    assert sorted(k["name"] for k in keys) == ["backend", "first key"]


def test_a_retried_sign_up_finds_the_account_it_opened(client: TestClient) -> None:
    body = {"name": "Acme", "owner_email": "ana@acme.test"}
    first = client.post("/v1/accounts", json=body, headers={"Idempotency-Key": "signup-1"})
    again = client.post("/v1/accounts", json=body, headers={"Idempotency-Key": "signup-1"})
    other = client.post(
        "/v1/accounts", json={**body, "name": "Else"}, headers={"Idempotency-Key": "signup-1"}
    )
    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 409)
    assert again.json()["account"] == first.json()["account"]
    assert again.json()["token"] is None
    token = first.json()["token"]
    account = client.get("/v1/account", headers={"Authorization": f"Bearer {token}"})
    assert account.json()["id"] == first.json()["account"]["id"]


def test_every_write_operation_documents_the_header(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    writes = [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in ("post", "put", "delete")
    ]
    assert writes
    for method, path, operation in writes:
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        assert "Idempotency-Key" in names, f"{method.upper()} {path}"


def test_copies_of_one_request_sent_at_once_make_one_change(
    client: TestClient, owner_ws: tuple[dict[str, str], str]
) -> None:
    """A client retrying before the first answer came back must not get two keys made."""
    owner, _ = owner_ws
    headers = {**owner, "Idempotency-Key": "at-once"}
    start = threading.Barrier(4)

    def send() -> int:
        start.wait()
        response = client.post("/v1/api-keys", headers=headers, json={"name": "once"})
        return response.status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: send(), range(4)))
    assert statuses == [201] * 4
    names = [k["name"] for k in client.get("/v1/api-keys", headers=owner).json()["items"]]
    assert sorted(names) == ["first key", "once"]
