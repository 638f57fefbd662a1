"""The admin pages served for real: uvicorn on a free 127.0.0.1 port in a background thread, over
a fresh database, and Debian's headless Chromium driven by Playwright.

Each test gets its own database, clock and server (a server starts in well under a second); the
browser is started once per test process. Playwright never downloads a browser here: it launches
``/usr/bin/chromium`` (``scripts/ensure-chromium`` installs it). Every browser test leaves a
screenshot of where it ended in ``test-artifacts/web/`` (git-ignored), next to the ones it takes on
the way.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from web_server import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CLOCK_START,
    LiveServer,
    Shots,
    artifact_name,
    start_server,
)

from seatledger.clock import ManualClock


@pytest.fixture
def web_clock() -> ManualClock:
    return ManualClock(CLOCK_START)


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh migrated SQLite file (browser tests run on SQLite; the flows that matter most run
    on PostgreSQL too, through ``database_url``)."""
    path = tmp_path / "web.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def live(sqlite_url: str, web_clock: ManualClock) -> Iterator[LiveServer]:
    yield from start_server(sqlite_url, web_clock)


@pytest.fixture
def live_any(database_url: str, web_clock: ManualClock) -> Iterator[LiveServer]:
    """The server on SQLite and on PostgreSQL (parametrized by ``database_url``)."""
    yield from start_server(database_url, web_clock)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shots:
    return Shots(request)


def _new_page(browser: Browser, request: pytest.FixtureRequest, **options: Any) -> Iterator[Page]:
    context = browser.new_context(**options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        yield page
    finally:
        page.screenshot(path=artifact_name(request), full_page=True)
        context.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser profile (no cookies) at a laptop's size; screenshot taken at the end."""
    yield from _new_page(browser, request, viewport={"width": 1280, "height": 860})


@pytest.fixture
def phone_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A phone-sized, touch-enabled profile (390 x 844 CSS pixels)."""
    yield from _new_page(
        browser,
        request,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )


@pytest.fixture
def no_js_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A profile with JavaScript switched off: the plain forms must do the job alone."""
    yield from _new_page(
        browser, request, viewport={"width": 1280, "height": 860}, java_script_enabled=False
    )
