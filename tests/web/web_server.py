"""The test harness of the admin pages: the app served by uvicorn on a free 127.0.0.1 port in a
background thread, and screenshots named after the test."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Page

from seatledger.bootstrap import Runtime, bootstrap
from seatledger.clock import ManualClock
from seatledger.web import WebSettings, sign_in_link, web_router

CLOCK_START = datetime(2026, 4, 1, tzinfo=UTC)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
SECRET = b"web-tests-secret-0123456789abcdef-0123456789"


def build_app(runtime: Runtime, settings: WebSettings) -> FastAPI:
    """A small app of the tests' own with the admin pages mounted, as the service's app mounts
    them (``app.include_router(web_router(runtime))``)."""
    app = FastAPI()
    app.include_router(web_router(runtime, settings))
    return app


@dataclass
class LiveServer:
    """The pages on a real port, and what a test needs to arrange the world behind them."""

    base_url: str
    runtime: Runtime
    clock: ManualClock
    settings: WebSettings

    def link(self, email: str, *, account_id: str, workspace: str) -> str:
        return sign_in_link(
            self.runtime,
            base_url=self.base_url,
            account_id=account_id,
            workspace=workspace,
            email=email,
            secret=self.settings.secret,
        )


def _serve(app: FastAPI) -> tuple[str, Callable[[], None]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

    return f"http://127.0.0.1:{port}", stop


def start_server(url: str, clock: ManualClock) -> Iterator[LiveServer]:
    runtime = bootstrap(url, clock=clock)
    settings = WebSettings(secret=SECRET)
    base_url, stop = _serve(build_app(runtime, settings))
    try:
        yield LiveServer(base_url, runtime, clock, settings)
    finally:
        stop()
        runtime.dispose()


def artifact_name(request: pytest.FixtureRequest, suffix: str = "") -> Path:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{stem}{suffix}.png"


@dataclass
class Shots:
    """Screenshots of one test, named after it."""

    request: pytest.FixtureRequest

    def __call__(self, page: Page, step: str) -> None:
        page.screenshot(path=artifact_name(self.request, f"--{step}"), full_page=True)
