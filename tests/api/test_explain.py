"""``GET /v1/invoices/{id}/explain`` through the real ASGI app, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from api_helpers import TestClient, sign_up, subscribe


def first_invoice(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    listed = client.get("/v1/invoices", headers=headers)
    assert listed.status_code == 200, listed.text
    invoice: dict[str, Any] = listed.json()["items"][0]
    return invoice


def test_each_line_comes_with_the_people_behind_it_adding_up(client: TestClient) -> None:
    owner = sign_up(client)["headers"]
    subscribe(client, owner, preset="rallly-pro", seats=3)
    invoice = first_invoice(client, owner)

    answer = client.get(f"/v1/invoices/{invoice['id']}/explain", headers=owner)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["invoice"]["id"] == invoice["id"]
    assert body["invoice"]["total"] == "30.00"
    [seats] = body["lines"]
    assert (seats["line"]["kind"], seats["line"]["quantity"], seats["line"]["amount"]) == (
        "seats",
        3,
        "30.00",
    )
    entries = seats["entries"]
    assert [(e["kind"], e["label"], e["quantity"], e["amount"]) for e in entries] == [
        ("person", "ana@acme.test", 1, "10.00"),
        ("unassigned", "unassigned purchased seat", 1, "10.00"),
        ("unassigned", "unassigned purchased seat", 1, "10.00"),
    ]
    assert sum(e["quantity"] for e in entries) == seats["line"]["quantity"]
    assert sum(Decimal(e["amount"]) for e in entries) == Decimal(seats["line"]["amount"])
    [held] = entries[0]["intervals"]
    assert {k: held[k] for k in ("workspace", "role", "kind", "start_reason", "ended_at")} == {
        "workspace": "team",
        "role": "owner",
        "kind": "seat",
        "start_reason": "subscribe",
        "ended_at": None,
    }
    assert held["person_id"] == entries[0]["person_id"]
    assert held["started_at"] == body["invoice"]["period_start"]


def test_an_unknown_or_foreign_invoice_is_a_problem_not_found(client: TestClient) -> None:
    owner = sign_up(client)["headers"]
    subscribe(client, owner)
    other = sign_up(client, email="bo@other.test", name="Other")["headers"]
    subscribe(client, other)
    foreign = first_invoice(client, other)

    for path in ("/v1/invoices/inv_nothing/explain", f"/v1/invoices/{foreign['id']}/explain"):
        answer = client.get(path, headers=owner)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == "application/problem+json"
        problem = answer.json()
        assert (problem["status"], problem["code"]) == (404, "not_found")
