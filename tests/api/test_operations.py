"""What operators and client authors rely on: the OpenAPI document, /docs, /healthz, /metrics, and
``seatledger serve`` itself (a real uvicorn process on 127.0.0.1)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from api_helpers import TestClient, sign_up, subscribe

PUBLIC = {("post", "/v1/accounts"), ("get", "/healthz"), ("get", "/metrics")}


def test_the_openapi_document_describes_every_operation(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    operations = [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]
    assert len(operations) >= 45
    for method, path, operation in operations:
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), where
        if (method, path) in PUBLIC:
            continue
        assert operation.get("security") == [{"ApiKey": []}], where
        for status in ("401", "403", "404", "409", "422"):
            content = operation["responses"][status]["content"]
            assert list(content) == ["application/problem+json"], f"{where} {status}"


def test_docs_and_health(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text.lower()
    assert client.get("/healthz").json() == {"status": "ok", "version": "0.1.0"}


def test_metrics_count_requests_by_route_template_not_by_id(client: TestClient) -> None:
    owner = sign_up(client)["headers"]
    ws = subscribe(client, owner)["subscription"]["workspaces"][0]["id"]
    for _ in range(3):
        client.get(f"/v1/workspaces/{ws}/seats", headers=owner)
    client.get("/v1/workspaces/ws_unknown/seats", headers=owner)
    text = client.get("/metrics").text
    assert ws not in text
    line = re.search(
        r'seatledger_http_requests_total\{method="GET",route="/v1/workspaces/\{workspace_id\}/seats",'
        r'status="200"\} (\d+)',
        text,
    )
    assert line is not None and float(line.group(1)) == 3
    assert 'route="/v1/workspaces/{workspace_id}/seats",status="404"} 1.0' in text
    assert "seatledger_http_request_duration_seconds_bucket" in text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def seatledger() -> str:
    return str(Path(sys.executable).with_name("seatledger"))


Serve = Callable[..., tuple[str, str]]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """Start ``seatledger serve`` on a database with some options, wait until it answers, and
    stop it after the test; gives the base URL and what it printed."""
    started: list[subprocess.Popen[str]] = []

    def start(database_url: str, *options: str) -> tuple[str, str]:
        port = free_port()
        log = tmp_path / f"serve-{port}.log"
        process = subprocess.Popen(
            [seatledger(), "serve", "--port", str(port), "--database", database_url, *options],
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        started.append(process)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return base, log.read_text()
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError(f"serve did not answer: {log.read_text()}")

    yield start
    for process in started:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_serve_demo_prints_a_key_that_opens_the_demo_account(
    serve: Serve, database_url: str
) -> None:
    base, output = serve(database_url, "--demo")
    token = re.search(r"API key \(shown once\): (\S+)", output)
    assert token is not None, output
    answer = httpx.get(
        f"{base}/v1/workspaces", headers={"Authorization": f"Bearer {token.group(1)}"}
    )
    assert answer.status_code == 200
    assert [w["name"] for w in answer.json()["items"]] == ["acme"]


def test_serve_with_several_workers_shares_one_database(serve: Serve, tmp_path: Path) -> None:
    # One database is enough here: the processes share whichever the URL names.
    base, _ = serve(f"sqlite:///{tmp_path / 'shared.db'}", "--workers", "2")
    signed_up = httpx.post(
        f"{base}/v1/accounts", json={"name": "Acme", "owner_email": "ana@acme.test"}
    )
    assert signed_up.status_code == 201
    headers = {"Authorization": f"Bearer {signed_up.json()['token']}"}
    # Whichever process answers, the account is there: the processes hold no state.
    answers = [httpx.get(f"{base}/v1/account", headers=headers) for _ in range(6)]
    assert {a.json()["id"] for a in answers} == {signed_up.json()["account"]["id"]}
