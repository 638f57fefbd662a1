"""The Billing page and the printable invoice: plan, seats, the seat change with its preview and
confirmation, the credit balance and the invoice history; each invoice line links to its
explanation (the people and seat intervals behind it).

Only the policy's ``seat_managers`` see them (Rallly: the owner; Plaky: every admin); anyone else
is told who may. A seat change is previewed by the same code that makes it
(``service.subscriptions.preview_seat_change`` runs the change and rolls it back), so the amount
shown is the amount charged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from seatledger.domain.errors import NotPermitted, SeatLedgerError
from seatledger.domain.periods import Period
from seatledger.domain.permissions import Action, allowed_roles, require_permission
from seatledger.domain.policy import DecreaseRelease, OnDecrease, OnIncrease, Policy
from seatledger.render.explanations import explanation_html
from seatledger.render.invoices import invoice_html
from seatledger.service import subscriptions
from seatledger.service.billing import find_invoice, parse_invoice_number
from seatledger.service.explain import explain_invoice
from seatledger.service.results import InvoiceView
from seatledger.service.state import InvoiceKind
from seatledger.web import formatting
from seatledger.web.members import refusal_text
from seatledger.web.pages import PREFIX, SECURITY_HEADERS, Pages, Signed, is_htmx
from seatledger.web.queries import WorkspaceView, invoices_of

BILLING = f"{PREFIX}/billing"
# A sanity bound on what the seat field accepts; plans set their own maximum in the policy.
MAX_SEATS_FIELD = 1_000_000
INVOICE_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
}
REASON_LABELS = {
    "subscribe": "First invoice",
    "proration": "Seat change",
    "renewal": "Renewal",
    "cancellation": "Cancellation",
}


@dataclass
class SeatPreview:
    """What the seat control says about a requested seat count."""

    seats_from: int
    seats_to: int
    error: str | None = None
    unchanged: bool = False
    summary: str = ""
    details: tuple[str, ...] = ()
    confirm_label: str = "Confirm change"

    @property
    def can_confirm(self) -> bool:
        return self.error is None and not self.unchanged


def parse_seats(text: str) -> int | None:
    text = text.strip()
    if not text.isdigit() or int(text) > MAX_SEATS_FIELD:
        return None
    return int(text)


def price_sentence(policy: Policy, locale: str) -> str:
    """``EUR 99.00 a month including 2 seats, then EUR 99.00 per seat``."""
    every = formatting.per_interval(policy.interval)
    seat = formatting.money(policy.seat_price, locale)
    if policy.base_price.is_zero:
        return f"{seat} per seat {every}"
    base = formatting.money(policy.base_price, locale)
    if policy.included_seats:
        included = formatting.plural(policy.included_seats, "seat")
        return f"{base} {every} including {included}, then {seat} per seat"
    return f"{base} {every}, plus {seat} per seat"


def _remaining(view: WorkspaceView, at: datetime) -> int | None:
    if at >= view.period.end:
        return None
    return formatting.duration_days(Period(at, view.period.end))


def _for_days(days: int | None) -> str:
    return "" if days is None else f" for {formatting.days_text(days)}"


def describe_preview(
    view: WorkspaceView, seats_to: int, preview: subscriptions.SeatChangePreview, locale: str
) -> SeatPreview:
    """The preview in words: "Charged now: EUR 49.50 for 15 days. Next invoice: EUR 198.00."."""
    policy = view.policy
    money = formatting.money
    result = preview.result
    charged, credited = result.charged, result.credited
    days = _remaining(view, view.at)
    increase = seats_to > view.seats_bought
    sentences = []
    if charged.amount > 0:
        sentences.append(f"Charged now: {money(charged, locale)}{_for_days(days)}.")
    else:
        sentences.append("Nothing charged now.")
    if credited.amount > 0:
        where = (
            "Credited now"
            if policy.proration.on_decrease is OnDecrease.CREDIT_NOW
            else "Credited on the next invoice"
        )
        sentences.append(f"{where}: {money(credited, locale)}{_for_days(days)}.")
    sentences.append(f"Next invoice: {money(preview.next_invoice_total, locale)}.")
    next_period = preview.next_invoice_period
    details = [
        f"The next invoice, on {formatting.day(next_period.start, locale)}, bills "
        f"{formatting.span(next_period)} for {formatting.plural(seats_to, 'seat')}."
    ]
    if increase and charged.amount == 0:
        if policy.proration.on_increase is OnIncrease.NEXT_INVOICE:
            details.append("The prorated charge for the rest of this period is on that invoice.")
        elif policy.proration.on_increase is OnIncrease.CHARGE_NOW:
            details.append("These seats are paid for already until the period ends.")
    if not increase:
        if policy.decrease_release is DecreaseRelease.PERIOD_END:
            details.append(
                f"You keep {formatting.plural(view.seats_bought, 'seat')} until "
                f"{formatting.day(view.period.end, locale)}."
            )
        if policy.proration.on_decrease is OnDecrease.NONE:
            details.append("There is no refund for the rest of this period.")
    label = f"Confirm and pay {money(charged, locale)}" if charged.amount > 0 else "Confirm change"
    return SeatPreview(
        seats_from=view.seats_bought,
        seats_to=seats_to,
        summary=" ".join(sentences),
        details=tuple(details),
        confirm_label=label,
    )


def invoice_title(invoice: InvoiceView) -> str:
    kind = "Credit note" if invoice.kind is InvoiceKind.CREDIT_NOTE else "Invoice"
    return f"{kind} {invoice.number}"


def changed_notice(before: int, after: int, invoices: tuple[InvoiceView, ...], locale: str) -> str:
    parts = [f"Seats changed from {before} to {after}."]
    for invoice in invoices:
        parts.append(f"{invoice_title(invoice)}: {formatting.money(invoice.total, locale)}.")
    return " ".join(parts)


def seat_managers_refusal(view: WorkspaceView) -> str:
    try:
        require_permission(view.policy, view.actor_roles, Action.MANAGE_SEATS)
    except NotPermitted as refusal:
        return refusal.message
    return ""


def add_billing_routes(router: APIRouter, pages: Pages) -> None:
    locale = pages.settings.locale

    def guard(request: Request, csrf: str | None = None) -> Signed | Response:
        signed = pages.signed_in(request)
        if isinstance(signed, Response):
            return signed
        if csrf is not None and not pages.csrf_ok(request, signed.session, csrf):
            return pages.csrf_refusal(request, signed.session)
        if not signed.view.can_manage_seats:
            return billing_page(request, signed)
        return signed

    def context(view: WorkspaceView, **extra: Any) -> dict[str, Any]:
        words = " or ".join(
            formatting.role_label(r).lower()
            for r in allowed_roles(view.policy, Action.MANAGE_SEATS)
        )
        return {
            "view": view,
            "heading": "h3",
            "reason_labels": REASON_LABELS,
            "seat_managers_words": words or "nobody",
            **extra,
        }

    def billing_page(request: Request, signed: Signed) -> Response:
        view = signed.view
        if not view.can_manage_seats:
            return pages.render(
                request,
                "billing.html",
                context(view, refusal=seat_managers_refusal(view)),
                session=signed.session,
                status=403,
            )
        identity = signed.session.identity
        return pages.render(
            request,
            "billing.html",
            context(
                view,
                price_sentence=price_sentence(view.policy, locale),
                addon_seats=view.usage.total - view.seats_bought,
                invoices=invoices_of(pages.svc, account_id=identity.account_id),
            ),
            session=signed.session,
        )

    def preview_of(signed: Signed, seats_text: str) -> SeatPreview:
        view = signed.view
        seats = parse_seats(seats_text)
        if seats is None:
            return SeatPreview(
                view.seats_bought, view.seats_bought, error="Enter a whole number of seats."
            )
        if seats == view.seats_bought:
            return SeatPreview(view.seats_bought, seats, unchanged=True)
        identity = signed.session.identity
        try:
            preview = subscriptions.preview_seat_change(
                pages.svc,
                account_id=identity.account_id,
                workspace=identity.workspace,
                actor=identity.email,
                seats=seats,
            )
        except SeatLedgerError as refusal:
            return SeatPreview(view.seats_bought, seats, error=refusal_text(refusal))
        return describe_preview(view, seats, preview, locale)

    @router.get("/billing")
    def billing(request: Request) -> Response:
        signed = guard(request)
        if isinstance(signed, Response):
            return signed
        return billing_page(request, signed)

    @router.get("/billing/preview")
    def preview(request: Request, seats: str = "") -> Response:
        signed = guard(request)
        if isinstance(signed, Response):
            return signed
        return pages.render(
            request,
            "billing/_preview.html",
            context(signed.view, preview=preview_of(signed, seats)),
            session=signed.session,
        )

    def review_response(
        request: Request, signed: Signed, preview: SeatPreview, status: int = 200
    ) -> Response:
        htmx = is_htmx(request)
        return pages.render(
            request,
            "billing/_review.html" if htmx else "billing/review.html",
            context(signed.view, preview=preview, heading="h3" if htmx else "h1"),
            session=signed.session,
            status=200 if htmx else status,
        )

    @router.get("/billing/seats/review")
    def review(request: Request, seats: str = "") -> Response:
        signed = guard(request)
        if isinstance(signed, Response):
            return signed
        return review_response(request, signed, preview_of(signed, seats))

    @router.post("/billing/seats")
    def change_seats(
        request: Request,
        seats: Annotated[str, Form()] = "",
        from_seats: Annotated[str, Form()] = "",
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        signed = guard(request, csrf_token)
        if isinstance(signed, Response):
            return signed
        view = signed.view
        wanted = parse_seats(seats)
        if wanted is None:
            return review_response(
                request,
                signed,
                SeatPreview(
                    view.seats_bought, view.seats_bought, error="Enter a whole number of seats."
                ),
                status=400,
            )
        if parse_seats(from_seats) != view.seats_bought:
            # Someone changed the seats since this was reviewed: its preview no longer holds.
            stale = preview_of(signed, seats)
            stale.error = (
                f"The seats changed to {view.seats_bought} since you reviewed this change. "
                "Review it again."
            )
            return review_response(request, signed, stale, status=409)
        identity = signed.session.identity
        try:
            result = subscriptions.change_seat_count(
                pages.svc,
                account_id=identity.account_id,
                workspace=identity.workspace,
                actor=identity.email,
                seats=wanted,
            )
        except SeatLedgerError as refusal:
            failed = SeatPreview(view.seats_bought, wanted, error=refusal_text(refusal))
            return review_response(request, signed, failed, status=409)
        notice = changed_notice(view.seats_bought, wanted, result.invoices, locale)
        return pages.redirect(request, BILLING, notice=notice)

    @router.get("/invoices/{number}")
    def invoice_page(request: Request, number: str) -> Response:
        """The invoice as the render package writes it for print, found in this account only."""
        signed = guard(request)
        if isinstance(signed, Response):
            return signed
        try:
            document = find_invoice(
                pages.svc,
                number=parse_invoice_number(number),
                account_id=signed.session.identity.account_id,
            )
        except SeatLedgerError:
            return pages.render(
                request,
                "refused.html",
                {"message": "There is no such invoice in this account.", "view": signed.view},
                session=signed.session,
                status=404,
            )
        # The document carries its own print styles inline and no script at all.
        explain_href = f"{PREFIX}/invoices/{document.invoice.number}/explain"
        page = invoice_html(document, explain_href=explain_href)
        return HTMLResponse(page, headers=INVOICE_HEADERS)

    @router.get("/invoices/{number}/explain")
    def invoice_explanation_page(request: Request, number: str) -> Response:
        """Each line of the invoice with the people and seat intervals behind it (one section per
        line, ``#line-N``), found in this account only."""
        signed = guard(request)
        if isinstance(signed, Response):
            return signed
        try:
            explanation = explain_invoice(
                pages.svc, signed.session.identity.account_id, str(parse_invoice_number(number))
            )
        except SeatLedgerError:
            return pages.render(
                request,
                "refused.html",
                {"message": "There is no such invoice in this account.", "view": signed.view},
                session=signed.session,
                status=404,
            )
        back = f"{PREFIX}/invoices/{explanation.invoice.number}"
        return HTMLResponse(
            explanation_html(explanation, invoice_href=back), headers=INVOICE_HEADERS
        )
