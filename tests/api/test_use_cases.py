"""Every use case over HTTP, with what it does to seats and money: the API is the service layer
reached from outside, nothing less."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api_helpers import TestClient, bearer, sign_up, subscribe

from seatledger.clock import ManualClock


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def member(client: TestClient, headers: dict[str, str], ws: str, email: str) -> dict[str, Any]:
    items = ok(client.get(f"/v1/workspaces/{ws}/members", headers=headers, params={"email": email}))
    found: dict[str, Any] = items["items"][0]
    return found


def test_members_from_invitation_to_deletion(client: TestClient) -> None:
    owner = sign_up(client)["headers"]
    ws = subscribe(client, owner, seats=4, policy={"free_roles": ["viewer"]})["subscription"]
    ws = ws["workspaces"][0]["id"]
    invited = ok(
        client.post(
            f"/v1/workspaces/{ws}/invitations",
            headers=owner,
            json={"emails": ["Bo@Acme.test", "cy@acme.test"], "role": "member"},
        )
    )
    assert invited["admitted"] == ["bo@acme.test", "cy@acme.test"]
    backend = ok(client.post("/v1/api-keys", headers=owner, json={"name": "backend"}), 201)
    as_bo = bearer(backend["token"], "bo@acme.test")
    accepted = ok(client.post(f"/v1/workspaces/{ws}/invitations/accept", headers=as_bo))
    assert accepted["seats"]["used"] == 3
    assert member(client, owner, ws, "bo@")["status"] == "active"

    bo = member(client, owner, ws, "bo@")["person_id"]
    scoped = f"/v1/workspaces/{ws}/members/{bo}/roles"
    ok(client.post(scoped, headers=owner, json={"role": "viewer", "scope": "project-x"}))
    assert {(g["role"], g["scope"]) for g in member(client, owner, ws, "bo@")["roles"]} == {
        ("member", None),
        ("viewer", "project-x"),
    }
    ok(client.delete(f"{scoped}/viewer", headers=owner, params={"scope": "project-x"}))
    assert [g["role"] for g in member(client, owner, ws, "bo@")["roles"]] == ["member"]

    paused = ok(client.post(f"/v1/workspaces/{ws}/members/{bo}/deactivate", headers=owner))
    assert paused["seats"]["used"] == 2  # Rallly: a deactivated member frees the seat
    back = ok(client.post(f"/v1/workspaces/{ws}/members/{bo}/reactivate", headers=owner))
    assert back["seats"]["used"] == 3

    ok(client.post(f"/v1/workspaces/{ws}/ownership", headers=owner, json={"person_id": bo}))
    assert {g["role"] for g in member(client, owner, ws, "bo@")["roles"]} == {"owner", "member"}
    assert [g["role"] for g in member(client, owner, ws, "ana@")["roles"]] == ["member"]

    cy = member(client, owner, ws, "cy@")["person_id"]
    gone = ok(client.delete(f"/v1/workspaces/{ws}/members/{cy}", headers=as_bo))
    assert gone["seats"]["used"] == 2
    erased = client.post(f"/v1/workspaces/{ws}/members/{cy}/deactivate", headers=as_bo)
    assert erased.status_code == 404  # erased: the person id no longer leads to anyone


def test_seats_money_and_history(client: TestClient, clock: ManualClock) -> None:
    owner = sign_up(client)["headers"]
    created = subscribe(client, owner, seats=3)
    sub, ws = created["subscription"]["id"], created["subscription"]["workspaces"][0]["id"]
    assert created["change"]["charged"] == "30.00"
    clock.advance(timedelta(days=15))
    preview = ok(
        client.post(f"/v1/workspaces/{ws}/seats/preview", headers=owner, json={"seats": 5})
    )
    bought = ok(client.put(f"/v1/workspaces/{ws}/seats", headers=owner, json={"seats": 5}))
    assert preview["charge"] == bought["charged"] == "10.00"  # 2 seats x USD 10 x 15/30 days
    assert preview["next_invoice"]["total"] == "50.00"
    released = ok(client.put(f"/v1/workspaces/{ws}/seats", headers=owner, json={"seats": 4}))
    assert released["credited"] == "5.00"  # Rallly credits the unused days at once
    balance = ok(client.get("/v1/credit-balance", headers=owner))
    assert balance == {"balances": [{"currency": "USD", "amount": "5.00"}]}
    entries = ok(client.get("/v1/credit-entries", headers=owner))["items"]
    assert [e["amount"] for e in entries] == ["5.00"]

    invoices = ok(client.get("/v1/invoices", headers=owner))["items"]
    assert [(i["number"], i["kind"], i["total"]) for i in invoices] == [
        ("000001", "invoice", "30.00"),
        ("000002", "invoice", "10.00"),
        ("000003", "credit_note", "-5.00"),
    ]
    only = ok(client.get("/v1/invoices", headers=owner, params={"number": "2"}))["items"]
    assert [i["number"] for i in only] == ["000002"]
    notes = ok(client.get("/v1/invoices", headers=owner, params={"kind": "credit_note"}))
    assert [i["number"] for i in notes["items"]] == ["000003"]
    one = ok(client.get(f"/v1/invoices/{invoices[1]['id']}", headers=owner))
    assert [(line["kind"], line["amount"]) for line in one["lines"]] == [
        ("proration_charge", "10.00")
    ]
    html = client.get(f"/v1/invoices/{invoices[1]['id']}/html", headers=owner)
    assert html.headers["content-type"].startswith("text/html")
    assert "000002" in html.text and "10.00" in html.text

    ledger = ok(client.get(f"/v1/subscriptions/{sub}/ledger", headers=owner))["items"]
    assert [e["seats_total"] for e in ledger][-2:] == [5, 4]
    audit = ok(client.get("/v1/audit-log", headers=owner, params={"action": "change_seat_count"}))
    assert [(e["before"]["seats_total"], e["after"]["seats_total"]) for e in audit["items"]] == [
        (3, 5),
        (5, 4),
    ]
    events = ok(client.get("/v1/events", headers=owner, params={"type": "seats.changed"}))
    assert len(events["items"]) == 2
    assert ok(client.get(f"/v1/events/{events['items'][0]['seq']}", headers=owner))["type"] == (
        "seats.changed"
    )


def test_bundles_add_ons_and_canceling(client: TestClient) -> None:
    owner = sign_up(client)["headers"]
    created = subscribe(
        client,
        owner,
        preset="upcoach",
        seats=3,
        workspaces=("org", "programs"),
    )
    sub = created["subscription"]
    assert [w["name"] for w in sub["workspaces"]] == ["org", "programs"]
    bundles = ok(client.get("/v1/bundles", headers=owner))["items"]
    assert [[w["name"] for w in b["workspaces"]] for b in bundles] == [["org", "programs"]]
    workspaces = ok(client.get("/v1/workspaces", headers=owner))["items"]
    assert {w["subscription_id"] for w in workspaces} == {sub["id"]}
    org = sub["workspaces"][0]["id"]
    addons = ok(client.get(f"/v1/workspaces/{org}/addons", headers=owner))
    name = addons[0]["name"]
    packed = ok(client.put(f"/v1/workspaces/{org}/addons/{name}", headers=owner, json={"count": 1}))
    assert packed["seats"]["total"] == 3 + addons[0]["seats"]
    assert ok(client.get(f"/v1/subscriptions/{sub['id']}", headers=owner))["addons"] == {name: 1}
    unknown = client.put(f"/v1/workspaces/{org}/addons/nothing", headers=owner, json={"count": 1})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    canceled = client.post(
        f"/v1/subscriptions/{sub['id']}/cancel", headers=owner, json={"at_period_end": True}
    )
    assert canceled.status_code == 200
    shown = ok(client.get(f"/v1/subscriptions/{sub['id']}", headers=owner))
    assert shown["cancel_at_period_end"] is True


def test_plans_and_presets(client: TestClient) -> None:
    owner = sign_up(client)["headers"]
    names = [p["name"] for p in ok(client.get("/v1/presets", headers=owner))]
    assert "rallly-pro" in names and names == sorted(names)
    plaky = ok(client.get("/v1/presets/plaky", headers=owner))["policy"]
    assert plaky["free_allowance"] == {"role": "viewer", "per_paid_seat": 5}
    resolved = ok(
        client.post(
            "/v1/plans/resolve",
            headers=owner,
            json={"preset": "plaky", "policy": {"proration": {"unit": "second"}}},
        )
    )
    assert resolved["policy"]["proration"] == {
        "unit": "second",
        "on_increase": "charge_now",
        "on_decrease": "none",
        # Keys neither the preset nor the request sets read as their defaults.
        "day_count": "actual",
        "change_day": "remaining",
        "partial_period_basis": "anchor_period",
        "credit_rounding": None,
        "rounding_stage": "line",
        "fraction_scale": None,
        "credit_basis": "price",
        "timezone": "UTC",
    }
    wrong = client.post(
        "/v1/plans/resolve", headers=owner, json={"preset": "plaky", "policy": {"seat_price": 9.5}}
    )
    assert (wrong.status_code, wrong.json()["field"]) == (422, "seat_price")
    missing = client.get("/v1/presets/nope", headers=owner)
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


def test_test_clocks_run_renewals_as_they_move(client: TestClient, clock: ManualClock) -> None:
    owner = sign_up(client)["headers"]
    start = clock.now().isoformat().replace("+00:00", "Z")
    made = ok(client.post("/v1/test-clocks", headers=owner, json={"at": start, "name": "t"}), 201)
    created = client.post(
        "/v1/subscriptions",
        headers=owner,
        json={
            "preset": "rallly-pro",
            "workspaces": ["team"],
            "seats": 2,
            "test_clock_id": made["id"],
        },
    )
    sub = ok(created, 201)["subscription"]
    assert sub["test_clock_id"] == made["id"]
    moved = ok(
        client.post(
            f"/v1/test-clocks/{made['id']}/advance",
            headers=owner,
            json={"to": "2026-07-01T00:00:00Z"},
        )
    )
    assert moved["clock"]["now_at"] == "2026-07-01T00:00:00Z"
    assert [i["period_start"][:10] for i in moved["invoices"]] == [
        "2026-05-01",
        "2026-06-01",
        "2026-07-01",
    ]
    assert ok(client.get(f"/v1/test-clocks/{made['id']}", headers=owner)) == moved["clock"]
    back = client.post(
        f"/v1/test-clocks/{made['id']}/advance", headers=owner, json={"to": "2026-06-01T00:00:00Z"}
    )
    assert (back.status_code, back.json()["field"]) == (422, "to")
    naive = client.post(
        f"/v1/test-clocks/{made['id']}/advance", headers=owner, json={"to": "2026-08-01T00:00:00"}
    )
    assert (naive.status_code, naive.json()["field"]) == (422, "to")


def test_billing_run_issues_what_fell_due(client: TestClient, clock: ManualClock) -> None:
    owner = sign_up(client)["headers"]
    subscribe(client, owner, seats=2)
    assert ok(client.post("/v1/billing/run", headers=owner))["invoices"] == []
    clock.advance(timedelta(days=31))
    renewed = ok(client.post("/v1/billing/run", headers=owner))["invoices"]
    assert [(i["reason"], i["total"]) for i in renewed] == [("renewal", "20.00")]
    assert ok(client.post("/v1/billing/run", headers=owner))["invoices"] == []


def test_api_keys_revoked_stop_working(client: TestClient) -> None:
    owner = sign_up(client)["headers"]
    made = ok(client.post("/v1/api-keys", headers=owner, json={"email": "ana@acme.test"}), 201)
    theirs = bearer(made["token"])
    assert ok(client.get("/v1/account", headers=theirs))["name"] == "Acme"
    revoked = ok(client.delete(f"/v1/api-keys/{made['api_key']['id']}", headers=owner))
    assert revoked["revoked_at"] is not None
    assert client.get("/v1/account", headers=theirs).status_code == 401
    listed = ok(client.get("/v1/api-keys", headers=owner))["items"]
    assert {k["id"]: k["revoked_at"] is None for k in listed} == {
        made["api_key"]["id"]: False,
        next(k["id"] for k in listed if k["name"] == "first key"): True,
    }
    stranger = client.post("/v1/api-keys", headers=owner, json={"email": "who@else.test"})
    assert (stranger.status_code, stranger.json()["code"]) == (404, "not_found")
