"""Issued invoices: found by number, rendered as HTML and in the terminal with every line and
totals that reconcile, and never changed once issued (on SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from billing_builders import OWNER, at, runtime_at, stored_invoices, subscribe
from rich.console import Console
from sqlalchemy import delete, update
from sqlalchemy.exc import DatabaseError

from seatledger.bootstrap import Runtime
from seatledger.clock import ManualClock
from seatledger.domain.errors import InvalidInput, NotFound
from seatledger.domain.invoices import InvoiceLine, LineKind
from seatledger.domain.money import Money
from seatledger.domain.periods import Period
from seatledger.render.invoices import invoice_html, invoice_renderable
from seatledger.service import subscriptions
from seatledger.service.billing import find_invoice, parse_invoice_number
from seatledger.service.billing_run import run_billing
from seatledger.service.ports import InvoiceKind, InvoiceStatus
from seatledger.store.tables import accounts as accounts_table
from seatledger.store.tables import invoice_lines, invoices

SRC = Path(__file__).resolve().parents[2] / "src" / "seatledger"


def build_history(runtime: Runtime, clock: ManualClock) -> str:
    """Rallly Pro: subscribe 3 seats on Apr 1 (30.00), down to 1 on Apr 16 (a credit note of
    2 x 10 x 15/30 = 10.00), renewal May 1 paid by that credit (10.00 - 10.00 = 0.00), renewal
    Jun 1 (10.00)."""
    account_id, _ = subscribe(runtime, "rallly-pro", 3)
    clock.move_to(at("2026-04-16"))
    subscriptions.change_seat_count(
        runtime, account_id=account_id, workspace="main", actor=OWNER, seats=1
    )
    clock.move_to(at("2026-06-01"))
    run_billing(runtime)
    return account_id


class Rows(HTMLParser):
    """The text of each table row of the invoice page, by the row's class."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[str]]] = []
        self._cells: list[str] | None = None
        self._cell: list[str] | None = None
        self._class = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self._cells, self._class = [], dict(attrs).get("class") or ""
        elif tag in ("td", "th") and self._cells is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cells is not None and self._cell is not None:
            self._cells.append(" ".join(" ".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._cells is not None:
            self.rows.append((self._class, self._cells))
            self._cells = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_invoices_are_found_by_number_per_account(database_url: str) -> None:
    with runtime_at(database_url, at("2026-04-01")) as (runtime, clock):
        first = build_history(runtime, clock)
        doc = find_invoice(runtime, number=3)
        assert (doc.account.id, doc.invoice.number, doc.invoice.reason.value) == (
            first,
            "000003",
            "renewal",
        )
        second, _ = subscribe(runtime, "reviewer-pro", 2)
        with pytest.raises(InvalidInput) as ambiguous:
            find_invoice(runtime, number=1)
        assert ambiguous.value.field == "account"
        assert first in ambiguous.value.message and second in ambiguous.value.message
        assert find_invoice(runtime, number=1, account_id=second).invoice.currency == "EUR"
        with pytest.raises(NotFound):
            find_invoice(runtime, number=2, account_id=second)
        with pytest.raises(NotFound):
            find_invoice(runtime, number=99)


@pytest.mark.parametrize(
    ("text", "number"), [("000012", 12), ("12", 12), (" #7 ", 7), ("1", 1)], ids=str
)
def test_invoice_numbers_are_read_with_or_without_leading_zeros(text: str, number: int) -> None:
    assert parse_invoice_number(text) == number


@pytest.mark.parametrize("text", ["", "0", "-3", "12a", "1.5", "٣"], ids=repr)
def test_anything_else_is_not_an_invoice_number(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_invoice_number(text)
    assert refused.value.field == "number"


def test_the_html_invoice_shows_every_line_and_totals_that_reconcile(database_url: str) -> None:
    with runtime_at(database_url, at("2026-04-01")) as (runtime, clock):
        account_id = build_history(runtime, clock)
        assert runtime.engine is not None
        with runtime.engine.begin() as conn:
            conn.execute(
                update(accounts_table)
                .where(accounts_table.c.id == account_id)
                .values(name="<script>alert('x')</script> & Co")
            )
        doc = find_invoice(runtime, number=3, account_id=account_id)
    page = invoice_html(doc)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co" in page
    assert "@media print" in page
    parser = Rows()
    parser.feed(page)
    lines = [cells for kind, cells in parser.rows if kind.startswith("line ")]
    # Description (with its kind), period, quantity, unit amount, amount: one row per line.
    assert lines == [
        ["1 × Seat, 1 May – 1 Jun 2026 Seats", "1 May – 1 Jun 2026", "1", "USD 10.00", "USD 10.00"],
        [
            "Credit applied from your balance Credit",
            "1 May – 1 Jun 2026",
            "1",
            "-USD 10.00",
            "-USD 10.00",
        ],
    ]
    totals = {
        kind: cells[-1] for kind, cells in parser.rows if kind in ("subtotal", "credit", "total")
    }
    assert totals == {"subtotal": "USD 10.00", "credit": "-USD 10.00", "total": "USD 0.00"}
    assert doc.subtotal + doc.credit == doc.invoice.total
    assert "Invoice 000003" in page and ">paid<" in page


def test_an_invoice_without_credit_has_no_credit_row(database_url: str) -> None:
    with runtime_at(database_url, at("2026-04-01")) as (runtime, _):
        account_id, _ = subscribe(runtime, "reviewer-pro", 3)
        doc = find_invoice(runtime, number=1, account_id=account_id)
    parser = Rows()
    parser.feed(invoice_html(doc))
    kinds = [kind for kind, _ in parser.rows]
    assert kinds == ["", "line line-base", "line line-seats", "subtotal", "total"]
    assert parser.rows[-1][1] == ["Total", "EUR 198.00"]


def test_the_terminal_invoice_lists_lines_and_totals(database_url: str) -> None:
    with runtime_at(database_url, at("2026-04-01")) as (runtime, clock):
        account_id = build_history(runtime, clock)
        credit_note = find_invoice(runtime, number=2, account_id=account_id)
    console = Console(record=True, width=140, color_system=None)
    console.print(invoice_renderable(credit_note))
    shown = console.export_text()
    assert "Credit note 000002" in shown
    assert re.search(
        r"Unused time on 2 × Seat, 16 Apr – 1 May 2026 .*16 Apr – 1 May 2026 .* 2 .*USD 10\.00 .*-USD 10\.00",
        shown,
    )
    assert re.search(r"Total\s+-USD 10\.00", shown)


def snapshot(runtime: Runtime, account_id: str) -> dict[str, tuple[object, ...]]:
    """Everything about each invoice except its status: what must never change once issued."""
    return {
        i.id: (i.number, i.kind, i.reason, i.period, i.currency, i.lines, i.total, i.issued_at)
        for i in stored_invoices(runtime, account_id)
    }


def test_no_step_of_a_history_changes_an_invoice_issued_before_it(database_url: str) -> None:
    with runtime_at(database_url, at("2026-04-01")) as (runtime, clock):
        account_id, _ = subscribe(runtime, "rallly-pro", 2)
        common = {"account_id": account_id, "workspace": "main", "actor": OWNER}
        steps = [
            ("2026-04-10", lambda: subscriptions.change_seat_count(runtime, **common, seats=5)),
            ("2026-04-20", lambda: subscriptions.change_seat_count(runtime, **common, seats=1)),
            ("2026-05-15", lambda: subscriptions.change_seat_count(runtime, **common, seats=3)),
            (
                "2026-06-15",
                lambda: subscriptions.cancel_subscription(runtime, **common, at_period_end=False),
            ),
        ]
        before = snapshot(runtime, account_id)
        for when, step in steps:
            clock.move_to(at(when))
            run_billing(runtime)
            step()
            after = snapshot(runtime, account_id)
            assert {k: after[k] for k in before} == before
            assert len(after) > len(before)
            before = after


def test_the_database_refuses_to_change_an_issued_invoice(database_url: str) -> None:
    with runtime_at(database_url, at("2026-04-01")) as (runtime, _):
        account_id, opened = subscribe(runtime, "rallly-pro", 2)
        invoice_id = opened.invoices[0].id
        assert runtime.engine is not None
        for statement in (
            update(invoices).where(invoices.c.id == invoice_id).values(total_minor=1),
            update(invoices).where(invoices.c.id == invoice_id).values(period_end=at("2026-06-01")),
            update(invoice_lines)
            .where(invoice_lines.c.invoice_id == invoice_id)
            .values(amount_minor=1),
            delete(invoice_lines).where(invoice_lines.c.invoice_id == invoice_id),
        ):
            with (
                pytest.raises(DatabaseError, match="an issued invoice never changes"),
                runtime.engine.begin() as conn,
            ):
                conn.execute(statement)
        # Its status may move on (paid, void): that is not a change of what was billed.
        with runtime.uow() as uow:
            voided = uow.invoices.set_status(account_id, invoice_id, InvoiceStatus.VOID)
            uow.commit()
        assert voided.status is InvoiceStatus.VOID
        assert voided.total.format() == "20.00"


def test_a_draft_can_be_edited_until_it_is_issued(database_url: str) -> None:
    with runtime_at(database_url, at("2026-04-01")) as (runtime, _):
        account_id, opened = subscribe(runtime, "rallly-pro", 2)
        sub_id = opened.detail["subscription_id"]
        assert isinstance(sub_id, str) and runtime.engine is not None
        usd = Money.of("10.00", "USD")
        period = Period(at("2026-04-01"), at("2026-05-01"))
        with runtime.uow() as uow:
            draft = uow.invoices.add(
                account_id,
                sub_id,
                kind=InvoiceKind.INVOICE,
                status=InvoiceStatus.DRAFT,
                reason="proration",
                period=period,
                currency="USD",
                lines=[InvoiceLine(LineKind.SEATS, "1 × Seat", 1, usd, usd, period)],
                issued_at=None,
                at=period.start,
            )
            uow.commit()
        edit = (
            update(invoice_lines)
            .where(invoice_lines.c.invoice_id == draft.id)
            .values(amount_minor=500)
        )
        with runtime.engine.begin() as conn:
            conn.execute(edit)
        with runtime.uow() as uow:
            issued = uow.invoices.set_status(account_id, draft.id, InvoiceStatus.OPEN)
            uow.commit()
        assert issued.total.format() == "5.00"
        with (
            pytest.raises(DatabaseError, match="an issued invoice never changes"),
            runtime.engine.begin() as conn,
        ):
            conn.execute(edit.values(amount_minor=700))
        with runtime.uow() as uow:
            for status in (InvoiceStatus.PAID, InvoiceStatus.VOID):
                assert uow.invoices.set_status(account_id, draft.id, status).status is status
            uow.commit()
        assert stored_invoices(runtime, account_id)[-1].total.format() == "5.00"


def test_issued_invoices_are_open_or_paid_when_nothing_is_owed(database_url: str) -> None:
    with runtime_at(database_url, at("2026-04-01")) as (runtime, clock):
        account_id = build_history(runtime, clock)
        found = [
            (i.number, i.kind, i.status, i.total.format())
            for i in stored_invoices(runtime, account_id)
        ]
    assert found == [
        (1, InvoiceKind.INVOICE, InvoiceStatus.OPEN, "30.00"),
        (2, InvoiceKind.CREDIT_NOTE, InvoiceStatus.OPEN, "-10.00"),
        (3, InvoiceKind.INVOICE, InvoiceStatus.PAID, "0.00"),
        (4, InvoiceKind.INVOICE, InvoiceStatus.OPEN, "10.00"),
    ]


def test_no_code_updates_an_invoice_but_its_status() -> None:
    """Guards the rule in the code as well as in the database: the only statement that updates
    the invoices table sets its status, nothing updates or deletes invoice lines, and no raw SQL
    does either."""
    statements = []
    for path in sorted(SRC.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        where = path.relative_to(SRC).as_posix()
        for found in re.finditer(
            r"(update|delete)\((invoices|invoice_lines)\)(\n?[^\n]*){0,4}", source
        ):
            statements.append((where, " ".join(found.group(0).split())))
        assert not re.search(r"(?i)\b(UPDATE|DELETE\s+FROM)\s+invoice", source), where
    assert len(statements) == 1, statements
    where, statement = statements[0]
    assert where == "store/repositories/invoices.py"
    assert statement.startswith("update(invoices)")
    assert ".values(status=status.value)" in statement
