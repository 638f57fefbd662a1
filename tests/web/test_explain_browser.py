"""The invoice page links each line to its explanation, in real Chromium: the people and seat
intervals behind the line, adding up to it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect
from web_server import LiveServer, Shots
from web_world import invite, workspace_on

from seatledger.service import subscriptions

pytestmark = pytest.mark.web


def test_an_invoice_line_links_to_who_and_why(live: LiveServer, page: Page, shot: Shots) -> None:
    """reviewer Pro: 2 included seats (the admin and ana from 10 April); a third seat bought on
    16 April and taken at once by bob is his line, EUR 49.50."""
    world = workspace_on(live.runtime, seats=2, name="Studio Ltd")
    live.clock.move_to(datetime(2026, 4, 10, tzinfo=UTC))
    invite(live.runtime, world, ["ana@x.test"], "reviewer")
    live.clock.move_to(datetime(2026, 4, 16, tzinfo=UTC))
    subscriptions.change_seat_count(
        live.runtime,
        account_id=world.account_id,
        workspace=world.workspace,
        actor=world.owner,
        seats=3,
    )
    invite(live.runtime, world, ["bob@x.test"], "reviewer")

    page.goto(live.link(world.owner, account_id=world.account_id, workspace=world.workspace))
    expect(page).to_have_url(re.compile(r"/admin/members$"))
    page.goto(live.base_url + "/admin/invoices/000002")
    line = page.locator("tr.line-proration_charge")
    line.get_by_role("link", name="Who and why").click()

    expect(page).to_have_url(re.compile(r"/admin/invoices/000002/explain#line-1$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Explanation of Invoice 000002")
    section = page.locator("section#line-1")
    expect(section.get_by_role("heading", level=2)).to_contain_text(
        "1 × Seat, 16 Apr – 1 May 2026, prorated"
    )
    entries = section.locator("tbody tr")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("bob@x.test")
    expect(entries.first).to_contain_text("reviewer in studio, since 16 Apr 2026 (invite)")
    expect(entries.first.locator("td").last).to_have_text("EUR 49.50")
    expect(section.locator("tfoot tr.line-total td").last).to_have_text("EUR 49.50")
    shot(page, "explanation")

    page.get_by_role("link", name="Back to the invoice").click()
    expect(page).to_have_url(re.compile(r"/admin/invoices/000002$"))

    response = page.goto(live.base_url + "/admin/invoices/000099/explain")
    assert response is not None and response.status == 404
    expect(page.locator("body")).to_contain_text("There is no such invoice in this account.")
