"""Idempotency keys: a write retried with the same key is answered from its first run, not redone.

Every write the API offers runs through ``run_idempotent``::

    answer = run_idempotent(
        svc,
        account_id=account_id,
        key=request.headers["Idempotency-Key"],
        request={"op": "invite_members", "workspace": "main", "emails": [...], "role": "member"},
        call=lambda svc: members.invite_members(svc, account_id=..., ...),
        encode=change_json,
    )
    answer.response   # the JSON to send back; answer.replayed says it was stored before

``request`` is everything that makes two requests the same (the operation, its arguments, who
acts); it is kept as a SHA-256 of its canonical JSON. ``call`` receives the ``Services`` to run on
and must use them: they are what puts its writes into the key's transaction.

The guarantee, on SQLite and PostgreSQL:

- The key, the request hash and the encoded response are written in the same database
  transaction as everything the call writes (the use cases' own units of work are joined to it
  as savepoints). Either the change and its key are both stored, or neither is: a crash never
  leaves a change without its key, nor a key without its change.
- A key seen before with the same request returns the stored response and changes nothing; with a
  different request it is refused with ``Conflict``.
- Two requests with one key at the same moment make exactly one change. On SQLite the second
  waits for the first's transaction (``BEGIN IMMEDIATE``) and then finds the key. On PostgreSQL
  both may run, but the key's unique index lets one commit: the other's insert of the key waits
  for it, fails, rolls its whole transaction back (its change with it) and answers with the
  stored response.
- A refused request (a ``SeatLedgerError``) stores nothing: the same key may be retried, and the
  retry runs again, since a seat limit reached now may not be reached later. An unexpected error
  stores nothing either.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from seatledger.domain.errors import Conflict, InvalidInput, SeatLedgerError
from seatledger.service.context import Services
from seatledger.service.ports import IdempotencyRecord, Json, UnitOfWork

T = TypeVar("T")

# The longest key the store keeps (idempotency_keys.key).
KEY_LENGTH = 255


@dataclass(frozen=True)
class IdempotentResponse:
    """The response to send: from this run (``replayed`` false) or stored by the first one."""

    response: Json
    replayed: bool


def request_hash(request: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of ``request`` as canonical JSON: keys sorted, no spaces; values JSON cannot
    hold (dates, decimals) as their ``str``. Two mappings equal as JSON have the same hash."""
    canonical = json.dumps(
        request, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def run_idempotent(
    svc: Services,
    *,
    account_id: str,
    key: str,
    request: Mapping[str, Any],
    call: Callable[[Services], T],
    encode: Callable[[T], Json],
) -> IdempotentResponse:
    """Run ``call`` once per (``account_id``, ``key``) and answer every repeat from the store.

    See the module docstring for the guarantee. ``InvalidInput`` (field ``idempotency_key``) for
    an empty key or one longer than 255 characters; ``Conflict`` when the key was used with
    another request; a refusal of ``call`` is raised as it is.
    """
    key = _checked(key)
    digest = request_hash(request)
    with svc.uow() as uow:
        stored = uow.idempotency.get(account_id, key)
        if stored is not None:
            return _replay(stored, digest)
        try:
            result = call(replace(svc, uow=uow.joined))
        except SeatLedgerError:
            # Refused, perhaps because a request with this key committed its change meanwhile
            # (PostgreSQL: it held the lock this one waited for): then answer as it did.
            stored = _stored_after_rollback(uow, account_id, key)
            if stored is None:
                raise
            return _replay(stored, digest)
        response = _as_stored(encode(result))
        record = IdempotencyRecord(
            account_id=account_id,
            key=key,
            request_hash=digest,
            response=response,
            created_at=svc.clock.now(),
        )
        try:
            uow.idempotency.put(record)
        except Conflict:
            # A concurrent request with this key committed first: undo this run's change.
            stored = _stored_after_rollback(uow, account_id, key)
            if stored is None:
                raise
            return _replay(stored, digest)
        uow.commit()
    return IdempotentResponse(response=response, replayed=False)


def _checked(key: str) -> str:
    if not isinstance(key, str) or not key.strip():
        raise InvalidInput("idempotency_key", "must not be empty")
    if len(key) > KEY_LENGTH:
        raise InvalidInput("idempotency_key", f"must be at most {KEY_LENGTH} characters")
    return key


def _replay(stored: IdempotencyRecord, digest: str) -> IdempotentResponse:
    if stored.request_hash != digest:
        raise Conflict(
            f"Idempotency key {stored.key!r} was used with a different request: "
            "send a new key for a new request."
        )
    return IdempotentResponse(response=stored.response, replayed=True)


def _stored_after_rollback(uow: UnitOfWork, account_id: str, key: str) -> IdempotencyRecord | None:
    """Undo this run, then look for the key again (in a new transaction, which sees what a
    concurrent request committed)."""
    uow.rollback()
    return uow.idempotency.get(account_id, key)


def _as_stored(response: Json) -> Json:
    """The response exactly as a replay will read it back (JSON types only), so the first answer
    and every repeat are equal."""
    loaded = json.loads(json.dumps(response))
    if not isinstance(loaded, dict):
        raise TypeError(f"an idempotent response is a JSON object, got {type(response).__name__}")
    return loaded
