"""``/v1/api-keys``: make, list, show and revoke the account's keys (account managers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request
from fastapi.responses import JSONResponse

from seatledger.api.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from seatledger.api.idempotency import answer_once
from seatledger.api.pagination import CursorQuery, LimitQuery, Page, paginate
from seatledger.api.routing import path_id, resource_router
from seatledger.api.security import CallerDep, ServicesDep
from seatledger.service import api_keys
from seatledger.service.context import Services

router = resource_router("api keys")

KeyId = Annotated[str, path_id("An API key id (`key_…`).")]


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated, summary="Make a key")
def create_api_key(
    body: ApiKeyCreate, request: Request, caller: CallerDep, svc: ServicesDep
) -> JSONResponse:
    """A new key: bound to the person with ``email``, or account-wide without one. The answer's
    ``token`` is the key, shown this once."""

    def run(s: Services) -> ApiKeyCreated:
        issued = api_keys.create_api_key(s, caller=caller, name=body.name, email=body.email)
        return ApiKeyCreated(api_key=ApiKeyRead.of(issued.key), token=issued.token)

    return answer_once(request, svc, caller, run, body=body, status=201)


@router.get("/api-keys", response_model=Page[ApiKeyRead], summary="The account's keys")
def list_api_keys(
    caller: CallerDep, svc: ServicesDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[ApiKeyRead]:
    keys = api_keys.api_keys(svc, caller=caller)
    items, next_cursor = paginate(
        keys,
        key=lambda k: (k.created_at.isoformat(), k.id),
        limit=limit,
        cursor=cursor,
        read=ApiKeyRead.of,
    )
    return Page[ApiKeyRead](items=items, next_cursor=next_cursor)


@router.get("/api-keys/{key_id}", response_model=ApiKeyRead, summary="A key")
def get_api_key(key_id: KeyId, caller: CallerDep, svc: ServicesDep) -> ApiKeyRead:
    return ApiKeyRead.of(api_keys.get_api_key(svc, caller=caller, key_id=key_id))


@router.delete("/api-keys/{key_id}", response_model=ApiKeyRead, summary="Revoke a key")
def revoke_api_key(
    key_id: KeyId, request: Request, caller: CallerDep, svc: ServicesDep
) -> JSONResponse:
    """Revoke a key for good: its requests are refused (401) from now on."""
    return answer_once(
        request,
        svc,
        caller,
        lambda s: ApiKeyRead.of(api_keys.revoke_api_key(s, caller=caller, key_id=key_id)),
    )
