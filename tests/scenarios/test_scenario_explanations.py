"""Every line of every invoice the scenario suite issues is explained, and the explanation adds
up: its entries' quantities to the line's quantity, their amounts to the line's amount, to the
cent. Each file runs on a SQLite file of its own, so every account in it is the scenario's."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from seatledger.bootstrap import bootstrap
from seatledger.domain.invoices import LineKind
from seatledger.domain.seat_intervals import EntryKind
from seatledger.scenarios.format import load_scenario, scenario_files
from seatledger.scenarios.runner import run_scenario
from seatledger.service.explain import explain_invoice
from seatledger.store.tables import accounts

HERE = Path(__file__).parent
FILES = scenario_files([HERE])
SEAT_LINES = {LineKind.SEATS, LineKind.PRORATION_CHARGE, LineKind.PRORATION_CREDIT}


@pytest.mark.parametrize("path", [pytest.param(p, id=str(p.relative_to(HERE))) for p in FILES])
def test_every_invoice_line_of_the_scenario_suite_is_explained_to_the_cent(
    path: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'scenario.sqlite3'}"
    outcome = run_scenario(load_scenario(path), url)
    assert outcome.ok, path
    runtime = bootstrap(url)
    try:
        assert runtime.engine is not None
        with runtime.engine.connect() as conn:
            account_ids = list(conn.execute(select(accounts.c.id)).scalars())
        with runtime.uow() as uow:
            invoices = [i for a in account_ids for i in uow.invoices.for_account(a)]
        # Every invoice a step reports as issued (a preview's drafts have no number) is here.
        issued = {i.id for step in outcome.steps for i in step.invoices if i.number}
        assert issued <= {i.id for i in invoices}
        for invoice in invoices:
            explanation = explain_invoice(runtime, invoice.account_id, invoice.id)
            assert [line.line for line in explanation.lines] == list(invoice.lines)
            for line in explanation.lines:
                where = f"{path.name} invoice {invoice.number} {line.line.description}"
                assert line.quantity == line.line.quantity, where
                assert line.amount == line.line.amount, where
                for entry in line.entries:
                    assert entry.amount.currency == invoice.currency, where
                    if entry.kind in (EntryKind.PERSON, EntryKind.INCLUDED):
                        # A named person comes with the intervals that put them on the line.
                        assert line.line.kind in SEAT_LINES, where
                        assert entry.intervals and entry.person in explanation.people, where
                    elif entry.kind is EntryKind.CHARGE:
                        assert line.line.kind not in SEAT_LINES, where
    finally:
        runtime.dispose()
