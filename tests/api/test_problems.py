"""Errors are RFC 9457 problem details: the stable code, a detail with the numbers, the field."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from api_helpers import TestClient, sign_up, subscribe

from seatledger.api.problems import STATUSES, status_for
from seatledger.domain.errors import (
    AboveMaximumSeats,
    BelowMinimumSeats,
    BelowUsedSeats,
    Conflict,
    FreeAllowanceReached,
    InvalidInput,
    NotFound,
    NotPermitted,
    RequiredRole,
    SeatCountRefused,
    SeatLedgerError,
    SeatLimitReached,
)
from seatledger.service import subscriptions

PROBLEM = "application/problem+json"


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] == f"urn:seatledger:problem:{body['code']}"
    assert body["title"] and body["detail"]
    return body


class CustomRefusal(BelowUsedSeats):
    """A subclass nobody listed: its status comes from the nearest listed ancestor. Its code is
    its own, so the domain's one-class-per-code rule is not disturbed by this test."""

    code = "custom_refusal_of_the_api_tests"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (SeatLimitReached(used=3, total=3, requested=1), 409),
        (FreeAllowanceReached(role="viewer", used=5, allowed=5, requested=1), 409),
        (BelowUsedSeats(requested=2, used=3), 422),
        (BelowMinimumSeats(requested=1, minimum=2), 422),
        (AboveMaximumSeats(requested=2, maximum=1), 422),
        (CustomRefusal(requested=2, used=3), 422),
        (NotPermitted(action="manage seats", allowed_roles=("owner",)), 403),
        (NotFound(kind="workspace", key="ws_x"), 404),
        (InvalidInput("seats", "must be a whole number"), 422),
        (Conflict("taken"), 409),
        (RequiredRole(role="owner"), 409),
        (SeatLedgerError("something new"), 400),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_statuses_follow_the_error_class_hierarchy(error: SeatLedgerError, status: int) -> None:
    assert status_for(error) == status


def test_every_class_of_the_documented_tree_has_a_status() -> None:
    tree = {SeatLedgerError, *SeatLedgerError.__subclasses__()}
    for cls in list(tree):
        tree.update(cls.__subclasses__())
    tree.discard(CustomRefusal)
    assert all(any(base in STATUSES for base in cls.__mro__) for cls in tree)
    assert SeatCountRefused in STATUSES


def test_the_seat_limit_refusal_carries_the_numbers(client: TestClient) -> None:
    owner = sign_up(client)["headers"]
    ws = subscribe(client, owner, seats=2)["subscription"]["workspaces"][0]["id"]
    response = client.post(
        f"/v1/workspaces/{ws}/invitations",
        headers=owner,
        json={"emails": ["bo@acme.test", "cy@acme.test"], "role": "member"},
    )
    body = problem(response, 409)
    assert body["code"] == "seat_limit_reached"
    assert (body["used"], body["total"], body["requested"]) == (1, 2, 2)
    assert "You're using 1 of your 2 seats and this needs 2 more." in body["detail"]
    assert body["instance"] == f"/v1/workspaces/{ws}/invitations"


def test_a_seat_count_below_the_members_names_both_numbers(client: TestClient) -> None:
    owner = sign_up(client)["headers"]
    ws = subscribe(client, owner, seats=3)["subscription"]["workspaces"][0]["id"]
    client.post(
        f"/v1/workspaces/{ws}/invitations",
        headers=owner,
        json={"emails": ["bo@acme.test", "cy@acme.test"], "role": "member"},
    )
    body = problem(client.put(f"/v1/workspaces/{ws}/seats", headers=owner, json={"seats": 2}), 422)
    assert body["code"] == "below_used_seats"
    assert (body["requested"], body["limit"]) == (2, 3)
    assert body["detail"].startswith("You cannot reduce seats to 2: 3 seats are in use.")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"emails": [], "role": "member"}, "emails"),
        ({"emails": ["bo@acme.test"]}, "role"),
        ({"emails": ["bo@acme.test"] * 101, "role": "member"}, "emails"),
        ({"emails": ["bo@acme.test", "x" * 400], "role": "member"}, "emails[1]"),
        ({"emails": ["bo@acme.test"], "role": "member", "scope": ""}, "scope"),
    ],
    ids=["empty batch", "no role", "batch over 100", "an e-mail too long", "empty scope"],
)
def test_validation_errors_name_the_offending_field(
    body: dict[str, Any], field: str, client: TestClient
) -> None:
    owner = sign_up(client)["headers"]
    ws = subscribe(client, owner)["subscription"]["workspaces"][0]["id"]
    found = problem(client.post(f"/v1/workspaces/{ws}/invitations", headers=owner, json=body), 422)
    assert found["code"] == "invalid_input"
    assert found["field"] == field
    assert found["errors"][0] == {"field": field, "rule": found["rule"]}
    assert found["detail"].startswith(f"{field}: ")


def test_a_domain_validation_error_names_its_field(client: TestClient) -> None:
    owner = sign_up(client)["headers"]
    ws = subscribe(client, owner)["subscription"]["workspaces"][0]["id"]
    found = problem(
        client.post(
            f"/v1/workspaces/{ws}/invitations",
            headers=owner,
            json={"emails": ["no-at-sign"], "role": "member"},
        ),
        422,
    )
    assert (found["code"], found["field"]) == ("invalid_input", "email")
    assert "no-at-sign" in found["detail"]


def test_malformed_json_is_an_invalid_input(client: TestClient) -> None:
    owner = sign_up(client)["headers"]
    response = client.post(
        "/v1/plans/resolve",
        headers={**owner, "Content-Type": "application/json"},
        content=b'{"preset": ',
    )
    assert problem(response, 422)["code"] == "invalid_input"


def test_an_unknown_route_and_a_wrong_method_are_problems(client: TestClient) -> None:
    assert problem(client.get("/v1/nothing-here"), 404)["code"] == "not_found"
    assert problem(client.delete("/v1/presets"), 405)["code"] == "method_not_allowed"


def test_a_body_over_the_limit_is_refused_before_anything_runs(client: TestClient) -> None:
    big = {"name": "x" * 300_000, "owner_email": "ana@acme.test"}
    body = problem(client.post("/v1/accounts", json=big), 413)
    assert body["code"] == "payload_too_large"
    assert str(256 * 1024) in body["detail"]


def test_an_unexpected_error_is_a_logged_500_without_a_stack_trace(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    owner = sign_up(client)["headers"]
    ws = subscribe(client, owner)["subscription"]["workspaces"][0]["id"]

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(subscriptions, "change_seat_count", broken)
    with caplog.at_level(logging.ERROR, logger="seatledger.api"):
        response = client.put(f"/v1/workspaces/{ws}/seats", headers=owner, json={"seats": 4})
    body = problem(response, 500)
    assert body["code"] == "internal_error"
    assert "hunter2" not in response.text and "Traceback" not in response.text
    assert any("hunter2" in (r.exc_text or "") for r in caplog.records)
