"""Webhooks: events written with each change are delivered to real HTTP receivers on 127.0.0.1,
signed with HMAC-SHA256, in order per endpoint, retried with backoff, and each delivered once."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from api_helpers import TestClient, sign_up, subscribe
from sqlalchemy import event

from seatledger.api import ApiSettings, create_app
from seatledger.api.deliverer import HttpSender
from seatledger.bootstrap import Runtime
from seatledger.clock import ManualClock
from seatledger.service import webhooks


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int
    path: str = ""

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """An HTTP server that answers with ``script`` (one status per request, then 200)."""

    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def answer(self) -> int:
        return self.script.pop(0) if self.script else 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                status = state.answer()
                state.received.append(Received(dict(self.headers.items()), body, status, self.path))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def register(client: TestClient, owner: dict[str, str], url: str, **extra: Any) -> str:
    """Add an endpoint; its signing secret."""
    return str(add_endpoint(client, owner, url, **extra)["secret"])


def add_endpoint(
    client: TestClient, owner: dict[str, str], url: str, **extra: Any
) -> dict[str, Any]:
    response = client.post("/v1/webhook-endpoints", headers=owner, json={"url": url, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["secret"].startswith("whsec_")
    return body


def verify(secret: str, received: Received) -> None:
    """What a receiver does: recompute the signature over the timestamp and the raw body."""
    parts = dict(p.split("=", 1) for p in received.headers["Seatledger-Signature"].split(","))
    signed = f"{parts['t']}.".encode() + received.body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)


def deliver(runtime: Runtime, clock: ManualClock, sender: HttpSender) -> list[webhooks.Attempt]:
    webhooks.dispatch_events(runtime)
    return webhooks.deliver_due(runtime, sender)


def test_a_receiver_failing_twice_gets_each_event_once_in_order(
    client: TestClient, runtime: Runtime, clock: ManualClock, receiver: Receiver
) -> None:
    owner = sign_up(client)["headers"]
    secret = register(client, owner, receiver.url)
    clock.advance(timedelta(seconds=1))
    ws = subscribe(client, owner, seats=5)["subscription"]["workspaces"][0]["id"]
    client.post(
        f"/v1/workspaces/{ws}/invitations",
        headers=owner,
        json={"emails": ["bo@acme.test", "cy@acme.test"], "role": "member"},
    )
    events = client.get("/v1/events", headers=owner).json()["items"]
    receiver.script = [500, 503]
    sender = HttpSender(timeout=5)
    try:
        first = deliver(runtime, clock, sender)
        assert [a.status_code for a in first] == [500]  # the next events wait their turn
        clock.advance(webhooks.exponential_backoff(1) - timedelta(seconds=1))
        assert deliver(runtime, clock, sender) == []  # not due yet
        clock.advance(timedelta(seconds=1))
        assert [a.status_code for a in deliver(runtime, clock, sender)] == [503]
        clock.advance(webhooks.exponential_backoff(2))
        rest = deliver(runtime, clock, sender)
        assert [a.status_code for a in rest] == [200] * len(events)
        assert deliver(runtime, clock, sender) == []
    finally:
        sender.close()
    delivered = [r for r in receiver.received if r.answered == 200]
    assert [r.event["seq"] for r in delivered] == [e["seq"] for e in events]
    assert [r.event["type"] for r in delivered] == [e["type"] for e in events]
    assert [r.event["seq"] for r in receiver.received[:3]] == [events[0]["seq"]] * 3
    for received in receiver.received:
        verify(secret, received)
        assert received.headers["Seatledger-Event"] == received.event["type"]
    endpoint = client.get("/v1/webhook-endpoints", headers=owner).json()["items"][0]["id"]
    rows = client.get(f"/v1/webhook-endpoints/{endpoint}/deliveries", headers=owner).json()
    assert [d["attempts"] for d in rows["items"]] == [3] + [1] * (len(events) - 1)
    assert {d["status"] for d in rows["items"]} == {"delivered"}


def test_a_tampered_body_fails_the_signature_check(
    client: TestClient, runtime: Runtime, clock: ManualClock, receiver: Receiver
) -> None:
    owner = sign_up(client)["headers"]
    secret = register(client, owner, receiver.url)
    subscribe(client, owner)
    sender = HttpSender(timeout=5)
    try:
        deliver(runtime, clock, sender)
    finally:
        sender.close()
    original = receiver.received[0]
    tampered = Received(original.headers, original.body.replace(b'"seats":3', b'"seats":9'), 200)
    assert tampered.body != original.body
    with pytest.raises(AssertionError):
        verify(secret, tampered)
    verify(secret, original)


def test_endpoints_get_only_their_event_types_and_nothing_once_disabled(
    client: TestClient, runtime: Runtime, clock: ManualClock, receiver: Receiver
) -> None:
    owner = sign_up(client)["headers"]
    register(client, owner, receiver.url, event_types=["seats.changed"])
    everything = add_endpoint(client, owner, receiver.url + "/all")["endpoint"]["id"]
    ws = subscribe(client, owner)["subscription"]["workspaces"][0]["id"]
    client.put(f"/v1/workspaces/{ws}/seats", headers=owner, json={"seats": 4})
    disabled = client.delete(f"/v1/webhook-endpoints/{everything}", headers=owner)
    assert disabled.json()["disabled_at"] is not None
    sender = HttpSender(timeout=5)
    try:
        deliver(runtime, clock, sender)
    finally:
        sender.close()
    assert [r.event["type"] for r in receiver.received] == ["seats.changed"]


def test_handing_on_a_batch_of_events_takes_the_same_statements_however_many(
    client: TestClient, runtime: Runtime, clock: ManualClock, receiver: Receiver
) -> None:
    # Two accounts with an endpoint each, and one without: the batch's events are claimed, their
    # endpoints read, their deliveries added and the events marked in one statement each.
    for i, endpoints in enumerate((1, 1, 0)):
        owner = sign_up(client, email=f"owner{i}@acme.test", name=f"Acme {i}")["headers"]
        if endpoints:
            register(client, owner, f"{receiver.url}/{i}")
        ws = subscribe(client, owner)["subscription"]["workspaces"][0]["id"]
        for seats in (4, 5, 6):
            response = client.put(
                f"/v1/workspaces/{ws}/seats", headers=owner, json={"seats": seats}
            )
            assert response.status_code == 200, response.text
    assert runtime.engine is not None
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(runtime.engine, "before_cursor_execute", record)
    try:
        handed_on = webhooks.dispatch_events(runtime)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", record)
    writes = [s.split()[0] for s in statements if s.split()[0] in ("INSERT", "UPDATE")]
    assert handed_on >= 12  # each account's subscription and three seat changes, at least
    assert writes == ["INSERT", "UPDATE"]
    assert len([s for s in statements if s.lstrip().startswith("SELECT")]) == 2
    sender = HttpSender(timeout=5)
    try:
        attempts = webhooks.deliver_due(runtime, sender)
    finally:
        sender.close()
    # Each endpoint got its account's events once, in order; the third account's went nowhere.
    assert len(attempts) == len(receiver.received) > 2 * 3
    paths = {r.path for r in receiver.received}
    assert paths == {"/hooks/0", "/hooks/1"}
    for path in paths:
        seqs = [r.event["seq"] for r in receiver.received if r.path == path]
        assert seqs == sorted(set(seqs)) and len(seqs) >= 3


def test_an_endpoint_that_never_answers_gives_up_and_lets_later_events_through(
    client: TestClient, runtime: Runtime, clock: ManualClock
) -> None:
    owner = sign_up(client)["headers"]
    register(client, owner, "http://127.0.0.1:9/nobody-listens")
    subscribe(client, owner)
    sender = HttpSender(timeout=2)
    try:
        webhooks.dispatch_events(runtime)
        tries = 0
        while tries < 20 and webhooks.deliver_due(runtime, sender, max_attempts=2):
            tries += 1
            clock.advance(timedelta(hours=1))
    finally:
        sender.close()
    endpoint = client.get("/v1/webhook-endpoints", headers=owner).json()["items"][0]["id"]
    rows = client.get(f"/v1/webhook-endpoints/{endpoint}/deliveries", headers=owner).json()
    assert [d["status"] for d in rows["items"]] == ["failed", "failed"]
    assert all(d["attempts"] == 2 and d["last_error"] for d in rows["items"])


def test_the_server_delivers_in_the_background(
    runtime: Runtime, clock: ManualClock, receiver: Receiver
) -> None:
    app = create_app(runtime, ApiSettings(webhook_interval=0.05))
    with TestClient(app) as client:
        owner = sign_up(client)["headers"]
        register(client, owner, receiver.url)
        subscribe(client, owner)
        events = client.get("/v1/events", headers=owner).json()["items"]
        deadline = time.monotonic() + 15
        while len(receiver.received) < len(events) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [r.event["seq"] for r in receiver.received] == [e["seq"] for e in events]
