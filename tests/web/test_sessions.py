"""Sessions of the admin pages over real HTTP, on SQLite and PostgreSQL: one account never sees
another's data, forged, tampered, expired or foreign tokens get nobody in, forms need their CSRF
token, and a member who is deactivated loses access at once."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pytest
from web_server import LiveServer, build_app
from web_world import World, join, seats_used, workspace_on

from seatledger.service import members, subscriptions
from seatledger.web.sessions import SESSION_COOKIE, sign

BROWSER_HEADERS = {"Accept": "text/html"}


def client(live: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=live.base_url, headers=BROWSER_HEADERS, timeout=10)


@contextmanager
def signed_in(live: LiveServer, world: World, email: str | None = None) -> Iterator[httpx.Client]:
    with client(live) as browser:
        link = live.link(
            email or world.owner, account_id=world.account_id, workspace=world.workspace
        )
        response = browser.get(link)
        assert response.status_code == 303
        assert response.headers["location"] == "/admin/members"
        yield browser


def two_accounts(live: LiveServer) -> tuple[World, World, str]:
    """Studio and Rival, each with a seat bought mid-April; Rival buys another one, so its
    invoice 000003 has no namesake in Studio. Returns that invoice's id."""
    studio = workspace_on(live.runtime, seats=2, name="Studio")
    rival = workspace_on(
        live.runtime, seats=2, name="Rival", workspace="rival", owner="boss@rival.test"
    )
    join(live.runtime, rival, ["secret-agent@rival.test"], "reviewer")
    live.clock.advance(timedelta(days=15))
    for world, seats in ((studio, 3), (rival, 3), (rival, 4)):
        result = subscriptions.change_seat_count(
            live.runtime,
            account_id=world.account_id,
            workspace=world.workspace,
            actor=world.owner,
            seats=seats,
        )
    return studio, rival, result.invoices[0].id


def test_a_session_sees_only_its_own_account(live_any: LiveServer) -> None:
    studio, rival, rival_invoice_id = two_accounts(live_any)
    with signed_in(live_any, studio) as browser:
        members_page = browser.get("/admin/members")
        billing_page = browser.get("/admin/billing")
        # Invoice numbers count per account: Studio's 000002 is its own, 000003 is only Rival's.
        own = browser.get("/admin/invoices/000002")
        foreign = [
            browser.get(f"/admin/invoices/{key}") for key in ("000003", "3", rival_invoice_id)
        ]
    assert members_page.status_code == 200 and billing_page.status_code == 200
    assert "secret-agent@rival.test" not in members_page.text
    assert "Rival" not in members_page.text + billing_page.text
    assert "Invoice 000003" not in billing_page.text
    assert own.status_code == 200
    assert "Studio" in own.text and "Rival" not in own.text
    for response in foreign:
        assert response.status_code == 404
        assert "There is no such invoice in this account." in response.text
        assert "Rival" not in response.text

    with signed_in(live_any, rival) as browser:
        rival_own = browser.get("/admin/invoices/000003")
    assert rival_own.status_code == 200
    assert "Rival" in rival_own.text and "EUR 49.50" in rival_own.text


def _payload(cookie: str) -> dict[str, object]:
    body = cookie.split(".")[0]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return decoded


def test_a_tampered_or_foreign_session_gets_nobody_in(live: LiveServer) -> None:
    studio, rival, _ = two_accounts(live)
    with signed_in(live, studio) as browser:
        cookie = browser.cookies[SESSION_COOKIE]
    payload = _payload(cookie)
    mac = cookie.split(".")[1]

    # Rival's account id with Studio's signature, and a cookie signed with another key.
    swapped = dict(payload, a=rival.account_id)
    body = base64.urlsafe_b64encode(json.dumps(swapped).encode()).rstrip(b"=").decode()
    forged = {
        "swapped account": f"{body}.{mac}",
        "other key": sign(b"k" * 40, "session", {**swapped}),  # type: ignore[dict-item]
        "link token as a cookie": live.link(
            rival.owner, account_id=rival.account_id, workspace=rival.workspace
        ).split("token=")[1],
        "garbage": "not-a-cookie",
    }
    for label, value in forged.items():
        with client(live) as browser:
            browser.cookies.set(SESSION_COOKIE, value, path="/admin")
            response = browser.get("/admin/billing")
        assert response.status_code == 303, label
        assert response.headers["location"].startswith("/admin/sign-in"), label


@pytest.mark.parametrize(
    ("case", "status", "message"),
    [
        ("expired", 400, "This sign-in link has expired."),
        ("forged", 400, "This sign-in link is not valid."),
        ("not a member", 403, "nobody@studio.test is not an active member of studio."),
        ("another workspace", 403, "owner@studio.test is not an active member of elsewhere."),
    ],
)
def test_sign_in_links_that_get_nobody_in(
    live: LiveServer, case: str, status: int, message: str
) -> None:
    world = workspace_on(live.runtime, seats=2)
    email, workspace = world.owner, world.workspace
    if case == "not a member":
        email = "nobody@studio.test"
    if case == "another workspace":
        workspace = "elsewhere"
    link = live.link(email, account_id=world.account_id, workspace=workspace)
    if case == "expired":
        live.clock.advance(timedelta(days=7))
    if case == "forged":
        link = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
    with client(live) as browser:
        response = browser.get(link)
    assert response.status_code == status
    assert message in response.text
    assert SESSION_COOKIE not in response.cookies


def test_a_link_is_good_until_just_before_it_expires(live: LiveServer) -> None:
    world = workspace_on(live.runtime, seats=2)
    link = live.link(world.owner, account_id=world.account_id, workspace=world.workspace)
    live.clock.advance(timedelta(days=7) - timedelta(seconds=1))
    with client(live) as browser:
        assert browser.get(link).status_code == 303


def test_a_deactivated_member_loses_access_at_once(live: LiveServer) -> None:
    world = workspace_on(live.runtime, seats=3)
    join(live.runtime, world, ["rev@studio.test"], "reviewer")
    with signed_in(live, world, "rev@studio.test") as browser:
        assert browser.get("/admin/members").status_code == 200
        members.deactivate_member(
            live.runtime,
            account_id=world.account_id,
            workspace=world.workspace,
            actor=world.owner,
            email="rev@studio.test",
        )
        response = browser.get("/admin/members")
    assert response.status_code == 403
    assert "rev@studio.test is not an active member of studio" in response.text


def test_forms_need_the_sessions_csrf_token(live: LiveServer) -> None:
    world = workspace_on(live.runtime, seats=3)
    form = {"emails": "new@studio.test", "role": "reviewer"}
    with signed_in(live, world) as browser:
        missing = browser.post("/admin/members/invite", data=form)
        wrong = browser.post("/admin/members/invite", data={**form, "csrf_token": "x" * 43})
        assert seats_used(live.runtime, world) == 1
        page = browser.get("/admin/members").text
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        # htmx sends the token as a header (hx-headers on <body>); plain forms as a field.
        by_header = browser.post(
            "/admin/members/invite",
            data=form,
            headers={"X-CSRF-Token": token, "HX-Request": "true"},
        )
    assert (missing.status_code, wrong.status_code) == (403, 403)
    assert "This form has expired" in missing.text
    assert by_header.status_code == 200
    assert seats_used(live.runtime, world) == 2


def test_sign_out_ends_the_session_and_next_stays_on_these_pages(live: LiveServer) -> None:
    world = workspace_on(live.runtime, seats=2)
    link = live.link(world.owner, account_id=world.account_id, workspace=world.workspace)
    with client(live) as browser:
        away = browser.get(link + "&next=https://elsewhere.example/steal")
        assert away.headers["location"] == "/admin/members"
        deep = browser.get(link + "&next=%2Fadmin%2Fbilling")
        assert deep.headers["location"] == "/admin/billing"
        out = browser.post("/admin/sign-out")
        assert out.status_code == 303
        after = browser.get("/admin/members")
    assert after.status_code == 303
    assert after.headers["location"] == "/admin/sign-in?next=%2Fadmin%2Fmembers"


def test_pages_forbid_inline_scripts_and_stay_out_of_the_api_schema(live: LiveServer) -> None:
    world = workspace_on(live.runtime, seats=2)
    with signed_in(live, world) as browser:
        page = browser.get("/admin/members")
        htmx = browser.get("/admin/static/htmx.min.js")
        missing = browser.get("/admin/static/../sessions.py")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert page.headers["referrer-policy"] == "no-referrer"
    assert htmx.status_code == 200
    assert htmx.text.startswith("/*! htmx 2.0.11")
    assert "immutable" in htmx.headers["cache-control"]
    assert missing.status_code == 404
    paths = build_app(live.runtime, live.settings).openapi()["paths"]
    assert not [path for path in paths if path.startswith("/admin")]
