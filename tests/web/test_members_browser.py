"""The Members page in real Chromium: invites up to the seat limit and the refusal in the dialog,
batches refused whole, keyboard-only use, confirmations, inline role changes, no JavaScript, and a
phone-sized screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from web_server import LiveServer, Shots
from web_world import World, invite, join, seats_used, workspace_on

from seatledger.service import subscriptions
from seatledger.service.demo import DEMO_ACCOUNT_ID, DEMO_OWNER, DEMO_WORKSPACE, seed_demo

pytestmark = pytest.mark.web

LIMIT_MESSAGE = (
    "No seats available. You're using all 3 of your 3 seats. "
    "Upgrade your plan or remove a team member to free a seat."
)


def sign_in(page: Page, live: LiveServer, world: World, email: str | None = None) -> None:
    page.goto(
        live.link(email or world.owner, account_id=world.account_id, workspace=world.workspace)
    )
    expect(page).to_have_url(re.compile(r"/admin/members$"))


def send_invites(page: Page, emails: str, role_label: str | None = None) -> None:
    page.get_by_role("link", name="Invite people").click()
    dialog = page.get_by_role("dialog", name="Invite people")
    expect(dialog).to_be_visible()
    dialog.get_by_label("E-mail addresses").fill(emails)
    if role_label is not None:
        dialog.get_by_label("Role").select_option(label=role_label)
    dialog.get_by_role("button", name="Send invites").click()


def counter(page: Page) -> str:
    return page.locator("#seats-used-counter").inner_text()


def test_invites_until_the_limit_then_the_dialog_shows_the_block(
    live: LiveServer, page: Page, shot: Shots
) -> None:
    world = workspace_on(live.runtime, seats=3)
    sign_in(page, live, world)
    expect(page.locator("#seats-used-counter")).to_have_text("1 / 3 seats used")
    expect(page.locator("#seat-warning")).to_have_count(0)

    send_invites(page, "ana@studio.test")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.get_by_role("status")).to_have_text("Invited ana@studio.test as Reviewer.")
    expect(page.locator("#seats-used-counter")).to_have_text("2 / 3 seats used")
    expect(page.get_by_role("row", name=re.compile("ana@studio.test"))).to_contain_text("Pending")

    send_invites(page, "ben@studio.test")
    expect(page.locator("#seats-used-counter")).to_have_text("3 / 3 seats used")
    warning = page.locator("#seat-warning")
    expect(warning).to_contain_text("You're using all 3 of your 3 seats.")
    expect(warning.get_by_role("link", name="Add seats in Billing")).to_have_attribute(
        "href", "/admin/billing"
    )
    shot(page, "at-the-limit")

    send_invites(page, "cleo@studio.test")
    dialog = page.get_by_role("dialog", name="Invite people")
    alert = dialog.get_by_role("alert")
    expect(alert).to_contain_text(LIMIT_MESSAGE)
    expect(alert.get_by_role("link", name="Go to Billing")).to_be_visible()
    expect(dialog).to_be_visible()
    # What was typed stays, so the person can shorten the batch and try again.
    expect(dialog.get_by_label("E-mail addresses")).to_have_value("cleo@studio.test")
    shot(page, "refused-in-the-dialog")
    expect(page.locator("#seats-used-counter")).to_have_text("3 / 3 seats used")
    expect(page.get_by_role("row", name=re.compile("cleo@studio.test"))).to_have_count(0)
    assert seats_used(live.runtime, world) == 3


def test_a_batch_that_would_pass_the_limit_changes_nothing(
    live: LiveServer, page: Page, shot: Shots
) -> None:
    world = workspace_on(live.runtime, seats=3)
    sign_in(page, live, world)

    send_invites(page, "a@studio.test, b@studio.test\nc@studio.test")
    alert = page.get_by_role("dialog").get_by_role("alert")
    expect(alert).to_contain_text(
        "No seats available. You're using 1 of your 3 seats and this needs 3 more."
    )
    shot(page, "batch-refused")
    page.get_by_role("dialog").get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("dialog")).to_be_hidden()

    expect(page.locator("#seats-used-counter")).to_have_text("1 / 3 seats used")
    expect(page.locator("table.members tbody tr")).to_have_count(1)
    page.reload()
    expect(page.locator("table.members tbody tr")).to_have_count(1)
    usage = subscriptions.seat_usage_of(
        live.runtime, account_id=world.account_id, workspace=world.workspace
    )
    assert (usage.used, usage.total) == (1, 3)


def test_keyboard_only_invite(live: LiveServer, page: Page, shot: Shots) -> None:
    world = workspace_on(live.runtime, seats=2)
    sign_in(page, live, world)

    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "open-invite":
            break
    else:
        pytest.fail("Tab never reached the Invite people button")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Invite people")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("E-mail addresses")).to_be_focused()
    page.keyboard.type("dev@studio.test")
    page.keyboard.press("Tab")
    expect(dialog.get_by_label("Role")).to_be_focused()
    page.keyboard.press("ArrowDown")  # Reviewer (uses a seat) -> Member (free)
    expect(dialog.get_by_label("Role")).to_have_value("member")
    page.keyboard.press("Tab")
    expect(dialog.get_by_label("Program or project")).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Send invites")).to_be_focused()
    page.keyboard.press("Enter")

    expect(dialog).to_be_hidden()
    row = page.get_by_role("row", name=re.compile("dev@studio.test"))
    expect(row).to_contain_text("No seat")
    expect(page.locator("#seats-used-counter")).to_have_text("1 / 2 seats used")
    # Back where the person started, ready for the next invite.
    expect(page.get_by_role("link", name="Invite people")).to_be_focused()

    # Two reviewers for one free seat: the refusal is announced and the dialog keeps the focus.
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.type("r1@studio.test r2@studio.test")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(dialog.get_by_role("alert")).to_contain_text("No seats available.")
    shot(page, "refused-by-keyboard")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#seats-used-counter")).to_have_text("1 / 2 seats used")


def test_deactivate_reactivate_and_delete_ask_first(
    live: LiveServer, page: Page, shot: Shots
) -> None:
    world = workspace_on(live.runtime, seats=3)
    join(live.runtime, world, ["rev@studio.test"], "reviewer")
    invite(live.runtime, world, ["new@studio.test"], "reviewer")
    sign_in(page, live, world)
    expect(page.locator("#seats-used-counter")).to_have_text("3 / 3 seats used")

    page.get_by_role("link", name="Deactivate rev@studio.test").click()
    dialog = page.get_by_role("dialog", name="Deactivate rev@studio.test?")
    expect(dialog).to_contain_text("Their seat is freed at once.")
    shot(page, "confirm-deactivate")
    dialog.get_by_role("button", name="Deactivate").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("status")).to_have_text("Deactivated rev@studio.test.")
    row = page.get_by_role("row", name=re.compile("rev@studio.test"))
    expect(row).to_contain_text("Deactivated")
    expect(page.locator("#seats-used-counter")).to_have_text("2 / 3 seats used")

    page.get_by_role("link", name="Reactivate rev@studio.test").click()
    page.get_by_role("dialog").get_by_role("button", name="Reactivate").click()
    expect(row).to_contain_text("Active")
    expect(page.locator("#seats-used-counter")).to_have_text("3 / 3 seats used")

    # Cancel leaves everything as it was.
    page.get_by_role("link", name="Withdraw invite new@studio.test").click()
    dialog = page.get_by_role("dialog", name="Withdraw the invite to new@studio.test?")
    expect(dialog.get_by_role("link", name="Cancel")).to_be_focused()
    dialog.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("row", name=re.compile("new@studio.test"))).to_have_count(1)

    page.get_by_role("link", name="Withdraw invite new@studio.test").click()
    page.get_by_role("dialog").get_by_role("button", name="Withdraw invite").click()
    expect(page.get_by_role("row", name=re.compile("new@studio.test"))).to_have_count(0)
    expect(page.locator("#seats-used-counter")).to_have_text("2 / 3 seats used")
    assert seats_used(live.runtime, world) == 2


def test_inline_role_change_is_judged_by_seats(live: LiveServer, page: Page, shot: Shots) -> None:
    world = workspace_on(live.runtime, seats=2)
    join(live.runtime, world, ["rev@studio.test"], "reviewer")
    join(live.runtime, world, ["dev@studio.test"], "member")
    sign_in(page, live, world)

    dev = page.get_by_role("row", name=re.compile("dev@studio.test"))
    dev.get_by_label("Role of dev@studio.test").select_option("reviewer")
    dev.get_by_role("button", name="Change role of dev@studio.test").click()
    expect(dev.get_by_role("alert")).to_have_text(
        "No seats available. You're using all 2 of your 2 seats. "
        "Upgrade your plan or remove a team member to free a seat."
    )
    expect(dev.get_by_label("Role of dev@studio.test")).to_have_value("member")
    shot(page, "promotion-refused")

    rev = page.get_by_role("row", name=re.compile("rev@studio.test"))
    rev.get_by_label("Role of rev@studio.test").select_option("member")
    rev.get_by_role("button", name="Change role of rev@studio.test").click()
    expect(page.get_by_role("status")).to_have_text("rev@studio.test is now Member.")
    expect(page.locator("#seats-used-counter")).to_have_text("1 / 2 seats used")
    expect(rev).to_contain_text("No seat")

    dev.get_by_label("Role of dev@studio.test").select_option("reviewer")
    dev.get_by_role("button", name="Change role of dev@studio.test").click()
    expect(page.locator("#seats-used-counter")).to_have_text("2 / 2 seats used")
    expect(dev).to_contain_text("Uses a seat")

    # The workspace's only admin cannot give the role away: nothing changes.
    owner = page.get_by_role("row", name=re.compile("owner@studio.test"))
    owner.get_by_label("Role of owner@studio.test").select_option("member")
    owner.get_by_role("button", name="Change role of owner@studio.test").click()
    expect(owner.get_by_role("alert")).to_contain_text("The admin role must always have a holder")
    expect(owner.get_by_label("Role of owner@studio.test")).to_have_value("admin")
    expect(page.locator("#seats-used-counter")).to_have_text("2 / 2 seats used")


def test_without_javascript_the_plain_forms_do_the_job(
    live: LiveServer, no_js_page: Page, shot: Shots
) -> None:
    page = no_js_page
    world = workspace_on(live.runtime, seats=2)
    sign_in(page, live, world)

    page.get_by_role("link", name="Invite people").click()
    expect(page).to_have_url(re.compile(r"/admin/members/invite$"))
    page.get_by_label("E-mail addresses").fill("x@studio.test, y@studio.test")
    page.get_by_role("button", name="Send invites").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "No seats available. You're using 1 of your 2 seats and this needs 2 more."
    )
    shot(page, "refused-without-js")
    page.get_by_label("E-mail addresses").fill("x@studio.test")
    page.get_by_role("button", name="Send invites").click()
    expect(page).to_have_url(re.compile(r"/admin/members$"))
    expect(page.get_by_role("status")).to_have_text("Invited x@studio.test as Reviewer.")
    expect(page.locator("#seats-used-counter")).to_have_text("2 / 2 seats used")

    page.get_by_role("link", name="Withdraw invite x@studio.test").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Withdraw the invite to x@studio.test?"
    )
    page.get_by_role("button", name="Withdraw invite").click()
    expect(page.locator("#seats-used-counter")).to_have_text("1 / 2 seats used")


def test_a_phone_sized_screen(live: LiveServer, phone_page: Page, shot: Shots) -> None:
    page = phone_page
    seed_demo(live.runtime)
    page.goto(live.link(DEMO_OWNER, account_id=DEMO_ACCOUNT_ID, workspace=DEMO_WORKSPACE))
    expect(page.locator("#seats-used-counter")).to_have_text("3 / 3 seats used")

    def fits() -> bool:
        return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))

    assert fits(), "the Members page scrolls sideways on a phone"
    # Each person is a card: the column headings become labels inside it.
    row = page.get_by_role("row", name=re.compile("sales@acme.test"))
    box = row.bounding_box()
    assert box is not None and box["width"] <= 390
    expect(page.locator("#seat-warning")).to_be_visible()
    shot(page, "members")

    page.get_by_role("link", name="Invite people").click()
    dialog = page.get_by_role("dialog", name="Invite people")
    expect(dialog).to_be_visible()
    box = dialog.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    shot(page, "invite-dialog")
    page.keyboard.press("Escape")

    page.get_by_role("link", name="Billing", exact=True).click()
    expect(page.get_by_role("heading", name="Manage seats")).to_be_visible()
    assert fits(), "the Billing page scrolls sideways on a phone"
    shot(page, "billing")


def test_signing_in_by_pasting_the_link_and_out_again(
    live: LiveServer, page: Page, shot: Shots
) -> None:
    world = workspace_on(live.runtime, seats=2)
    page.goto(live.base_url + "/admin/billing")
    expect(page).to_have_url(re.compile(r"/admin/sign-in\?next="))
    field = page.get_by_label("Sign-in link")
    field.fill("https://example.test/admin/sign-in?token=forged.token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("This sign-in link is not valid.")
    shot(page, "refused")

    link = live.link(world.owner, account_id=world.account_id, workspace=world.workspace)
    page.get_by_label("Sign-in link").fill(link)
    page.get_by_role("button", name="Sign in").click()
    # Back where the person was going before signing in.
    expect(page).to_have_url(re.compile(r"/admin/billing$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Billing")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/admin/sign-in$"))
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.goto(live.base_url + "/admin/members")
    expect(page).to_have_url(re.compile(r"/admin/sign-in\?next="))
