"""Use cases on API keys: sign up, make a key, list and revoke keys, and recognize a request's key.

A key reads ``slk.<account id>.<key id>.<secret>``. The account and key ids find the row; only
the SHA-256 of the secret is stored, and the presented secret's hash is compared with
``hmac.compare_digest`` (constant time), so neither the database nor the timing of a refusal gives
the secret away. The secret is random (256 bits), so a plain hash is enough: there is nothing to
guess that a slow hash would protect.

A key bound to a person acts as that person. An account-wide key (no person) must name the acting
person on every request (the API's ``Seatledger-Actor`` header); that person's roles then decide.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from seatledger.domain.errors import InvalidInput, NotFound, NotPermitted
from seatledger.domain.seats import normalize_email
from seatledger.service.access import Caller, require_account_manager
from seatledger.service.context import Services
from seatledger.service.ports import Account, ApiKey, Person, UnitOfWork, new_id

TOKEN_PREFIX = "slk"  # noqa: S105 (the label every key starts with, not a secret)
ACTOR_FIELD = "Seatledger-Actor"
NAME_LENGTH = 200


@dataclass(frozen=True)
class IssuedKey:
    """A key just made: ``token`` is the only time its secret is ever shown."""

    key: ApiKey
    token: str


@dataclass(frozen=True)
class SignUp:
    """A new account, the person who opened it, and their first key (bound to them)."""

    account: Account
    person: Person
    issued: IssuedKey


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _name(name: str, default: str) -> str:
    text = name.strip() or default
    if not text:
        raise InvalidInput("name", "must not be empty")
    if len(text) > NAME_LENGTH:
        raise InvalidInput("name", f"must be at most {NAME_LENGTH} characters, got {len(text)}")
    return text


def _issue(
    uow: UnitOfWork, account_id: str, *, name: str, person_id: str | None, actor: str, at: datetime
) -> IssuedKey:
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        account_id=account_id,
        id=new_id("key"),
        name=name,
        secret_hash=_hash(secret),
        created_at=at,
        person_id=person_id,
    )
    uow.api_keys.add(key)
    uow.audit.append(
        account_id,
        at=at,
        actor=actor,
        action="create_api_key",
        target=key.id,
        after={"name": key.name, "person_id": person_id},
    )
    return IssuedKey(key=key, token=f"{TOKEN_PREFIX}.{account_id}.{key.id}.{secret}")


def sign_up(
    svc: Services,
    *,
    name: str,
    owner_email: str,
    account_id: str | None = None,
) -> SignUp:
    """Open an account for ``owner_email`` and make its first key, bound to them.

    ``account_id`` may be chosen by the caller (the API derives it from an ``Idempotency-Key``,
    so a retried sign-up finds the account it opened); ``Conflict`` if it exists.
    """
    email = normalize_email(owner_email)
    at = svc.clock.now()
    account = Account(id=account_id or new_id("acc"), name=_name(name, ""), created_at=at)
    with svc.uow() as uow:
        uow.accounts.add(account)
        person = uow.persons.ensure(account.id, email, at=at)
        issued = _issue(
            uow, account.id, name="first key", person_id=person.id, actor=person.id, at=at
        )
        uow.commit()
    return SignUp(account=account, person=person, issued=issued)


def create_api_key(
    svc: Services, *, caller: Caller, name: str = "", email: str | None = None
) -> IssuedKey:
    """A new key of the caller's account (account managers only): bound to the person with
    ``email`` (who must be a person of the account), or account-wide without one."""
    at = svc.clock.now()
    with svc.uow() as uow:
        require_account_manager(uow, caller, at)
        person_id = None
        if email is not None:
            person = uow.persons.find_by_email(caller.account_id, normalize_email(email))
            if person is None:
                raise NotFound(kind="person", key=normalize_email(email))
            person_id = person.id
        default = "account-wide key" if person_id is None else f"key for {email}"
        issued = _issue(
            uow,
            caller.account_id,
            name=_name(name, default),
            person_id=person_id,
            actor=caller.person_id,
            at=at,
        )
        uow.commit()
    return issued


def issue_operator_key(svc: Services, *, account_id: str, email: str, name: str) -> IssuedKey:
    """A key bound to the person with ``email``, made by whoever runs the server (the command
    line, e.g. ``serve --demo``), not through the API: there is no caller to check."""
    at = svc.clock.now()
    with svc.uow() as uow:
        person = uow.persons.find_by_email(account_id, normalize_email(email))
        if person is None:
            raise NotFound(kind="person", key=normalize_email(email))
        issued = _issue(
            uow, account_id, name=_name(name, ""), person_id=person.id, actor="operator", at=at
        )
        uow.commit()
    return issued


def api_keys(svc: Services, *, caller: Caller) -> tuple[ApiKey, ...]:
    """The account's keys, revoked ones included (account managers only)."""
    with svc.uow() as uow:
        require_account_manager(uow, caller, svc.clock.now())
        return uow.api_keys.for_account(caller.account_id)


def get_api_key(svc: Services, *, caller: Caller, key_id: str) -> ApiKey:
    with svc.uow() as uow:
        require_account_manager(uow, caller, svc.clock.now())
        return uow.api_keys.get(caller.account_id, key_id)


def revoke_api_key(svc: Services, *, caller: Caller, key_id: str) -> ApiKey:
    """Revoke a key for good: requests with it are refused from now on. Revoking twice keeps the
    first instant. A manager may revoke the very key they call with."""
    at = svc.clock.now()
    with svc.uow() as uow:
        require_account_manager(uow, caller, at)
        key = uow.api_keys.revoke(caller.account_id, key_id, at=at)
        uow.audit.append(
            caller.account_id,
            at=at,
            actor=caller.person_id,
            action="revoke_api_key",
            target=key.id,
            after={"revoked_at": (key.revoked_at or at).isoformat()},
        )
        uow.commit()
    return key


def _parse(token: str) -> tuple[str, str, str] | None:
    parts = token.strip().split(".")
    if len(parts) != 4 or parts[0] != TOKEN_PREFIX or not all(parts):
        return None
    return parts[1], parts[2], parts[3]


def authenticate(svc: Services, *, token: str, actor: str | None) -> Caller | None:
    """The caller a request's key and actor header stand for; ``None`` when the key is unknown,
    malformed or revoked (the API answers 401 without saying which).

    A key bound to a person acts as them: an ``actor`` naming someone else is ``NotPermitted``.
    An account-wide key needs ``actor`` (``InvalidInput`` naming the header otherwise), who must
    be a person of the account (``NotPermitted`` otherwise).
    """
    parsed = _parse(token)
    if parsed is None:
        return None
    account_id, key_id, secret = parsed
    # One read for the key and the person acting: a lookup, outside any transaction where the
    # database allows (every request pays for it).
    with svc.lookup() as uow:
        found = uow.api_keys.find_with_person(account_id, key_id, email=_email_or_none(actor))
    key, person = found if found is not None else (None, None)
    # Compared even for an unknown key, against a fixed hash, so a refusal takes as long
    # whether or not the ids exist.
    expected = key.secret_hash if key is not None else _hash("")
    matches = hmac.compare_digest(expected, _hash(secret))
    if key is None or not matches or key.revoked_at is not None:
        return None
    if key.person_id is not None:
        if person is None or person.email is None:
            return None  # the person was erased: the key died with them
        if actor is not None and _email(actor) != person.email:
            raise NotPermitted(action="act with this key", allowed_roles=(person.email,))
        return Caller(account_id, key.id, person.id, person.email)
    if actor is None or not actor.strip():
        raise InvalidInput(
            ACTOR_FIELD, "must name the person acting (an e-mail) with an account-wide key"
        )
    _email(actor)  # a malformed e-mail is refused as such
    if person is None or person.email is None:
        raise NotPermitted(action="act for this account", allowed_roles=("its people",))
    return Caller(account_id, key.id, person.id, person.email)


def _email_or_none(text: str | None) -> str | None:
    try:
        return normalize_email(text) if text is not None else None
    except InvalidInput:
        return None


def _email(text: str) -> str:
    try:
        return normalize_email(text)
    except InvalidInput:
        raise InvalidInput(
            ACTOR_FIELD, f"must be an e-mail address such as ana@example.com, got {text!r}"
        ) from None
