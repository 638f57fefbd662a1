"""``/v1/invoices``: issued invoices and credit notes, as JSON and as an HTML document, and each
line explained by the people and seat intervals behind it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.responses import HTMLResponse

from seatledger.api import limits
from seatledger.api.invoices.schemas import InvoiceExplanationRead
from seatledger.api.pagination import CursorQuery, LimitQuery, Page, paginate
from seatledger.api.routing import path_id, resource_router
from seatledger.api.schemas import InvoiceRead
from seatledger.api.security import CallerDep, ServicesDep
from seatledger.render.invoices import invoice_html
from seatledger.service import billing, explain, listings
from seatledger.service.billing import InvoiceDocument
from seatledger.service.gateway import invoice_view
from seatledger.service.ports import InvoiceKind, InvoiceStatus

router = resource_router("invoices")

InvoiceId = Annotated[str, path_id("An invoice id (`inv_…`).")]


@router.get("/invoices", response_model=Page[InvoiceRead], summary="Invoices")
def list_invoices(
    caller: CallerDep,
    svc: ServicesDep,
    subscription_id: Annotated[
        str | None, Query(max_length=limits.ID, description="Only this subscription's.")
    ] = None,
    status: Annotated[InvoiceStatus | None, Query(description="Only this status.")] = None,
    kind: Annotated[InvoiceKind | None, Query(description="Invoices or credit notes.")] = None,
    number: Annotated[
        str | None, Query(max_length=20, description="Only this number (`000012` or `12`).")
    ] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[InvoiceRead]:
    """The account's invoices and credit notes in number order (account managers)."""
    wanted = billing.parse_invoice_number(number) if number is not None else None
    found = [
        i
        for i in listings.invoices(svc, caller=caller)
        if (subscription_id is None or i.subscription_id == subscription_id)
        and (status is None or i.status is status)
        and (kind is None or i.kind is kind)
        and (wanted is None or i.number == wanted)
    ]
    items, next_cursor = paginate(
        found, key=lambda i: (i.number,), limit=limit, cursor=cursor, read=InvoiceRead.of_record
    )
    return Page[InvoiceRead](items=items, next_cursor=next_cursor)


@router.get("/invoices/{invoice_id}", response_model=InvoiceRead, summary="An invoice")
def get_invoice(invoice_id: InvoiceId, caller: CallerDep, svc: ServicesDep) -> InvoiceRead:
    _, invoice = listings.invoice(svc, caller=caller, invoice_id=invoice_id)
    return InvoiceRead.of_record(invoice)


@router.get(
    "/invoices/{invoice_id}/html",
    response_class=HTMLResponse,
    summary="An invoice as an HTML document",
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
def get_invoice_html(invoice_id: InvoiceId, caller: CallerDep, svc: ServicesDep) -> HTMLResponse:
    """The invoice as a printable document: every line with its period, the credit applied and
    the total, exactly as issued."""
    account, invoice = listings.invoice(svc, caller=caller, invoice_id=invoice_id)
    document = InvoiceDocument(
        account=account, subscription_id=invoice.subscription_id, invoice=invoice_view(invoice)
    )
    return HTMLResponse(invoice_html(document))


@router.get(
    "/invoices/{invoice_id}/explain",
    response_model=InvoiceExplanationRead,
    summary="Why an invoice bills what it bills",
)
def explain_invoice(
    invoice_id: InvoiceId, caller: CallerDep, svc: ServicesDep
) -> InvoiceExplanationRead:
    """For each line, the people and seat intervals behind it (account managers): who held a
    seat, in which workspace and role, from when to when and why. A line's entries add up
    exactly to its quantity and amount; seats bought and held by nobody are ``unassigned``."""
    listings.invoice(svc, caller=caller, invoice_id=invoice_id)  # found, and the caller may see it
    return InvoiceExplanationRead.of(explain.explain_invoice(svc, caller.account_id, invoice_id))
