"""Explain a bill: for each line of an invoice, the people and seat intervals behind it.

``explain_invoice`` reads the invoice, the subscription's seat intervals (``seat_intervals``) and
the people they name, and asks the domain (``explain_line``) to split every line into entries that
add up exactly to its quantity and amount: a person per billed seat, ``unassigned purchased seat``
for seats bought and held by nobody, the holders the plan's included seats cover (quantity 0), and
the base fee, add-on packs and credits as themselves. Reads only; nothing is locked or written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from seatledger.domain.errors import InvalidInput, NotFound
from seatledger.domain.seat_intervals import (
    INCLUDED_LABEL,
    UNASSIGNED_LABEL,
    EntryKind,
    ExplanationEntry,
    LineExplanation,
    SeatInterval,
    explain_line,
)
from seatledger.service.billing import parse_invoice_number
from seatledger.service.context import Services
from seatledger.service.gateway import invoice_view
from seatledger.service.ports import Invoice, UnitOfWork
from seatledger.service.results import InvoiceView


@dataclass(frozen=True)
class InvoiceExplanation:
    """An invoice and the explanation of each of its lines, in line order.

    ``people`` maps the person ids the explanation names to what to show for them (the e-mail, or
    ``erased-<id>`` for an erased person); ``workspaces`` maps workspace ids to names.
    """

    account_id: str
    subscription_id: str
    invoice: InvoiceView
    lines: tuple[LineExplanation, ...]
    people: Mapping[str, str]
    workspaces: Mapping[str, str]

    def who(self, entry: ExplanationEntry) -> str:
        """The entry in words: the person, or what the line is when no person is behind it."""
        if entry.kind is EntryKind.UNASSIGNED:
            return UNASSIGNED_LABEL
        if entry.person is None:
            return "this line itself"
        return self.people.get(entry.person, entry.person)

    def note(self, entry: ExplanationEntry) -> str:
        return INCLUDED_LABEL if entry.kind is EntryKind.INCLUDED else ""

    def workspace(self, interval: SeatInterval) -> str:
        return self.workspaces.get(interval.workspace, interval.workspace)

    def holding(self, interval: SeatInterval) -> str:
        """``"reviewer in main"``, ``"program_facilitator (p1) in main"``."""
        scope = f" ({interval.scope})" if interval.scope else ""
        return f"{interval.role}{scope} in {self.workspace(interval)}"


def _find(uow: UnitOfWork, account_id: str | None, key: str) -> Invoice:
    text = key.strip()
    if text.startswith("inv_"):
        if account_id is None:
            raise InvalidInput("account", "must be given with an invoice id")
        return uow.invoices.get(account_id, text)
    number = parse_invoice_number(text)
    found = uow.invoices.by_number(number, account_id=account_id)
    if not found:
        where = f" of account {account_id}" if account_id is not None else ""
        raise NotFound(kind="invoice", key=f"{number:06d}{where}")
    if len(found) > 1:
        accounts = ", ".join(invoice.account_id for invoice in found)
        raise InvalidInput(
            "account",
            f"must be given: invoice {number:06d} exists in several accounts ({accounts})",
        )
    return found[0]


def explain_invoice(
    svc: Services, account_id: str | None, invoice_id_or_number: str
) -> InvoiceExplanation:
    """The explanation of every line of an invoice (or credit note) of ``account_id``, found by
    id (``inv_...``) or number (``000012`` or ``12``).

    Without an account, a number names the one account that has it (several: ``InvalidInput``
    naming ``account``). Unknown: ``NotFound``. Each line's entries add up to its quantity and,
    to the cent, its amount.
    """
    with svc.uow() as uow:
        invoice = _find(uow, account_id, invoice_id_or_number)
        account = invoice.account_id
        subscription = uow.subscriptions.get(account, invoice.subscription_id)
        intervals = uow.seat_intervals.for_subscription(account, invoice.subscription_id)
        included = subscription.policy.included_seats
        lines = tuple(
            explain_line(line, intervals, included_seats=included) for line in invoice.lines
        )
        named = {e.person for ln in lines for e in ln.entries if e.person is not None}
        people = {pid: uow.persons.get(account, pid).label for pid in sorted(named)}
        workspaces = {w.id: w.name for w in uow.workspaces.for_account(account)}
    return InvoiceExplanation(
        account_id=account,
        subscription_id=invoice.subscription_id,
        invoice=invoice_view(invoice),
        lines=lines,
        people=people,
        workspaces=workspaces,
    )
