"""What every admin page shares: templates, static files, the session check, CSRF and notices.

Pages are plain HTML forms first. htmx (vendored, no build step) improves them: a request it makes
carries ``HX-Request``, and the handler then answers with just the fragment to swap in instead of a
whole page. Without JavaScript the same handlers answer with whole pages and redirects.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from seatledger.domain.errors import NotFound
from seatledger.service.context import Services
from seatledger.web import formatting
from seatledger.web.queries import WorkspaceView, workspace_view
from seatledger.web.sessions import (
    FLASH_COOKIE,
    SESSION_COOKIE,
    WebSession,
    csrf_token,
    csrf_valid,
    flash_cookie,
    read_flash,
    read_session,
    session_secret,
)

PREFIX = "/admin"

# No inline script or style anywhere, so the policy can forbid them: an injected <script> would not
# run even if escaping were ever missed. htmx is told not to add its own indicator <style>.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # Sign-in links carry a token in the query string: never leak a page address to another site.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class WebSettings:
    """``secret`` signs sign-in links, session cookies and CSRF tokens; ``locale`` formats money
    and dates (Babel locale name)."""

    secret: bytes = field(default_factory=session_secret)
    locale: str = formatting.DEFAULT_LOCALE


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    media_type: str
    version: str


def _static_files() -> dict[str, StaticFile]:
    files = {}
    for entry in resources.files("seatledger.web").joinpath("static").iterdir():
        if not entry.is_file():
            continue
        body = entry.read_bytes()
        media_type = mimetypes.guess_type(entry.name)[0] or "application/octet-stream"
        if media_type.startswith("text/") or media_type.endswith("javascript"):
            media_type += "; charset=utf-8"
        files[entry.name] = StaticFile(body, media_type, hashlib.sha256(body).hexdigest()[:12])
    return files


@dataclass(frozen=True)
class Signed:
    """A request from a signed-in person who is an active member of their workspace."""

    session: WebSession
    view: WorkspaceView


class Pages:
    """The admin pages' shared machinery, built once per router."""

    def __init__(self, svc: Services, settings: WebSettings) -> None:
        self.svc = svc
        self.settings = settings
        self.static = _static_files()
        self.env = Environment(
            loader=PackageLoader("seatledger.web", "templates"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        locale = settings.locale
        self.env.filters.update(
            money=lambda value: formatting.money(value, locale),
            day=lambda at: formatting.day(at, locale),
            span=formatting.span,
            role_label=formatting.role_label,
            plural=formatting.plural,
            interval_label=formatting.interval_label,
            per_interval=formatting.per_interval,
            days=formatting.days_text,
            urlquote=lambda text: quote(str(text), safe=""),
        )
        self.env.globals.update(
            static=self.static_url,
            prefix=PREFIX,
            line_kind_labels=formatting.LINE_KIND_LABELS,
            prorated_kinds=formatting.PRORATED_KINDS,
            duration_days=formatting.duration_days,
        )

    def static_url(self, name: str) -> str:
        return f"{PREFIX}/static/{name}?v={self.static[name].version}"

    # --- sessions --------------------------------------------------------------------------------

    def session(self, request: Request) -> WebSession | None:
        return read_session(
            self.settings.secret, request.cookies.get(SESSION_COOKIE), now=self.svc.clock.now()
        )

    def signed_in(self, request: Request) -> Signed | Response:
        """The signed-in member, or the response to give instead: the sign-in page for no (or a
        forged, or an expired) session, a refusal for someone no longer an active member."""
        session = self.session(request)
        if session is None:
            target = request.url.path
            if request.url.query:
                target += "?" + request.url.query
            location = f"{PREFIX}/sign-in?next={quote(target, safe='')}"
            if is_htmx(request):
                # htmx would swap a redirect's page into a fragment: ask for a full navigation.
                return Response(status_code=204, headers={"HX-Redirect": location})
            return RedirectResponse(location, status_code=303)
        identity = session.identity
        try:
            view = workspace_view(
                self.svc,
                account_id=identity.account_id,
                workspace=identity.workspace,
                actor=identity.email,
            )
        except NotFound:
            return self.refusal(request, session, "This workspace no longer exists.")
        if not view.actor_active:
            return self.refusal(
                request,
                session,
                f"{identity.email} is not an active member of {identity.workspace}: "
                "ask an admin of the workspace to reactivate you, or sign in as someone else.",
            )
        return Signed(session, view)

    def refusal(self, request: Request, session: WebSession, message: str) -> Response:
        return self.render(
            request,
            "refused.html",
            {"message": message, "email": session.identity.email},
            session=session,
            status=403,
        )

    def csrf_ok(self, request: Request, session: WebSession, form_token: str) -> bool:
        offered = form_token or request.headers.get("X-CSRF-Token")
        return csrf_valid(self.settings.secret, session, offered)

    def csrf_refusal(self, request: Request, session: WebSession) -> Response:
        return self.refusal(
            request,
            session,
            "This form has expired (it was opened in an earlier session). Reload the page and "
            "try again.",
        )

    # --- responses -------------------------------------------------------------------------------

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any],
        *,
        session: WebSession | None = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        # A notice belongs to the page a redirect leads to, never to a fragment htmx swaps in.
        flash = (
            None
            if is_htmx(request)
            else read_flash(self.settings.secret, request.cookies.get(FLASH_COOKIE))
        )
        csrf = csrf_token(self.settings.secret, session) if session is not None else ""
        html = self.env.get_template(template).render(
            {
                "request_path": request.url.path,
                "csrf": csrf,
                "hx_headers": json.dumps({"X-CSRF-Token": csrf}),
                "identity": session.identity if session is not None else None,
                "flash": flash,
                **context,
            }
        )
        response = HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS})
        for name, value in (headers or {}).items():
            response.headers[name] = value
        if flash is not None:
            response.delete_cookie(FLASH_COOKIE, path=PREFIX)
        return response

    def redirect(self, request: Request, location: str, *, notice: str | None = None) -> Response:
        """303 to ``location`` (a full navigation under htmx), with a one-time notice."""
        if is_htmx(request):
            response: Response = Response(status_code=204, headers={"HX-Redirect": location})
        else:
            response = RedirectResponse(location, status_code=303)
        if notice is not None:
            response.set_cookie(
                FLASH_COOKIE,
                flash_cookie(self.settings.secret, notice),
                path=PREFIX,
                httponly=True,
                samesite="lax",
                secure=request.url.scheme == "https",
            )
        return response

    def static_response(self, name: str) -> Response:
        found = self.static.get(name)
        if found is None:
            return Response("Not found", status_code=404, media_type="text/plain")
        return Response(
            found.body,
            media_type=found.media_type,
            headers={
                # Addressed by content hash (?v=...), so a browser may keep it for good.
                "Cache-Control": "public, max-age=31536000, immutable",
                "X-Content-Type-Options": "nosniff",
            },
        )


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def hx_trigger(events: Mapping[str, object]) -> dict[str, str]:
    """The header that makes htmx fire ``events`` on the page once the answer is swapped in."""
    return {"HX-Trigger-After-Swap": json.dumps(events)}
