"""Who is calling: the API key (``Authorization: Bearer slk.…``) and the acting person.

A key bound to a person (the key ``POST /v1/accounts`` returns is bound to the person who signed
up) acts as that person; ``Seatledger-Actor`` may be left out, and naming anyone else is refused
(403). An account-wide key (made with ``POST /v1/api-keys`` and no ``email``) is for a product's
backend acting for its users: every request names the person in ``Seatledger-Actor: <e-mail>``,
and that person's roles decide what the request may do.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from seatledger.api import limits
from seatledger.api.problems import unauthenticated
from seatledger.service import api_keys
from seatledger.service.access import Caller
from seatledger.service.context import Services

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key: `Authorization: Bearer slk.<account>.<key>.<secret>`.",
)

ACTOR_HEADER = api_keys.ACTOR_FIELD
CALLER_STATE = "seatledger_caller"


async def services(request: Request) -> Services:
    """The ``Services`` the app was built with."""
    svc: Services = request.app.state.services
    return svc


ServicesDep = Annotated[Services, Depends(services)]


def _token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def identify(svc: Services, request: Request) -> Caller:
    """The caller of ``request`` (kept on the request, so it is looked up once); 401 without a
    valid key. Blocking: run it in a thread from async code."""
    found: Caller | None = getattr(request.state, CALLER_STATE, None)
    if found is not None:
        return found
    token = _token(request)
    if token is None or len(token) > 512:
        raise unauthenticated()
    caller = api_keys.authenticate(svc, token=token, actor=request.headers.get(ACTOR_HEADER))
    if caller is None:
        raise unauthenticated()
    setattr(request.state, CALLER_STATE, caller)
    return caller


def current_caller(
    request: Request,
    svc: ServicesDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    _actor: Annotated[
        str | None,
        Header(
            alias=ACTOR_HEADER,
            max_length=limits.EMAIL,
            description="The e-mail of the person acting; required with an account-wide key.",
        ),
    ] = None,
) -> Caller:
    # The parameters above are declared so the OpenAPI document shows the key and the header;
    # ``identify`` reads them from the request itself.
    return identify(svc, request)


CallerDep = Annotated[Caller, Depends(current_caller)]
