"""The HTTP API: FastAPI, JSON under ``/v1``, problem+json errors, API keys, idempotent writes,
webhooks. One folder per resource, each with ``schemas.py`` (``XCreate`` / ``XRead``...) and
``endpoints.py`` (its router); ``app.create_app`` puts them together."""

from seatledger.api.app import ApiSettings, create_app

__all__ = ["ApiSettings", "create_app"]
