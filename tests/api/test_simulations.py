"""``POST /v1/accounts/{id}/simulate`` through the real ASGI app, on SQLite and PostgreSQL.

Rallly Pro (USD 10 a seat a month, day proration, charged now): 3 seats on 1 April 2026, 5 from
16 April, renewed on 1 May. At USD 12 a seat the same history bills 36.00 + 12.00 + 60.00.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api_helpers import TestClient, sign_up, subscribe

from seatledger.clock import ManualClock


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def history(client: TestClient, clock: ManualClock) -> tuple[dict[str, str], str]:
    """The owner's headers and the account id, after the Rallly history above."""
    account = sign_up(client)
    owner = account["headers"]
    ws = subscribe(client, owner, seats=3)["subscription"]["workspaces"][0]["id"]
    clock.move_to(utc("2026-04-16T00:00:00"))
    bought = client.put(f"/v1/workspaces/{ws}/seats", headers=owner, json={"seats": 5})
    assert bought.status_code == 200, bought.text
    clock.move_to(utc("2026-05-02T00:00:00"))
    assert client.post("/v1/billing/run", headers=owner).status_code == 200
    return owner, account["account"]["id"]


def simulate(
    client: TestClient, headers: dict[str, str], account_id: str, body: dict[str, Any]
) -> Any:
    return client.post(f"/v1/accounts/{account_id}/simulate", headers=headers, json=body)


def test_recorded_and_simulated_invoices_side_by_side(
    client: TestClient, clock: ManualClock
) -> None:
    owner, account_id = history(client, clock)
    answer = simulate(client, owner, account_id, {"policy": {"seat_price": "12.00"}})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [
        (i["reason"], i["number"], i["recorded_total"], i["simulated_total"], i["difference"])
        for i in body["invoices"]
    ] == [
        ("subscribe", "000001", "30.00", "36.00", "6.00"),
        ("proration", "000002", "10.00", "12.00", "2.00"),
        ("renewal", "000003", "50.00", "60.00", "10.00"),
    ]
    (seats,) = body["invoices"][2]["lines"]
    assert (seats["kind"], seats["recorded"]["amount"], seats["simulated"]["amount"]) == (
        "seats",
        "50.00",
        "60.00",
    )
    assert seats["simulated"]["unit_amount"] == "12.00"
    assert body["totals"] == {
        "recorded": "90.00",
        "simulated": "108.00",
        "difference": "18.00",
        "verdict": "pays_more",
    }
    assert body["credit_balance"] == {"recorded": "0.00", "simulated": "0.00"}
    (sub,) = body["subscriptions"]
    assert (sub["recorded_policy"]["seat_price"], sub["simulated_policy"]["seat_price"]) == (
        "10.00",
        "12.00",
    )
    assert (body["from"], body["to"], body["currency"]) == (None, None, "USD")


def test_the_recorded_policy_reproduces_every_invoice(
    client: TestClient, clock: ManualClock
) -> None:
    owner, account_id = history(client, clock)
    body = simulate(client, owner, account_id, {}).json()
    assert len(body["invoices"]) == 3
    assert {i["difference"] for i in body["invoices"]} == {"0.00"}
    assert {line["difference"] for i in body["invoices"] for line in i["lines"]} == {"0.00"}
    assert body["totals"]["verdict"] == "pays_same"


def test_a_preset_and_a_window(client: TestClient, clock: ManualClock) -> None:
    owner, account_id = history(client, clock)
    body = simulate(
        client,
        owner,
        account_id,
        {
            "preset": "upcoach",
            "policy": {"base_price": "80.00"},
            "from": "2026-04-10T00:00:00Z",
            "to": "2026-05-01T00:00:00+02:00",
        },
    ).json()
    # The window ends at 2026-04-30T22:00Z: only the proration of 16 April, which upcoach's
    # 5 included seats make free (no simulated invoice).
    assert [(i["reason"], i["simulated_total"]) for i in body["invoices"]] == [("proration", None)]
    assert body["to"] == "2026-04-30T22:00:00Z"
    assert body["totals"]["difference"] == "-10.00"


def test_refusals_are_problem_details(client: TestClient, clock: ManualClock) -> None:
    owner, account_id = history(client, clock)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"policy": {"seat_prize": "1.00"}}, 422, "invalid_input"),
        ({"preset": "nope"}, 404, "not_found"),
        ({"preset": "reviewer-pro"}, 422, "invalid_input"),
        ({"from": "2026-05-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}, 422, "invalid_input"),
        ({"from": "2026-05-01T00:00:00"}, 422, "invalid_input"),
        ({"policy": ["seat_price"]}, 422, "invalid_input"),
    ]
    for body, status, code in cases:
        answer = simulate(client, owner, account_id, body)
        assert answer.status_code == status, (body, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == code
    other = sign_up(client, "bo@other.test", "Other")["headers"]
    assert simulate(client, other, account_id, {}).status_code == 404


def test_a_simulation_writes_nothing_not_even_an_idempotency_key(
    client: TestClient, clock: ManualClock
) -> None:
    owner, account_id = history(client, clock)
    before = client.get("/v1/audit-log", headers=owner).json()
    keyed = {**owner, "Idempotency-Key": "sim-1"}
    first = simulate(client, keyed, account_id, {"policy": {"seat_price": "12.00"}})
    again = simulate(client, keyed, account_id, {"policy": {"seat_price": "15.00"}})
    assert (first.status_code, again.status_code) == (200, 200)
    assert "Idempotent-Replayed" not in again.headers
    assert again.json()["totals"]["simulated"] == "135.00"
    assert client.get("/v1/audit-log", headers=owner).json() == before
