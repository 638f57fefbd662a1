"""Signing in with a sign-in link, and signing out."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from seatledger.domain.errors import NotFound
from seatledger.web.pages import PREFIX, Pages
from seatledger.web.queries import workspace_view
from seatledger.web.sessions import (
    SESSION_COOKIE,
    BadToken,
    new_session,
    read_link_token,
    session_cookie,
)

HOME = f"{PREFIX}/members"


def _token_from(text: str) -> str:
    """The token itself, whether the whole link or only the token was pasted."""
    text = text.strip()
    if "token=" in text:
        found = parse_qs(urlsplit(text).query).get("token")
        if found:
            return found[0]
    return text


def _safe_next(target: str | None) -> str:
    # Only a path of these pages: a sign-in link must never send anyone to another site.
    if target and target.startswith(PREFIX + "/") and not target.startswith("//"):
        return target
    return HOME


def add_sign_in_routes(router: APIRouter, pages: Pages) -> None:
    def sign_in_page(request: Request, *, error: str | None, target: str, status: int) -> Response:
        return pages.render(
            request, "sign_in.html", {"error": error, "next": target}, status=status
        )

    def sign_in_with(request: Request, token: str, target: str) -> Response:
        now = pages.svc.clock.now()
        try:
            identity = read_link_token(pages.settings.secret, _token_from(token), now=now)
        except BadToken as bad:
            return sign_in_page(request, error=bad.reason, target=target, status=400)
        try:
            view = workspace_view(
                pages.svc,
                account_id=identity.account_id,
                workspace=identity.workspace,
                actor=identity.email,
            )
        except NotFound:
            view = None
        if view is None or not view.actor_active:
            return sign_in_page(
                request,
                error=f"{identity.email} is not an active member of {identity.workspace}.",
                target=target,
                status=403,
            )
        session = new_session(identity, now=now)
        response = RedirectResponse(_safe_next(target), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            session_cookie(pages.settings.secret, session),
            max_age=(session.expires_at - now) // timedelta(seconds=1),
            path=PREFIX,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return response

    @router.get("/sign-in")
    def sign_in(request: Request, token: str = "", next: str = "") -> Response:
        if token:
            return sign_in_with(request, token, next)
        return sign_in_page(request, error=None, target=next, status=200)

    @router.post("/sign-in")
    def sign_in_form(
        request: Request,
        token: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "",
    ) -> Response:
        if not token.strip():
            return sign_in_page(
                request, error="Paste the sign-in link you were given.", target=next, status=400
            )
        return sign_in_with(request, token, next)

    @router.post("/sign-out")
    def sign_out(request: Request) -> Response:
        # Signing out needs no CSRF token: the worst a forged request can do is sign someone out.
        response = pages.redirect(request, f"{PREFIX}/sign-in", notice="You are signed out.")
        response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response
