"""The Billing page in real Chromium: the seat preview as the number changes, the confirmation, the
new invoice and counters; the refusal below used seats; Billing kept from members who may not
manage seats; the printable invoice."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect
from web_server import LiveServer, Shots
from web_world import World, invite, join, workspace_on

from seatledger.service import subscriptions

pytestmark = pytest.mark.web

MID_APRIL = datetime(2026, 4, 16, tzinfo=UTC)


def sign_in(page: Page, live: LiveServer, world: World, email: str | None = None) -> None:
    page.goto(
        live.link(email or world.owner, account_id=world.account_id, workspace=world.workspace)
    )
    expect(page).to_have_url(re.compile(r"/admin/members$"))


def open_billing(page: Page) -> None:
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Billing").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Billing")


def test_the_owner_previews_and_buys_one_seat(
    live_any: LiveServer, page: Page, shot: Shots
) -> None:
    """The reviewer seed's worked example: 2 seats on 1 April, one more on 16 April of a 30-day
    month is charged 15/30 of EUR 99 now, and the next invoice bills 3 seats."""
    live = live_any
    world = workspace_on(live.runtime, seats=2)
    live.clock.move_to(MID_APRIL)
    sign_in(page, live, world)
    expect(page.locator("#seats-used-counter")).to_have_text("1 / 2 seats used")
    open_billing(page)
    expect(page.locator("#seats-total")).to_have_text("2")
    expect(page.locator("#plan-name")).to_have_text("reviewer-pro")
    expect(page.locator("#plan-interval")).to_have_text("Monthly")
    expect(page.locator("#credit-balance")).to_have_text("EUR 0.00")

    page.get_by_role("button", name="One seat more").click()
    expect(page.get_by_label("Number of seats")).to_have_value("3")
    expect(page.locator("#seat-preview")).to_contain_text(
        "Charged now: EUR 49.50 for 15 days. Next invoice: EUR 198.00."
    )
    shot(page, "preview")

    page.get_by_role("button", name="Review change").click()
    review = page.locator("#seat-confirm")
    expect(review.get_by_role("heading")).to_have_text("Change seats from 2 to 3?")
    expect(review.get_by_role("heading")).to_be_focused()
    expect(review).to_contain_text("Charged now: EUR 49.50 for 15 days.")
    shot(page, "confirm-step")
    review.get_by_role("button", name="Confirm and pay EUR 49.50").click()

    expect(page.get_by_role("status")).to_have_text(
        "Seats changed from 2 to 3. Invoice 000002: EUR 49.50."
    )
    expect(page.locator("#seats-total")).to_have_text("3")
    expect(page.locator("#seats-available")).to_have_text("2")
    invoice = page.get_by_role("article", name="Invoice 000002")
    expect(invoice).to_contain_text("EUR 49.50")
    line = invoice.locator("tr.line-proration_charge")
    expect(line).to_contain_text("1 × Seat, 16 Apr – 1 May 2026, prorated")
    expect(line).to_contain_text("Covers 16 Apr – 1 May 2026 (15 days)")
    expect(line.locator("td").last).to_have_text("EUR 49.50")
    expect(page.get_by_role("article", name="Invoice 000001")).to_contain_text("EUR 99.00")
    shot(page, "bought")

    page.get_by_role("link", name="Members").click()
    expect(page.locator("#seats-used-counter")).to_have_text("1 / 3 seats used")
    usage = subscriptions.seat_usage_of(
        live.runtime, account_id=world.account_id, workspace=world.workspace
    )
    assert (usage.total, usage.used) == (3, 1)


def test_fewer_seats_than_are_used_is_refused_before_any_confirm(
    live: LiveServer, page: Page, shot: Shots
) -> None:
    world = workspace_on(live.runtime, seats=4)
    join(live.runtime, world, ["a@studio.test"], "reviewer")
    invite(live.runtime, world, ["b@studio.test"], "reviewer")
    sign_in(page, live, world)
    open_billing(page)

    page.get_by_label("Number of seats").fill("2")
    message = (
        "You cannot reduce seats to 2: 3 seats are in use. Remove members first, then adjust seats."
    )
    expect(page.locator("#seat-preview").get_by_role("alert")).to_have_text(message)
    page.get_by_role("button", name="Review change").click()
    review = page.locator("#seat-confirm")
    expect(review.get_by_role("alert")).to_have_text(message)
    expect(review.get_by_role("button", name=re.compile("Confirm"))).to_have_count(0)
    shot(page, "refused")

    # One seat fewer is allowed: no refund on this plan, the seat is kept until the period ends.
    page.get_by_label("Number of seats").fill("3")
    expect(page.locator("#seat-preview")).to_contain_text(
        "Nothing charged now. Next invoice: EUR 198.00."
    )
    expect(page.locator("#seat-preview")).to_contain_text("You keep 4 seats until 1 May 2026.")
    expect(page.locator("#seat-preview")).to_contain_text(
        "There is no refund for the rest of this period."
    )
    page.get_by_role("button", name="Review change").click()
    page.locator("#seat-confirm").get_by_role("button", name="Confirm change").click()
    expect(page.get_by_role("status")).to_have_text("Seats changed from 4 to 3.")
    expect(page.locator("#seats-at-renewal")).to_have_text("From 1 May 2026 you pay for 3 seats.")


def test_a_member_sees_no_manage_seats_control(live: LiveServer, page: Page, shot: Shots) -> None:
    world = workspace_on(live.runtime, seats=3)
    join(live.runtime, world, ["rev@studio.test"], "reviewer")
    sign_in(page, live, world, "rev@studio.test")

    expect(page.get_by_role("link", name="Invite people")).to_have_count(0)
    expect(page.locator("#members-read-only")).to_have_text(
        "Only admin may invite people or change members."
    )
    expect(page.get_by_role("button", name=re.compile("^Change"))).to_have_count(0)

    open_billing(page)
    refused = page.locator("#billing-refused")
    expect(refused).to_contain_text("Only admin may manage seats and billing.")
    expect(refused).to_contain_text("You are signed in as rev@studio.test (Reviewer).")
    expect(page.get_by_role("heading", name="Manage seats")).to_have_count(0)
    expect(page.get_by_label("Number of seats")).to_have_count(0)
    expect(page.get_by_role("heading", name="Invoice history")).to_have_count(0)
    shot(page, "member-billing")

    # Typing the addresses does not help either: the pages ask the service, which refuses.
    response = page.goto(live.base_url + "/admin/billing/seats/review?seats=9")
    assert response is not None and response.status == 403
    expect(page.get_by_label("Number of seats")).to_have_count(0)


def test_the_invoice_page_prints(live: LiveServer, page: Page, shot: Shots) -> None:
    world = workspace_on(live.runtime, seats=2, name="Studio Ltd")
    live.clock.move_to(MID_APRIL)
    subscriptions.change_seat_count(
        live.runtime,
        account_id=world.account_id,
        workspace=world.workspace,
        actor=world.owner,
        seats=3,
    )
    sign_in(page, live, world)
    open_billing(page)
    page.get_by_role("link", name="View and print invoice 000002").click()
    expect(page).to_have_url(re.compile(r"/admin/invoices/000002$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Invoice 000002")
    expect(page.locator("header")).to_contain_text("Studio Ltd")
    line = page.locator("tr.line-proration_charge")
    expect(line).to_contain_text("1 × Seat, 16 Apr – 1 May 2026, prorated")
    expect(line.locator("td").last).to_have_text("EUR 49.50")
    expect(page.locator("tfoot tr.total")).to_contain_text("EUR 49.50")
    shot(page, "screen")
    page.emulate_media(media="print")
    shot(page, "print")

    # Another account's number is not found here, and neither is a number never issued.
    other = workspace_on(live.runtime, seats=2, name="Rival", workspace="rival", owner="b@r.test")
    assert other.account_id != world.account_id
    response = page.goto(live.base_url + "/admin/invoices/000099")
    assert response is not None and response.status == 404
    response = page.goto(live.base_url + "/admin/invoices/not-a-number")
    assert response is not None and response.status == 404
