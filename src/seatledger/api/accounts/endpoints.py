"""``/v1/accounts``, ``/v1/account``, credit, the audit log and catching billing up."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from seatledger.api import limits
from seatledger.api.accounts.schemas import (
    AccountCreate,
    AccountCreated,
    AccountRead,
    AuditEntryRead,
    BalanceRead,
    BillingRunRead,
    CreditBalanceRead,
    CreditEntryRead,
)
from seatledger.api.api_keys.schemas import ApiKeyRead
from seatledger.api.idempotency import answer_once, idempotency_header, key_of, respond_once
from seatledger.api.pagination import CursorQuery, LimitQuery, Page, paginate
from seatledger.api.problems import problem_responses
from seatledger.api.routing import AccountId, resource_router
from seatledger.api.schemas import InvoiceRead, amount
from seatledger.api.security import CallerDep, ServicesDep
from seatledger.domain.errors import NotFound
from seatledger.service import api_keys, billing, listings
from seatledger.service.access import require_manager
from seatledger.service.context import Services

signup = APIRouter(prefix="/v1", tags=["accounts"], responses=problem_responses(409, 413, 422))
router = resource_router("accounts")


def signup_account_id(key: str) -> str:
    """The id a sign-up with this ``Idempotency-Key`` gets, so a retry finds its account."""
    return "acc_" + hashlib.sha256(f"sign-up:{key}".encode()).hexdigest()[:24]


def _answer(done: api_keys.SignUp) -> AccountCreated:
    return AccountCreated(
        account=AccountRead.of(done.account),
        person_id=done.person.id,
        api_key=ApiKeyRead.of(done.issued.key),
        token=done.issued.token,
    )


@signup.post(
    "/accounts",
    status_code=201,
    response_model=AccountCreated,
    dependencies=[Depends(idempotency_header)],
    summary="Sign up: open an account and get its first API key",
)
def create_account(body: AccountCreate, request: Request, svc: ServicesDep) -> JSONResponse:
    """Open an account for ``owner_email``; the answer holds the first API key (bound to that
    person), shown only this once. No key is needed to sign up.

    With an ``Idempotency-Key`` the account id is derived from the key, so a retry finds the
    account it opened and gets the first answer again (without the key's secret)."""
    key = key_of(request)
    account_id = signup_account_id(key) if key is not None else None

    def open_account(s: Services) -> AccountCreated:
        done = api_keys.sign_up(
            s, name=body.name, owner_email=body.owner_email, account_id=account_id
        )
        return _answer(done)

    if account_id is None:
        return JSONResponse(open_account(svc).model_dump(mode="json"), status_code=201)
    return respond_once(
        request,
        svc,
        account_id=account_id,
        actor=body.owner_email,
        body=body,
        run=open_account,
        status=201,
    )


@router.get("/account", response_model=AccountRead, summary="The caller's account")
def get_current_account(caller: CallerDep, svc: ServicesDep) -> AccountRead:
    return AccountRead.of(listings.account(svc, caller=caller))


@router.get("/accounts/{account_id}", response_model=AccountRead, summary="An account")
def get_account(
    account_id: AccountId,
    caller: CallerDep,
    svc: ServicesDep,
) -> AccountRead:
    """The caller's own account; any other id is not found (404)."""
    if account_id != caller.account_id:
        raise NotFound(kind="account", key=account_id)
    return AccountRead.of(listings.account(svc, caller=caller))


@router.get("/credit-balance", response_model=CreditBalanceRead, summary="The credit balance")
def get_credit_balance(caller: CallerDep, svc: ServicesDep) -> CreditBalanceRead:
    """Credit carried to the next invoices, per currency (account managers)."""
    view = listings.credit(svc, caller=caller)
    return CreditBalanceRead(
        balances=[BalanceRead(currency=b.currency, amount=amount(b)) for b in view.balances]
    )


@router.get(
    "/credit-entries", response_model=Page[CreditEntryRead], summary="Credit balance movements"
)
def list_credit_entries(
    caller: CallerDep, svc: ServicesDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[CreditEntryRead]:
    entries = listings.credit(svc, caller=caller).entries
    items, next_cursor = paginate(
        entries, key=lambda e: (e.seq,), limit=limit, cursor=cursor, read=CreditEntryRead.of
    )
    return Page[CreditEntryRead](items=items, next_cursor=next_cursor)


@router.get("/audit-log", response_model=Page[AuditEntryRead], summary="The audit log")
def list_audit_log(
    caller: CallerDep,
    svc: ServicesDep,
    action: Annotated[
        str | None, Query(max_length=limits.ROLE, description="Only this action.")
    ] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[AuditEntryRead]:
    """Every change to the account, oldest first (account managers). People appear by id."""
    records = [
        r for r in listings.audit_log(svc, caller=caller) if action is None or r.action == action
    ]
    items, next_cursor = paginate(
        records, key=lambda r: (r.seq,), limit=limit, cursor=cursor, read=AuditEntryRead.of
    )
    return Page[AuditEntryRead](items=items, next_cursor=next_cursor)


@router.post("/billing/run", response_model=BillingRunRead, summary="Issue what has fallen due")
def run_account_billing(request: Request, caller: CallerDep, svc: ServicesDep) -> JSONResponse:
    """Issue, in time order, every renewal and role expiry of the account's subscriptions that
    has fallen due (account managers). Subscriptions on a test clock follow their clock."""

    def run(s: Services) -> BillingRunRead:
        require_manager(s, caller)
        issued = billing.bring_up_to_date(s, account_id=caller.account_id)
        return BillingRunRead(invoices=[InvoiceRead.of_view(v) for v in issued])

    return answer_once(request, svc, caller, run)
