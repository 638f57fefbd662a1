"""billing_basis peak and true_up over HTTP: a plan's policy takes the keys at subscribe, and the
billing run bills the peak in arrears and a true-up reconciliation, amounts as strings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api_helpers import TestClient, sign_up, subscribe

from seatledger.clock import ManualClock


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _lines(invoice: dict[str, Any]) -> list[tuple[str, int, str]]:
    return [(line["kind"], line["quantity"], line["amount"]) for line in invoice["lines"]]


def test_a_peak_plan_bills_the_month_peak_in_arrears(
    client: TestClient, clock: ManualClock
) -> None:
    owner = sign_up(client)["headers"]
    created = subscribe(client, owner, seats=3, policy={"billing_basis": "peak"})
    assert created["change"]["invoices"] == []  # no base fee: nothing billed ahead
    assert created["subscription"]["policy"]["billing_basis"] == "peak"
    assert created["subscription"]["seats_paid"] == 0
    ws = created["subscription"]["workspaces"][0]["id"]
    ok(
        client.post(
            f"/v1/workspaces/{ws}/invitations",
            headers=owner,
            json={"emails": ["bo@acme.test", "cy@acme.test"], "role": "member"},
        )
    )
    clock.move_to(datetime(2026, 5, 1, tzinfo=UTC))  # the clock starts at 2026-04-01

    renewed = ok(client.post("/v1/billing/run", headers=owner))["invoices"]

    assert [(i["reason"], i["total"]) for i in renewed] == [("renewal", "30.00")]
    assert _lines(renewed[0]) == [("seats", 3, "30.00")]  # 3 x 10.00, the month just ended


def test_a_policy_with_true_up_months_but_no_true_up_is_refused(client: TestClient) -> None:
    owner = sign_up(client)["headers"]
    refused = client.post(
        "/v1/subscriptions",
        headers=owner,
        json={
            "preset": "rallly-pro",
            "workspaces": ["team"],
            "seats": 1,
            "policy": {"billing_basis": "peak", "true_up_months": 1},
        },
    )
    assert (refused.status_code, refused.json()["field"]) == (422, "true_up_months")
