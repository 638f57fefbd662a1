"""Lists come in pages: ``limit`` and an opaque ``cursor``; filters narrow before paging."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import TestClient, sign_up, subscribe

INVITED = [f"p{n}@acme.test" for n in range(1, 8)]


@pytest.fixture
def team(client: TestClient) -> tuple[dict[str, str], str]:
    owner = sign_up(client, "zoe@acme.test")["headers"]
    ws = subscribe(client, owner, seats=20)["subscription"]["workspaces"][0]["id"]
    for role, emails in (("member", INVITED[:5]), ("admin", INVITED[5:])):
        response = client.post(
            f"/v1/workspaces/{ws}/invitations", headers=owner, json={"emails": emails, "role": role}
        )
        assert response.status_code == 200
    return owner, ws


def all_pages(client: TestClient, url: str, headers: dict[str, str]) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor is not None:
            params["cursor"] = cursor
        body = client.get(url, headers=headers, params=params).json()
        pages.append([m["email"] for m in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_pages_follow_each_other_without_gaps_or_repeats(
    client: TestClient, team: tuple[dict[str, str], str]
) -> None:
    owner, ws = team
    pages = all_pages(client, f"/v1/workspaces/{ws}/members", owner)
    assert [len(page) for page in pages] == [3, 3, 2]
    flat = [email for page in pages for email in page]
    assert flat == sorted([*INVITED, "zoe@acme.test"])


def test_a_member_added_between_pages_neither_repeats_nor_shifts_the_next_page(
    client: TestClient, team: tuple[dict[str, str], str]
) -> None:
    owner, ws = team
    url = f"/v1/workspaces/{ws}/members"
    first = client.get(url, headers=owner, params={"limit": 3}).json()
    client.post(
        f"/v1/workspaces/{ws}/invitations",
        headers=owner,
        json={"emails": ["a0@acme.test"], "role": "member"},
    )
    second = client.get(url, headers=owner, params={"limit": 3, "cursor": first["next_cursor"]})
    emails = [m["email"] for m in second.json()["items"]]
    assert emails == sorted(INVITED)[3:6]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"role": "admin"}, INVITED[5:]),
        ({"status": "active"}, ["zoe@acme.test"]),
        ({"status": "pending", "role": "member"}, INVITED[:5]),
        ({"email": "P3"}, ["p3@acme.test"]),
        ({"uses_seat": "false"}, []),
    ],
    ids=["by role", "by status", "status and role", "by e-mail text", "not using a seat"],
)
def test_filters_narrow_the_list(
    query: dict[str, str],
    expected: list[str],
    client: TestClient,
    team: tuple[dict[str, str], str],
) -> None:
    owner, ws = team
    body = client.get(f"/v1/workspaces/{ws}/members", headers=owner, params=query).json()
    assert [m["email"] for m in body["items"]] == expected
    assert body["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "W3sieCI6MX1d"}, "cursor"),
        ({"cursor": "x" * 600}, "cursor"),
    ],
    ids=["limit 0", "limit over 100", "garbage cursor", "cursor of another shape", "long cursor"],
)
def test_a_bad_limit_or_cursor_names_the_parameter(
    params: dict[str, Any], field: str, client: TestClient, team: tuple[dict[str, str], str]
) -> None:
    owner, ws = team
    response = client.get(f"/v1/workspaces/{ws}/members", headers=owner, params=params)
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_the_audit_log_pages_in_order(client: TestClient, team: tuple[dict[str, str], str]) -> None:
    owner, _ = team
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = client.get("/v1/audit-log", headers=owner, params=params).json()
        seen.extend(entry["seq"] for entry in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) >= 3


def test_a_query_parameter_given_twice_is_refused(
    client: TestClient, team: tuple[dict[str, str], str]
) -> None:
    owner, ws = team
    response = client.get(f"/v1/workspaces/{ws}/members?limit=2&limit=50", headers=owner)
    assert response.status_code == 422
    assert (response.json()["field"], response.json()["rule"]) == ("limit", "must be given once")
