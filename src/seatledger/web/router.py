"""The admin pages as one FastAPI router, mounted by the app factory under ``/admin``."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import Response

from seatledger.service.context import Services
from seatledger.service.demo import DEMO_ACCOUNT_ID, DEMO_OWNER, DEMO_WORKSPACE
from seatledger.web.billing import add_billing_routes
from seatledger.web.members import add_member_routes
from seatledger.web.pages import PREFIX, Pages, WebSettings
from seatledger.web.sessions import LINK_LIFETIME, make_link_token, session_secret, sign_in_url
from seatledger.web.signin import add_sign_in_routes


def web_router(svc: Services, settings: WebSettings | None = None) -> APIRouter:
    """The admin pages (sign-in, Members, Billing, invoices) on ``svc``, under ``/admin``.

    ``settings`` defaults to the secret from ``SEATLEDGER_SECRET_KEY`` (made up and exported when
    unset, see ``seatledger.web.sessions``) and English formatting. The routes stay out of the
    OpenAPI document: they answer HTML, not the API's JSON.
    """
    pages = Pages(svc, settings or WebSettings())
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    @router.get("/static/{name}")
    def static(name: str) -> Response:
        return pages.static_response(name)

    add_sign_in_routes(router, pages)
    add_member_routes(router, pages)
    add_billing_routes(router, pages)
    return router


def sign_in_link(
    svc: Services,
    *,
    base_url: str,
    account_id: str,
    workspace: str,
    email: str,
    secret: bytes | None = None,
    lifetime: timedelta = LINK_LIFETIME,
) -> str:
    """A link that signs a browser in as ``email`` acting in ``workspace`` of ``account_id``,
    valid for ``lifetime`` from now (the services' clock). ``secret`` defaults to the one
    ``web_router`` uses by default."""
    token = make_link_token(
        secret or session_secret(),
        account_id=account_id,
        workspace=workspace,
        email=email,
        now=svc.clock.now(),
        lifetime=lifetime,
    )
    return sign_in_url(base_url, token)


def demo_sign_in_link(svc: Services, *, base_url: str, secret: bytes | None = None) -> str:
    """The link ``seatledger serve --demo`` prints: the demo workspace's owner, signed in."""
    return sign_in_link(
        svc,
        base_url=base_url,
        account_id=DEMO_ACCOUNT_ID,
        workspace=DEMO_WORKSPACE,
        email=DEMO_OWNER,
        secret=secret,
    )
