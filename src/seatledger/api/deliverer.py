"""Delivering webhooks from a running server: an HTTP sender and a background worker.

The worker is a daemon thread started with the app: every ``interval`` seconds it hands new
outbox events to the endpoints and sends what is due (``service/webhooks``). Each process of
``serve --workers N`` runs one; leases keep them from sending one delivery twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

import httpx

from seatledger.service import webhooks
from seatledger.service.context import Services

log = logging.getLogger("seatledger.webhooks")


class HttpSender:
    """Sends webhooks with httpx; no answer within ``timeout`` seconds is a failed attempt."""

    def __init__(self, timeout: float = 10.0) -> None:
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        try:
            response = self._client.post(url, content=body, headers=dict(headers))
        except httpx.TimeoutException as exc:
            raise TimeoutError(str(exc) or "timed out") from exc
        except httpx.HTTPError as exc:
            raise ConnectionError(str(exc) or type(exc).__name__) from exc
        return response.status_code

    def close(self) -> None:
        self._client.close()


class WebhookWorker:
    """Runs ``dispatch_events`` and ``deliver_due`` every ``interval`` seconds until stopped."""

    def __init__(self, svc: Services, *, interval: float = 1.0) -> None:
        self.svc, self.interval = svc, interval
        self.sender = HttpSender()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="seatledger-webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.sender.close()

    def run_once(self) -> None:
        webhooks.dispatch_events(self.svc)
        webhooks.deliver_due(self.svc, self.sender)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                # A database hiccup must not end the worker: log it and try again next round.
                log.exception("Webhook delivery round failed")
            self._stop.wait(self.interval)
