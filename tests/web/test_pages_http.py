"""What the pages say for each kind of plan, over plain HTTP: free viewer places (Plaky), roles
scoped to programs (upcoach), seats that follow members (Voltasis), an annual plan's preview, and
credits (Rallly), and a seat change reviewed before someone else changed the seats."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
from web_server import LiveServer
from web_world import World, invite, join, workspace_on

from seatledger.policy_files import resolve_policy
from seatledger.service import accounts, members, subscriptions, test_clocks


@contextmanager
def signed_in(live: LiveServer, world: World) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.base_url, timeout=10) as browser:
        link = live.link(world.owner, account_id=world.account_id, workspace=world.workspace)
        assert browser.get(link).status_code == 303
        yield browser


def text_of(html: str) -> str:
    """The page's words, tags dropped and spaces squeezed, as a reader meets them."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace(" .", ".")


def test_free_viewer_places_are_counted_beside_the_seats(live: LiveServer) -> None:
    world = workspace_on(live.runtime, preset="plaky", seats=2, owner="owner@plaky.test")
    invite(live.runtime, world, ["v1@plaky.test", "v2@plaky.test", "v3@plaky.test"], "viewer")
    with signed_in(live, world) as browser:
        page = text_of(browser.get("/admin/members").text)
        invite_page = text_of(browser.get("/admin/members/invite").text)
    assert "1 / 2 seats used" in page
    assert "3 / 10 viewers" in page
    assert page.count("Free viewer place") == 3
    assert "Seat limit reached" not in page
    assert "1 of 2 seats available; 7 free viewer places left." in invite_page


def test_roles_in_programs_are_listed_per_program(live: LiveServer) -> None:
    world = workspace_on(live.runtime, preset="upcoach", seats=5, owner="owner@coach.test")
    for role, scope in (("program_facilitator", "Onboarding"), ("participant", "Leadership")):
        members.invite_members(
            live.runtime,
            account_id=world.account_id,
            workspace=world.workspace,
            actor=world.owner,
            emails=["fay@coach.test"],
            role=role,
            scope=scope,
        )
    with signed_in(live, world) as browser:
        html = browser.get("/admin/members").text
    row = text_of(html.split('data-email="fay@coach.test"')[1].split("</tr>")[0])
    assert "Program facilitator in Onboarding" in row
    assert "Participant in Leadership" in row
    assert "No workspace role" in row
    assert "Uses a seat" in row  # one seat, however many programs
    assert "2 / 5 seats used" in text_of(html)


def test_seats_that_follow_members_have_no_seat_control(live: LiveServer) -> None:
    world = workspace_on(live.runtime, preset="voltasis-pro", seats=1, owner="owner@volt.test")
    join(live.runtime, world, ["emp@volt.test"], "employee")
    with signed_in(live, world) as browser:
        billing = text_of(browser.get("/admin/billing").text)
        members_page = text_of(browser.get("/admin/members").text)
    assert "Seats follow your members on this plan" in billing
    assert "Manage seats" not in billing
    assert "2 / 2 seats used" in members_page
    assert "Seat limit reached" not in members_page  # nothing to buy: seats follow usage


def test_an_annual_plan_previews_its_yearly_price(live: LiveServer) -> None:
    world = workspace_on(live.runtime, preset="reviewer-pro-annual", seats=2)
    with signed_in(live, world) as browser:
        preview = text_of(browser.get("/admin/billing/preview?seats=3").text)
        billing = text_of(browser.get("/admin/billing").text)
    assert "Yearly" in billing
    assert "EUR 950.40 a year including 2 seats, then EUR 950.40 per seat" in billing
    assert preview.strip().startswith(
        "Charged now: EUR 950.40 for 365 days. Next invoice: EUR 1,900.80."
    )


def test_a_refunded_decrease_shows_the_credit_and_the_balance(live: LiveServer) -> None:
    world = workspace_on(live.runtime, preset="rallly-pro", seats=3, owner="owner@rallly.test")
    live.clock.move_to(datetime(2026, 4, 16, tzinfo=UTC))
    with signed_in(live, world) as browser:
        preview = text_of(browser.get("/admin/billing/preview?seats=2").text)
        page = browser.get("/admin/billing").text
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        done = browser.post(
            "/admin/billing/seats", data={"seats": "2", "from_seats": "3", "csrf_token": token}
        )
        billing = text_of(browser.get("/admin/billing").text)
    # Rallly refunds unused time: 1 seat x USD 10 x 15/30, and the next invoice uses the credit.
    assert preview.strip().startswith(
        "Nothing charged now. Credited now: USD 5.00 for 15 days. Next invoice: USD 15.00."
    )
    assert done.status_code == 303
    usage = subscriptions.seat_usage_of(
        live.runtime, account_id=world.account_id, workspace=world.workspace
    )
    assert usage.total == 2
    assert "Seats changed from 3 to 2. Credit note 000002: -USD 5.00." in billing
    assert "Credit balance USD 5.00" in billing
    assert "Unused time on 1 × Seat, 16 Apr – 1 May 2026" in billing


def test_a_stale_review_is_refused_and_changes_nothing(live: LiveServer) -> None:
    world = workspace_on(live.runtime, seats=2)
    with signed_in(live, world) as browser:
        page = browser.get("/admin/billing").text
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        subscriptions.change_seat_count(
            live.runtime,
            account_id=world.account_id,
            workspace=world.workspace,
            actor=world.owner,
            seats=4,
        )
        stale = browser.post(
            "/admin/billing/seats", data={"seats": "3", "from_seats": "2", "csrf_token": token}
        )
    assert stale.status_code == 409
    assert "The seats changed to 4 since you reviewed this change. Review it again." in stale.text
    usage = subscriptions.seat_usage_of(
        live.runtime, account_id=world.account_id, workspace=world.workspace
    )
    assert usage.total == 4


def test_a_subscription_on_a_test_clock_is_shown_at_the_clocks_time(live: LiveServer) -> None:
    account_id = accounts.create_account(live.runtime, name="Clocked")
    clock = test_clocks.create_test_clock(
        live.runtime, account_id=account_id, at=datetime(2026, 6, 16, tzinfo=UTC)
    )
    subscriptions.subscribe(
        live.runtime,
        account_id=account_id,
        policy=resolve_policy("reviewer-pro"),
        preset="reviewer-pro",
        workspaces=["lab"],
        owner_email="owner@lab.test",
        seats=2,
        test_clock_id=clock.id,
    )
    world = World(account_id, "lab", "owner@lab.test")
    with signed_in(live, world) as browser:
        billing = text_of(browser.get("/admin/billing").text)
        preview = text_of(browser.get("/admin/billing/preview?seats=3").text)
    # The wall clock says 1 April; the subscription lives on 16 June, its first day.
    assert "Current period 16 Jun – 16 Jul 2026" in billing
    assert preview.strip().startswith("Charged now: EUR 99.00 for 30 days.")
