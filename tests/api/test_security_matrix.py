"""Every endpoint x every kind of caller: who gets an answer, who is refused, who sees nothing.

Callers: A's owner, admin, member and viewer (each with a key bound to them), B's owner (another
account: any id of A answers 404, lists answer with B's own data only), no key and a revoked key
(401). One fresh world per endpoint; the callers that are refused go first, so a refusal always
meets the world as it was built, and each caller allowed to write has a target of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from api_helpers import TestClient, bearer
from api_world import A_ROLES, ACTORS, World, build_world, email

from seatledger.bootstrap import Runtime

Body = Callable[[str], dict[str, Any] | None]

MANAGERS = frozenset({"owner"})  # Rallly: seat_managers [owner]
MEMBER_MANAGERS = frozenset(ACTORS)  # Rallly: member_managers [owner, admin]
EVERYONE = frozenset(A_ROLES)


def no_body(role: str) -> None:
    return None


@dataclass(frozen=True)
class Row:
    """One endpoint: ``allowed`` roles of A get ``ok``, the others of A get ``denied``; B's owner
    gets ``other`` (404 where the path names something of A, else their own answer)."""

    method: str
    path: str
    ok: int
    allowed: frozenset[str]
    other: int
    denied: int = 403
    body: Body = field(default=no_body)
    query: str = ""

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}{self.query}"


def _json(data: dict[str, Any]) -> Body:
    return lambda role: data


ROWS = [
    Row("GET", "/v1/account", 200, EVERYONE, 200),
    Row("GET", "/v1/accounts/{account}", 200, EVERYONE, 404),
    Row("GET", "/v1/credit-balance", 200, MANAGERS, 200),
    Row("GET", "/v1/credit-entries", 200, MANAGERS, 200),
    Row("GET", "/v1/audit-log", 200, MANAGERS, 200),
    Row("POST", "/v1/billing/run", 200, MANAGERS, 200),
    Row("POST", "/v1/api-keys", 201, MANAGERS, 201, body=_json({"name": "more"})),
    Row("GET", "/v1/api-keys", 200, MANAGERS, 200),
    Row("GET", "/v1/api-keys/{key}", 200, MANAGERS, 404),
    Row("DELETE", "/v1/api-keys/{key}", 200, MANAGERS, 404),
    Row("GET", "/v1/workspaces", 200, EVERYONE, 200),
    Row("GET", "/v1/workspaces/{ws}", 200, EVERYONE, 404),
    Row("GET", "/v1/bundles", 200, EVERYONE, 200),
    Row("GET", "/v1/presets", 200, EVERYONE, 200),
    Row("GET", "/v1/presets/{preset}", 200, EVERYONE, 200),
    Row("POST", "/v1/plans/resolve", 200, EVERYONE, 200, body=_json({"preset": "plaky"})),
    Row(
        "POST",
        "/v1/subscriptions",
        201,
        MANAGERS,
        201,
        body=lambda role: {"preset": "plaky", "workspaces": [f"new-{role}"], "seats": 1},
    ),
    Row("GET", "/v1/subscriptions", 200, EVERYONE, 200),
    Row("GET", "/v1/subscriptions/{sub}", 200, EVERYONE, 404),
    Row("POST", "/v1/subscriptions/{sub}/cancel", 200, MANAGERS, 404, body=_json({})),
    Row("GET", "/v1/subscriptions/{sub}/ledger", 200, MANAGERS, 404),
    Row("GET", "/v1/workspaces/{ws}/seats", 200, EVERYONE, 404),
    Row("PUT", "/v1/workspaces/{ws}/seats", 200, MANAGERS, 404, body=_json({"seats": 21})),
    Row("POST", "/v1/workspaces/{ws}/seats/preview", 200, MANAGERS, 404, body=_json({"seats": 25})),
    Row("GET", "/v1/workspaces/{ws}/addons", 200, EVERYONE, 404),
    Row("PUT", "/v1/workspaces/{ws}/addons/{addon}", 200, MANAGERS, 404, body=_json({"count": 1})),
    Row("GET", "/v1/workspaces/{ws}/members", 200, EVERYONE, 404),
    Row(
        "POST",
        "/v1/workspaces/{ws}/invitations",
        200,
        MEMBER_MANAGERS,
        404,
        body=lambda role: {"emails": [email(f"new-{role}")], "role": "member"},
    ),
    # Everyone in A is active already: there is no invitation left to accept.
    Row("POST", "/v1/workspaces/{ws}/invitations/accept", 200, frozenset(), 404, denied=409),
    Row(
        "POST",
        "/v1/workspaces/{ws}/members/{person:roles-ROLE}/roles",
        200,
        MEMBER_MANAGERS,
        404,
        body=_json({"role": "viewer", "scope": "given"}),
    ),
    Row(
        "DELETE",
        "/v1/workspaces/{ws}/members/{person:roles-ROLE}/roles/{role}",
        200,
        MEMBER_MANAGERS,
        404,
        query="?scope=held-ROLE",
    ),
    Row(
        "POST",
        "/v1/workspaces/{ws}/members/{person:deactivate-ROLE}/deactivate",
        200,
        MEMBER_MANAGERS,
        404,
    ),
    Row(
        "POST",
        "/v1/workspaces/{ws}/members/{person:reactivate-ROLE}/reactivate",
        200,
        MEMBER_MANAGERS,
        404,
    ),
    Row("DELETE", "/v1/workspaces/{ws}/members/{person:delete-ROLE}", 200, MEMBER_MANAGERS, 404),
    # Only the owner holds the owner role to hand on; anyone else is refused by the state.
    Row(
        "POST",
        "/v1/workspaces/{ws}/ownership",
        200,
        MANAGERS,
        404,
        denied=409,
        body=lambda role: {"person_id": "{person:roles-owner}"},
    ),
    # Fair billing's reports: anyone their own, someone else's (here) the member managers.
    Row(
        "POST",
        "/v1/workspaces/{ws}/activity",
        200,
        MEMBER_MANAGERS,
        404,
        body=_json({"email": email("roles-owner")}),
    ),
    Row(
        "POST",
        "/v1/accounts/{account}/activity",
        200,
        MEMBER_MANAGERS,
        404,
        body=_json({"reports": [{"workspace_id": "{ws}", "email": email("roles-admin")}]}),
    ),
    Row("GET", "/v1/invoices", 200, MANAGERS, 200),
    Row("GET", "/v1/invoices/{invoice}", 200, MANAGERS, 404),
    Row("GET", "/v1/invoices/{invoice}/html", 200, MANAGERS, 404),
    Row("GET", "/v1/invoices/{invoice}/explain", 200, MANAGERS, 404),
    Row(
        "POST",
        "/v1/accounts/{account}/simulate",
        200,
        MANAGERS,
        404,
        body=_json({"policy": {"seat_price": "12.00"}}),
    ),
    Row("POST", "/v1/test-clocks", 201, MANAGERS, 201, body=_json({"at": "2026-04-01T00:00:00Z"})),
    Row("GET", "/v1/test-clocks", 200, MANAGERS, 200),
    Row("GET", "/v1/test-clocks/{clock}", 200, MANAGERS, 404),
    Row(
        "POST",
        "/v1/test-clocks/{clock}/attach",
        200,
        MANAGERS,
        404,
        body=_json({"subscription_id": "{sub}"}),
    ),
    Row(
        "POST",
        "/v1/test-clocks/{clock}/advance",
        200,
        MANAGERS,
        404,
        body=_json({"to": "2026-04-02T00:00:00Z"}),
    ),
    Row(
        "POST",
        "/v1/webhook-endpoints",
        201,
        MANAGERS,
        201,
        body=_json({"url": "https://hooks.acme.test/more"}),
    ),
    Row("GET", "/v1/webhook-endpoints", 200, MANAGERS, 200),
    Row("GET", "/v1/webhook-endpoints/{endpoint}", 200, MANAGERS, 404),
    Row("DELETE", "/v1/webhook-endpoints/{endpoint}", 200, MANAGERS, 404),
    Row("GET", "/v1/webhook-endpoints/{endpoint}/deliveries", 200, MANAGERS, 404),
    Row("GET", "/v1/events", 200, MANAGERS, 200),
    Row("GET", "/v1/events/{seq}", 200, MANAGERS, 404),
]

PLACEHOLDER = re.compile(r"\{([a-z]+(?::[a-z-]+)?)\}")


def fill(text: str, world: World, role: str) -> str:
    """``{ws}``, ``{person:delete-ROLE}``... replaced with the world's ids for ``role``."""
    actor = role if role in ACTORS else "owner"
    return PLACEHOLDER.sub(lambda m: world.ids[m.group(1)], text.replace("ROLE", actor))


def fill_body(body: dict[str, Any] | None, world: World, role: str) -> dict[str, Any] | None:
    if body is None:
        return None
    filled: dict[str, Any] = _filled(body, world, role)
    return filled


def _filled(value: Any, world: World, role: str) -> Any:
    """``value`` with every string in it filled, however deep (a batch's reports)."""
    if isinstance(value, str):
        return fill(value, world, role)
    if isinstance(value, dict):
        return {k: _filled(v, world, role) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, world, role) for v in value]
    return value


def call(client: TestClient, row: Row, world: World, role: str) -> Any:
    headers = {} if role == "anonymous" else bearer(world.tokens[role])
    return client.request(
        row.method,
        fill(row.path + row.query, world, role),
        headers=headers,
        json=fill_body(row.body(role), world, role),
    )


def expected(row: Row, role: str) -> int:
    if role in ("anonymous", "revoked"):
        return 401
    if role == "other":
        return row.other
    return row.ok if role in row.allowed else row.denied


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_every_caller_gets_what_its_role_allows(
    row: Row, client: TestClient, runtime: Runtime
) -> None:
    world = build_world(runtime)
    # Refusals first, on the world as built; then the callers allowed to change it.
    roles = sorted(
        ("anonymous", "revoked", "other", *A_ROLES),
        key=lambda role: expected(row, role) < 300,
    )
    for role in roles:
        response = call(client, row, world, role)
        want = expected(row, role)
        assert response.status_code == want, f"{role}: {response.status_code} {response.text}"
        if want >= 400:
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["status"] == want
        if role == "other":
            # A 404 may echo the id that was asked for; nothing else of A may appear.
            asked = str(response.request.url) + response.request.content.decode()
            leaked = [i for i in world.a_ids if i in response.text and i not in asked]
            assert not leaked, f"another account's answer shows A's ids {leaked}"
        if role in ("anonymous", "revoked"):
            assert response.json()["code"] == "unauthenticated"
            assert response.headers["www-authenticate"].startswith("Bearer")


def test_the_matrix_covers_every_operation_of_the_schema(client: TestClient) -> None:
    """A new endpoint must be added to the matrix: the schema's operations are all in it."""
    schema = client.get("/openapi.json").json()
    public = {("POST", "/v1/accounts"), ("GET", "/healthz"), ("GET", "/metrics")}
    operations = {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if (method.upper(), path) not in public
    }
    covered = {(row.method, re.sub(r"\{[^}]+\}", "{}", row.path)) for row in ROWS}
    missing = {
        (method, path)
        for method, path in operations
        if (method, re.sub(r"\{[^}]+\}", "{}", path)) not in covered
    }
    assert not missing


def test_a_member_changing_seats_under_owner_only_seat_managers_is_not_permitted(
    client: TestClient, runtime: Runtime
) -> None:
    world = build_world(runtime)
    response = client.put(
        f"/v1/workspaces/{world.ids['ws']}/seats",
        headers=bearer(world.tokens["member"]),
        json={"seats": 25},
    )
    assert response.status_code == 403
    problem = response.json()
    assert problem["code"] == "not_permitted"
    assert problem["allowed_roles"] == ["owner"]
    assert problem["detail"] == "Only owner may manage seats and billing."


def test_an_account_wide_key_acts_as_the_person_named_in_the_header(
    client: TestClient, runtime: Runtime
) -> None:
    world = build_world(runtime)
    owner = bearer(world.tokens["owner"])
    made = client.post("/v1/api-keys", headers=owner, json={"name": "backend"})
    assert made.status_code == 201
    token = made.json()["token"]
    seats = f"/v1/workspaces/{world.ids['ws']}/seats"
    as_owner = client.put(seats, headers=bearer(token, email("owner")), json={"seats": 22})
    as_member = client.put(seats, headers=bearer(token, email("member")), json={"seats": 23})
    nobody = client.get(seats, headers=bearer(token))
    stranger = client.get(seats, headers=bearer(token, "nobody@else.test"))
    assert (as_owner.status_code, as_owner.json()["seats"]["total"]) == (200, 22)
    assert (as_member.status_code, as_member.json()["code"]) == (403, "not_permitted")
    assert (nobody.status_code, nobody.json()["field"]) == (422, "Seatledger-Actor")
    assert (stranger.status_code, stranger.json()["code"]) == (403, "not_permitted")


def test_a_key_bound_to_a_person_cannot_act_as_anyone_else(
    client: TestClient, runtime: Runtime
) -> None:
    world = build_world(runtime)
    response = client.put(
        f"/v1/workspaces/{world.ids['ws']}/seats",
        headers=bearer(world.tokens["member"], email("owner")),
        json={"seats": 25},
    )
    assert response.status_code == 403
    assert response.json()["detail"] == f"Only {email('member')} may act with this key."


@pytest.mark.parametrize(
    "token",
    [
        "",
        "slk",
        "slk.acc.key",
        "not-a-key-at-all",
        "slk.{account}.{key}.wrong-secret",
        "slk.{account}.key_000000000000000000000000.secret",
    ],
    ids=["empty", "prefix only", "three parts", "no prefix", "wrong secret", "unknown key id"],
)
def test_malformed_and_wrong_keys_are_unauthenticated(
    token: str, client: TestClient, runtime: Runtime
) -> None:
    world = build_world(runtime)
    filled = token.replace("{account}", world.ids["account"]).replace("{key}", world.ids["key"])
    response = client.get("/v1/account", headers={"Authorization": f"Bearer {filled}"})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
