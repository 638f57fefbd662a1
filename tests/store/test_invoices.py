"""Invoices: gapless numbers per account, one renewal per period, lines kept exactly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from store_builders import (
    ACCOUNT,
    SUBSCRIPTION,
    World,
    add_account,
    add_invoice,
    month_from,
    new_subscription,
    seats_line,
)

from seatledger.clock import ManualClock
from seatledger.domain.errors import Conflict, InvalidInput, NotFound
from seatledger.domain.invoices import InvoiceLine, LineKind
from seatledger.domain.money import Money
from seatledger.domain.periods import Period
from seatledger.service.ports import InvoiceKind, InvoiceStatus
from seatledger.store import SqlUnitOfWork


def numbers(uow: SqlUnitOfWork, account_id: str = ACCOUNT) -> list[int]:
    with uow:
        return [i.number for i in uow.invoices.for_account(account_id)]


def test_numbers_are_sequential_per_account_and_a_rollback_gives_its_number_back(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    """Guards against gaps: a number taken by a transaction that rolls back must be reused."""
    period = month_from(clock.now())
    with uow:
        uow.subscriptions.add(new_subscription("sub_two", clock.now()))
        assert [add_invoice(uow, period).number for _ in range(2)] == [1, 2]
        assert add_invoice(uow, period, subscription_id="sub_two").number == 3
        uow.commit()
    with uow:
        assert add_invoice(uow, period).number == 4
        # leaving without commit: invoice 4 never existed
    with uow:
        assert add_invoice(uow, period).number == 4
        uow.commit()
    with uow:
        add_account(uow, "acc_other", clock.now())
        uow.subscriptions.add(new_subscription("sub_other", clock.now(), account_id="acc_other"))
        assert (
            add_invoice(uow, period, account_id="acc_other", subscription_id="sub_other").number
            == 1
        )
        uow.commit()
    assert numbers(uow) == [1, 2, 3, 4]
    assert numbers(uow, "acc_other") == [1]


def test_a_second_renewal_invoice_for_the_same_period_is_refused(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    """Guards against double billing: a billing run killed after issuing a renewal and run again
    must not issue it twice, and the refused attempt must not burn an invoice number."""
    april = month_from(clock.now())
    with uow:
        first = add_invoice(uow, april, renewal=True)
        uow.commit()
    with uow:
        with pytest.raises(Conflict, match="was issued already"):
            add_invoice(uow, april, renewal=True)
        # The transaction is still usable after the refusal, and the number was not used.
        proration = add_invoice(uow, april)
        uow.commit()
    assert (first.number, proration.number) == (1, 2)
    with uow:
        found = uow.invoices.find_renewal(ACCOUNT, SUBSCRIPTION, april.start, InvoiceKind.INVOICE)
        assert found == first
        assert (
            uow.invoices.find_renewal(ACCOUNT, SUBSCRIPTION, april.end, InvoiceKind.INVOICE) is None
        )


def test_proration_invoices_and_a_credit_note_may_share_a_period_with_the_renewal(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    april = month_from(clock.now())
    with uow:
        add_invoice(uow, april, renewal=True)
        add_invoice(uow, april, renewal=True, kind=InvoiceKind.CREDIT_NOTE)
        add_invoice(uow, april)
        add_invoice(uow, april)
        next_month = month_from(april.end)
        add_invoice(uow, next_month, renewal=True)
        uow.commit()
    assert numbers(uow) == [1, 2, 3, 4, 5]


def test_an_invoice_round_trips_with_its_lines_in_order(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    april = month_from(clock.now())
    second_half = Period(april.start + timedelta(days=15), april.end)
    lines = [
        InvoiceLine(
            kind=LineKind.BASE,
            description="Pro plan",
            quantity=1,
            unit_amount=Money.of("99.00", "EUR"),
            amount=Money.of("99.00", "EUR"),
            period=april,
        ),
        seats_line(second_half, quantity=1, amount="49.50"),
        InvoiceLine(
            kind=LineKind.CREDIT_APPLIED,
            description="Credit balance used",
            quantity=1,
            unit_amount=Money.of("-10.01", "EUR"),
            amount=Money.of("-10.01", "EUR"),
            period=april,
        ),
    ]
    with uow:
        added = uow.invoices.add(
            ACCOUNT,
            SUBSCRIPTION,
            kind=InvoiceKind.INVOICE,
            status=InvoiceStatus.OPEN,
            reason="subscribe",
            period=april,
            currency="EUR",
            lines=lines,
            issued_at=clock.now(),
            at=clock.now(),
        )
        uow.commit()
    with uow:
        read = uow.invoices.get(ACCOUNT, added.id)
    assert read == added
    assert read.lines == tuple(lines)
    assert read.total == Money.of("138.49", "EUR")
    assert read.renewal_of is None


def test_the_status_changes_and_nothing_else(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    with uow:
        invoice = add_invoice(uow, month_from(clock.now()))
        paid = uow.invoices.set_status(ACCOUNT, invoice.id, InvoiceStatus.PAID)
        uow.commit()
    assert paid.status is InvoiceStatus.PAID
    assert (paid.number, paid.lines, paid.total) == (invoice.number, invoice.lines, invoice.total)


def test_a_renewal_must_renew_its_own_period(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    april = month_from(clock.now())
    with uow, pytest.raises(InvalidInput) as refused:
        uow.invoices.add(
            ACCOUNT,
            SUBSCRIPTION,
            kind=InvoiceKind.INVOICE,
            status=InvoiceStatus.OPEN,
            reason="renewal",
            period=april,
            currency="EUR",
            lines=[seats_line(april)],
            issued_at=april.start,
            at=april.start,
            renewal_of=april.end,
        )
    assert refused.value.field == "renewal_of"


def test_a_line_in_another_currency_is_refused(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    april = month_from(clock.now())
    with uow, pytest.raises(InvalidInput) as refused:
        uow.invoices.add(
            ACCOUNT,
            SUBSCRIPTION,
            kind=InvoiceKind.INVOICE,
            status=InvoiceStatus.OPEN,
            reason="proration",
            period=april,
            currency="USD",
            lines=[seats_line(april)],
            issued_at=april.start,
            at=april.start,
        )
    assert refused.value.field == "currency"
    assert numbers(uow) == []


def test_pending_lines_wait_until_billed_once(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    april = month_from(clock.now())
    half = Period(april.start + timedelta(days=15), april.end)
    with uow:
        first = uow.pending_lines.add(
            ACCOUNT, SUBSCRIPTION, seats_line(half, 1, "49.50"), at=half.start
        )
        second = uow.pending_lines.add(
            ACCOUNT, SUBSCRIPTION, seats_line(half, 2, "99.00"), at=half.start + timedelta(hours=1)
        )
        uow.commit()
    with uow:
        waiting = uow.pending_lines.unbilled(ACCOUNT, SUBSCRIPTION)
        assert waiting == (first, second)
        invoice = add_invoice(uow, month_from(april.end), renewal=True)
        uow.pending_lines.mark_billed(ACCOUNT, [first.id, second.id], invoice.id)
        uow.commit()
    with uow:
        assert uow.pending_lines.unbilled(ACCOUNT, SUBSCRIPTION) == ()
        with pytest.raises(Conflict):
            uow.pending_lines.mark_billed(ACCOUNT, [first.id], invoice.id)


def test_invoices_are_listed_per_subscription_and_missing_ones_are_not_found(
    uow: SqlUnitOfWork, world: World, clock: ManualClock
) -> None:
    april = month_from(clock.now())
    with uow:
        uow.subscriptions.add(new_subscription("sub_two", clock.now()))
        mine = add_invoice(uow, april)
        add_invoice(uow, april, subscription_id="sub_two")
        assert uow.invoices.for_subscription(ACCOUNT, SUBSCRIPTION) == (mine,)
        assert uow.invoices.for_subscription(ACCOUNT, "sub_quiet") == ()
        with pytest.raises(NotFound):
            uow.invoices.get(ACCOUNT, "inv_nowhere")
        with pytest.raises(NotFound):
            uow.invoices.set_status(ACCOUNT, "inv_nowhere", InvoiceStatus.VOID)
        with pytest.raises(NotFound) as missing:
            add_invoice(uow, april, account_id="acc_nowhere")
        assert missing.value.kind == "account"
