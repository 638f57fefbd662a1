"""Fair billing's activity reports over HTTP, on SQLite and PostgreSQL: one member's report, a
batch across the account, what each report did, and the money it moved (amounts as strings).

Voltasis Pro (USD 10.00 a seat a month, day proration) with ``inactive_after: P14D``, crediting and
charging at once so each answer carries its own credit note or invoice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api_helpers import TestClient, bearer, sign_up, subscribe

from seatledger.clock import ManualClock

FAIR = {
    "inactive_after": "P14D",
    "proration": {"on_increase": "charge_now", "on_decrease": "credit_now"},
}
OWNER, BO = "ana@acme.test", "bo@acme.test"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def fair_world(client: TestClient, policy: dict[str, Any] | None = None) -> tuple[Any, str, str]:
    """The owner's headers, the account id and the workspace id; bo joined on 2026-04-01."""
    signed = sign_up(client)
    owner = signed["headers"]
    created = subscribe(client, owner, preset="voltasis-pro", seats=1, policy=policy or FAIR)
    ws = created["subscription"]["workspaces"][0]["id"]
    ok(
        client.post(
            f"/v1/workspaces/{ws}/invitations",
            headers=owner,
            json={"emails": [BO], "role": "employee"},
        )
    )
    return owner, signed["account"]["id"], ws


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_reports_keep_members_billed_and_bring_the_inactive_back(
    client: TestClient, clock: ManualClock
) -> None:
    owner, _, ws = fair_world(client)
    clock.move_to(day("2026-04-10"))
    mine = ok(client.post(f"/v1/workspaces/{ws}/activity", headers=owner, json={"email": OWNER}))
    assert mine == {
        "reports": [
            {
                "workspace_id": ws,
                "email": OWNER,
                "at": "2026-04-10T00:00:00Z",
                "last_active_at": "2026-04-10T00:00:00Z",
                "tracked": True,
                "billed": True,
                "back": False,
            }
        ],
        "invoices": [],
        "credited": {},
    }
    # Apr 15: bo, idle since Apr 1, goes inactive; the owner's next report brings time up to date.
    clock.move_to(day("2026-04-15"))
    caught_up = ok(
        client.post(f"/v1/workspaces/{ws}/activity", headers=owner, json={"email": OWNER})
    )
    (note,) = caught_up["invoices"]
    assert (note["kind"], note["issued_at"], note["total"]) == (
        "credit_note",
        "2026-04-15T00:00:00Z",
        "-5.33",  # 1 seat x USD 10.00 x 16/30 days (Apr 15 - May 1) = 5.333
    )
    assert caught_up["credited"] == {"USD": "5.33"}
    # Apr 20: the owner (a member manager) reports bo's activity: billed again from now.
    clock.move_to(day("2026-04-20"))
    back = ok(client.post(f"/v1/workspaces/{ws}/activity", headers=owner, json={"email": BO}))
    (outcome,) = back["reports"]
    assert (outcome["tracked"], outcome["billed"], outcome["back"]) == (True, True, True)
    (invoice,) = back["invoices"]
    assert [(ln["kind"], ln["amount"]) for ln in invoice["lines"]] == [
        ("proration_charge", "3.67"),  # 1 seat x USD 10.00 x 11/30 days = 3.667
        ("credit_applied", "-3.67"),  # paid from the 5.33 credit
    ]
    assert invoice["total"] == "0.00"
    balance = ok(client.get("/v1/credit-balance", headers=owner))
    assert balance == {"balances": [{"currency": "USD", "amount": "1.66"}]}  # 5.33 - 3.67


def test_a_batch_is_kept_whole_or_refused_whole(client: TestClient, clock: ManualClock) -> None:
    owner, account, ws = fair_world(client)
    batch = f"/v1/accounts/{account}/activity"
    clock.move_to(day("2026-04-05"))
    refused = problem(
        client.post(
            batch,
            headers=owner,
            json={
                "reports": [
                    {"workspace_id": ws, "email": BO},
                    {"workspace_id": ws, "email": "ghost@acme.test"},
                ]
            },
        ),
        404,
    )
    assert refused["code"] == "not_found"
    done = ok(
        client.post(
            batch,
            headers=owner,
            json={
                "reports": [
                    {"workspace_id": ws, "email": OWNER},
                    {"workspace_id": ws, "email": BO, "at": "2026-04-02T12:00:00+02:00"},
                ]
            },
        )
    )
    # bo's last activity is the one reported now: the refused batch kept nothing of Apr 5.
    assert [(r["email"], r["last_active_at"]) for r in done["reports"]] == [
        (OWNER, "2026-04-05T00:00:00Z"),
        (BO, "2026-04-02T10:00:00Z"),
    ]
    other = sign_up(client, email="zed@other.test", name="Other")["headers"]
    assert problem(client.post(batch, headers=other, json=done_body(ws)), 404)["code"] == (
        "not_found"
    )
    empty = problem(client.post(batch, headers=owner, json={"reports": []}), 422)
    assert empty["code"] == "invalid_input"


def done_body(ws: str) -> dict[str, Any]:
    return {"reports": [{"workspace_id": ws, "email": OWNER}]}


def test_bad_reports_are_refused_naming_the_field(client: TestClient, clock: ManualClock) -> None:
    owner, _, ws = fair_world(client)
    path = f"/v1/workspaces/{ws}/activity"
    clock.move_to(day("2026-04-05"))
    future = problem(
        client.post(path, headers=owner, json={"email": BO, "at": "2026-04-06T00:00:00Z"}), 422
    )
    assert (future["code"], future["field"]) == ("invalid_input", "at")
    naive = problem(
        client.post(path, headers=owner, json={"email": BO, "at": "2026-04-02T00:00:00"}), 422
    )
    assert (naive["code"], naive["field"]) == ("invalid_input", "at")
    nobody = problem(client.post(path, headers=owner, json={"email": "ghost@acme.test"}), 404)
    assert nobody["code"] == "not_found"
    # bo (an employee) may report his own activity, not the owner's.
    backend = ok(client.post("/v1/api-keys", headers=owner, json={"name": "backend"}), 201)
    as_bo = bearer(backend["token"], BO)
    own = ok(client.post(path, headers=as_bo, json={"email": BO}))
    assert own["reports"][0]["last_active_at"] == "2026-04-05T00:00:00Z"
    theirs = problem(client.post(path, headers=as_bo, json={"email": OWNER}), 403)
    assert theirs["code"] == "not_permitted"


def test_without_inactive_after_a_report_is_accepted_and_untracked(
    client: TestClient, clock: ManualClock
) -> None:
    owner, _, ws = fair_world(client, policy={"seat_price": "10.00"})
    clock.move_to(day("2026-04-05"))
    answer = ok(client.post(f"/v1/workspaces/{ws}/activity", headers=owner, json={"email": BO}))
    (outcome,) = answer["reports"]
    assert (outcome["tracked"], outcome["billed"], outcome["last_active_at"]) == (
        False,
        True,
        None,
    )


def test_a_retried_report_is_answered_once(client: TestClient, clock: ManualClock) -> None:
    owner, _, ws = fair_world(client)
    clock.move_to(day("2026-04-05"))
    keyed = {**owner, "Idempotency-Key": "activity-1"}
    path = f"/v1/workspaces/{ws}/activity"
    first = client.post(path, headers=keyed, json={"email": BO})
    again = client.post(path, headers=keyed, json={"email": BO})
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    changed = client.post(path, headers=keyed, json={"email": OWNER})
    assert changed.status_code == 409
