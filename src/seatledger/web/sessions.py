"""Who is looking at the admin pages: signed sign-in links, the session cookie, and CSRF tokens.

A person gets a session by opening a **sign-in link** (``/admin/sign-in?token=...``): a token naming
the account, the workspace and the acting person's e-mail, valid until an instant, and signed with
HMAC-SHA256 under the server's secret. Opening it sets a session cookie signed the same way, so the
server keeps no session table and any process holding the secret can serve any request.

Every page trusts only what the signature covers: the account id in the cookie is the only account
a request can read or change (a request naming another account's invoice gets "not found"), and
the person's roles are looked up again on every request, so a deactivated member loses access at
once even with a valid cookie.

The secret comes from ``SEATLEDGER_SECRET_KEY``. When it is unset, ``session_secret()`` makes a
random one and puts it in the environment, so worker processes started afterwards (``uvicorn
--workers``) share it; sessions then last until the server restarts.

Tokens carry their purpose inside the signed text (``link``, ``session``, ``flash``), so a token
made for one purpose is refused for another: a flash message can never pass for a session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from seatledger.domain.periods import require_utc
from seatledger.domain.seats import normalize_email

SECRET_ENV = "SEATLEDGER_SECRET_KEY"  # noqa: S105 (the name of a variable, not a secret)
SESSION_COOKIE = "seatledger_session"
FLASH_COOKIE = "seatledger_flash"
SESSION_LIFETIME = timedelta(hours=12)
LINK_LIFETIME = timedelta(days=7)
# A secret shorter than this is refused: HMAC-SHA256 wants at least 32 bytes of key material.
MIN_SECRET_BYTES = 32


class BadToken(Exception):
    """A token that is malformed, signed with another key, made for another purpose, or expired."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def session_secret() -> bytes:
    """The signing secret: ``SEATLEDGER_SECRET_KEY`` when set (at least 32 bytes), else a random
    one written to the environment so that processes started from this one share it."""
    configured = os.environ.get(SECRET_ENV, "")
    if not configured:
        configured = secrets.token_urlsafe(48)
        os.environ[SECRET_ENV] = configured
    key = configured.encode()
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"{SECRET_ENV} must be at least {MIN_SECRET_BYTES} bytes long")
    return key


@dataclass(frozen=True)
class Identity:
    """Who acts: a person (normalized e-mail) of an account, in one workspace of it."""

    account_id: str
    workspace: str
    email: str


@dataclass(frozen=True)
class WebSession:
    """A signed-in browser: the identity, until when, and a random id the CSRF token derives from."""

    identity: Identity
    expires_at: datetime
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, purpose: str, body: str) -> str:
    return _b64(hmac.new(secret, f"{purpose}.{body}".encode(), hashlib.sha256).digest())


def sign(secret: bytes, purpose: str, payload: dict[str, str | int]) -> str:
    """``payload`` as URL-safe text, signed for ``purpose``."""
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_mac(secret, purpose, body)}"


def unsign(secret: bytes, purpose: str, token: str) -> dict[str, object]:
    """The payload of a token signed for ``purpose``; ``BadToken`` otherwise.

    The signature is compared in constant time before the payload is even decoded."""
    body, dot, mac = token.strip().partition(".")
    if not dot or not hmac.compare_digest(mac.encode(), _mac(secret, purpose, body).encode()):
        raise BadToken("This sign-in link is not valid.")
    try:
        payload = json.loads(_unb64(body))
    except ValueError:
        raise BadToken("This sign-in link is not valid.") from None
    if not isinstance(payload, dict):
        raise BadToken("This sign-in link is not valid.")
    return payload


def _identity_payload(identity: Identity, expires_at: datetime) -> dict[str, str | int]:
    return {
        "a": identity.account_id,
        "w": identity.workspace,
        "e": identity.email,
        "x": int(require_utc(expires_at, "expires_at").timestamp()),
    }


def _read_identity(
    payload: dict[str, object], now: datetime, what: str
) -> tuple[Identity, datetime]:
    account, workspace, email, expiry = (payload.get(k) for k in ("a", "w", "e", "x"))
    if not (
        isinstance(account, str)
        and isinstance(workspace, str)
        and isinstance(email, str)
        and isinstance(expiry, int)
    ):
        raise BadToken(f"This {what} is not valid.")
    expires_at = datetime.fromtimestamp(expiry, UTC)
    # Half-open like every span here: valid strictly before ``expires_at``.
    if now >= expires_at:
        raise BadToken(f"This {what} has expired.")
    return Identity(account, workspace, email), expires_at


def make_link_token(
    secret: bytes,
    *,
    account_id: str,
    workspace: str,
    email: str,
    now: datetime,
    lifetime: timedelta = LINK_LIFETIME,
) -> str:
    """A sign-in token for ``email`` in ``workspace`` of ``account_id``, valid on
    ``[now, now + lifetime)``."""
    identity = Identity(account_id, workspace, normalize_email(email))
    return sign(secret, "link", _identity_payload(identity, now + lifetime))


def read_link_token(secret: bytes, token: str, *, now: datetime) -> Identity:
    """The identity a sign-in token names; ``BadToken`` when forged or expired."""
    identity, _ = _read_identity(unsign(secret, "link", token), now, "sign-in link")
    return identity


def sign_in_url(base_url: str, token: str) -> str:
    """The address that signs a browser in: ``{base_url}/admin/sign-in?token=...``."""
    return f"{base_url.rstrip('/')}/admin/sign-in?{urlencode({'token': token})}"


def new_session(identity: Identity, *, now: datetime) -> WebSession:
    return WebSession(identity, now + SESSION_LIFETIME, secrets.token_urlsafe(16))


def session_cookie(secret: bytes, session: WebSession) -> str:
    payload = _identity_payload(session.identity, session.expires_at)
    payload["n"] = session.nonce
    return sign(secret, "session", payload)


def read_session(secret: bytes, cookie: str | None, *, now: datetime) -> WebSession | None:
    """The session a cookie carries, or None when there is none, or it is forged or expired."""
    if not cookie:
        return None
    try:
        payload = unsign(secret, "session", cookie)
        identity, expires_at = _read_identity(payload, now, "session")
    except BadToken:
        return None
    nonce = payload.get("n")
    if not isinstance(nonce, str) or not nonce:
        return None
    return WebSession(identity, expires_at, nonce)


def csrf_token(secret: bytes, session: WebSession) -> str:
    """The token every form of this session carries: derived from the session's random id, so it
    needs no storage and a page of another session cannot post here."""
    return _mac(secret, "csrf", session.nonce)


def csrf_valid(secret: bytes, session: WebSession, offered: str | None) -> bool:
    return bool(offered) and hmac.compare_digest(
        (offered or "").encode(), csrf_token(secret, session).encode()
    )


def flash_cookie(secret: bytes, message: str) -> str:
    """A one-time notice shown by the next page (after a redirect), signed so no other site can
    put words on these pages."""
    return sign(secret, "flash", {"m": message})


def read_flash(secret: bytes, cookie: str | None) -> str | None:
    if not cookie:
        return None
    try:
        message = unsign(secret, "flash", cookie).get("m")
    except BadToken:
        return None
    return message if isinstance(message, str) else None
