"""Fair billing (``inactive_after``) through the use cases, on SQLite and PostgreSQL.

Voltasis Pro (automatic seat mode, USD 10.00 a seat a month, day proration) with ``inactive_after:
P14D``. A seat holder idle for 14 days is credited for the rest of the period from that instant;
activity before then postpones it; activity after it bills them again from the report's instant.
After each step the test reads what the store holds (``member_activity`` rows by e-mail), so a
record that is not written, or written twice, fails here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from service_world import OWNER, Subscribed, database_text, dump, subscribe
from sqlalchemy import select

from seatledger.bootstrap import Runtime
from seatledger.clock import ManualClock
from seatledger.domain.errors import InvalidInput, NotFound, NotPermitted, SeatLedgerError
from seatledger.domain.invoices import LineKind
from seatledger.service import accounts, billing, members
from seatledger.service.activity import (
    ActivityReport,
    ActivityResult,
    record_activities,
    record_activity,
)
from seatledger.service.ports import InvoiceKind
from seatledger.store.tables import member_activity, persons

# Credits and charges show at once (a credit note, an invoice) so each step's money is its own.
AT_ONCE = {
    "inactive_after": "P14D",
    "proration": {"on_increase": "charge_now", "on_decrease": "credit_now"},
}
ANA, BOB = "ana@main.test", "bob@main.test"


def at(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC)


def world(runtime: Runtime, overrides: dict[str, Any] | None = None) -> Subscribed:
    """Voltasis Pro from 2026-04-01 (the clock's start) with the owner, ana and bob holding seats
    since then (pending invites hold a seat under this preset)."""
    chosen = AT_ONCE if overrides is None else overrides
    subscribed = subscribe(runtime, "voltasis-pro", seats=1, overrides=chosen)
    members.invite_members(
        runtime, **subscribed.common(), actor=OWNER, emails=[ANA, BOB], role="employee"
    )
    for email in (ANA, BOB):
        members.accept_invite(runtime, **subscribed.common(), email=email)
    return subscribed


def records(w: Subscribed) -> dict[str, tuple[datetime, datetime | None]]:
    """What the store holds: e-mail -> (last_active_at, inactive_at)."""
    t, p = member_activity, persons
    with w.engine.connect() as conn:
        rows = conn.execute(
            select(p.c.email, t.c.last_active_at, t.c.inactive_at)
            .join(p, (p.c.account_id == t.c.account_id) & (p.c.id == t.c.person_id))
            .where(t.c.account_id == w.account_id)
        ).all()
    return {row.email: (row.last_active_at, row.inactive_at) for row in rows}


def report(
    w: Subscribed, email: str, *, actor: str | None = None, when: datetime | None = None
) -> ActivityResult:
    return record_activity(
        w.runtime, **w.common(), actor=actor or email, email=email, active_at=when
    )


def move(w: Subscribed, clock: ManualClock, day: str) -> list[Any]:
    clock.move_to(at(day))
    return billing.bring_up_to_date(w.runtime, account_id=w.account_id)


def balance(w: Subscribed) -> Decimal:
    return accounts.credit_balance(w.runtime, account_id=w.account_id, currency="USD").amount


def test_a_holder_idle_for_inactive_after_is_credited_from_that_instant(
    runtime: Runtime, clock: ManualClock
) -> None:
    w = world(runtime)
    start = at("2026-04-01")
    assert records(w) == {OWNER: (start, None), ANA: (start, None), BOB: (start, None)}
    # The owner and bob keep working; ana does not.
    clock.move_to(at("2026-04-10"))
    record_activities(
        runtime,
        account_id=w.account_id,
        actor=OWNER,
        reports=[ActivityReport("main", OWNER), ActivityReport("main", BOB)],
    )
    # Half-open: a second before 2026-04-15 ana is still billed, nothing is issued.
    clock.move_to(at("2026-04-15") - timedelta(seconds=1))
    assert billing.bring_up_to_date(runtime, account_id=w.account_id) == []
    (note,) = move(w, clock, "2026-04-15")
    # 1 seat x USD 10.00 x 16/30 days (Apr 15 - May 1) = 5.333 -> -5.33.
    assert note.kind is InvoiceKind.CREDIT_NOTE
    assert note.issued_at == at("2026-04-15")
    assert [(ln.kind, ln.quantity, ln.amount.amount) for ln in note.lines] == [
        (LineKind.PRORATION_CREDIT, 1, Decimal("-5.33"))
    ]
    assert balance(w) == Decimal("5.33")
    assert records(w) == {
        OWNER: (at("2026-04-10"), None),
        ANA: (start, at("2026-04-15")),
        BOB: (at("2026-04-10"), None),
    }
    # She keeps her seat: only billing changed.
    assert w.used() == 3
    assert w.subscription().seats_at_renewal == 2
    inactive = [e for e in w.ledger() if e.kind == "member_inactive"]
    assert [(e.at, e.person_id) for e in inactive] == [(at("2026-04-15"), w.person_id(ANA))]
    assert [a.action for a in w.audit()][-1] == "mark_inactive"
    # The activity of Apr 10 postpones the others to Apr 24: 1 seat each x 10.00 x 7/30 = 2.33.
    later = move(w, clock, "2026-04-24")
    assert [[ln.amount.amount for ln in note.lines] for note in later] == [
        [Decimal("-2.33")],
        [Decimal("-2.33")],
    ]
    assert balance(w) == Decimal("9.99")  # 5.33 + 2.33 + 2.33


def test_activity_after_going_inactive_bills_again_from_that_moment(
    runtime: Runtime, clock: ManualClock
) -> None:
    w = world(runtime)
    clock.move_to(at("2026-04-10"))
    report(w, OWNER)
    report(w, BOB)
    move(w, clock, "2026-04-15")
    assert records(w)[ANA] == (at("2026-04-01"), at("2026-04-15"))
    clock.move_to(at("2026-04-20"))
    # A report of old activity does not bring her back: she would be idle again at once.
    old = report(w, ANA, when=at("2026-04-02"))
    assert [(o.tracked, o.billed, o.back) for o in old.outcomes] == [(True, False, False)]
    assert old.invoices == ()
    assert records(w)[ANA] == (at("2026-04-02"), at("2026-04-15"))
    back = report(w, ANA)
    (outcome,) = back.outcomes
    assert (outcome.tracked, outcome.billed, outcome.back) == (True, True, True)
    assert outcome.last_active_at == at("2026-04-20")
    # 1 seat x 10.00 x 11/30 days (Apr 20 - May 1) = 3.667 -> 3.67, paid from the 5.33 credit.
    (invoice,) = back.invoices
    assert [(ln.kind, ln.amount.amount) for ln in invoice.lines] == [
        (LineKind.PRORATION_CHARGE, Decimal("3.67")),
        (LineKind.CREDIT_APPLIED, Decimal("-3.67")),
    ]
    assert balance(w) == Decimal("1.66")  # 5.33 - 3.67
    assert records(w)[ANA] == (at("2026-04-20"), None)
    assert w.subscription().seats_at_renewal == 3
    assert [e.kind for e in w.ledger()][-1] == "member_active"
    assert [a.action for a in w.audit()][-1] == "mark_active"
    # Known again, she goes inactive 14 days after her last activity, not before.
    move(w, clock, "2026-05-03")
    assert records(w)[ANA] == (at("2026-04-20"), None)


def test_reports_are_refused_for_non_members_others_without_the_role_and_the_future(
    runtime: Runtime, clock: ManualClock
) -> None:
    w = world(runtime)
    clock.move_to(at("2026-04-05"))
    before = dump(w.engine)
    refusals: list[tuple[type[SeatLedgerError], Any]] = [
        (NotFound, lambda: report(w, "ghost@main.test", actor=OWNER)),
        # ana is an employee: member_managers are owner and admin.
        (NotPermitted, lambda: report(w, BOB, actor=ANA)),
        (InvalidInput, lambda: report(w, ANA, when=at("2026-04-06"))),
        (
            NotFound,
            lambda: record_activity(
                runtime, account_id=w.account_id, workspace="nowhere", actor=ANA, email=ANA
            ),
        ),
    ]
    for error, call in refusals:
        with pytest.raises(error):
            call()
        assert dump(w.engine) == before
    # The owner (a member manager) may report anyone's activity.
    (done,) = report(w, ANA, actor=OWNER).outcomes
    assert (done.email, done.tracked, done.billed) == (ANA, True, True)
    assert records(w)[ANA] == (at("2026-04-05"), None)


def test_a_batch_is_kept_whole_or_not_at_all(runtime: Runtime, clock: ManualClock) -> None:
    w = world(runtime)
    clock.move_to(at("2026-04-05"))
    before = dump(w.engine)
    with pytest.raises(NotFound):
        record_activities(
            runtime,
            account_id=w.account_id,
            actor=OWNER,
            reports=[ActivityReport("main", ANA), ActivityReport("main", "ghost@main.test")],
        )
    assert dump(w.engine) == before
    with pytest.raises(InvalidInput) as empty:
        record_activities(runtime, account_id=w.account_id, actor=OWNER, reports=[])
    assert empty.value.field == "activity"
    done = record_activities(
        runtime,
        account_id=w.account_id,
        actor=OWNER,
        reports=[ActivityReport("main", ANA), ActivityReport("main", BOB, at("2026-04-03"))],
    )
    assert [(o.email, o.last_active_at) for o in done.outcomes] == [
        (ANA, at("2026-04-05")),
        (BOB, at("2026-04-03")),
    ]
    assert records(w)[ANA][0] == at("2026-04-05")
    assert records(w)[BOB][0] == at("2026-04-03")


def test_without_inactive_after_reports_change_nothing(
    runtime: Runtime, clock: ManualClock
) -> None:
    w = world(runtime, overrides={})
    clock.move_to(at("2026-04-05"))
    before = dump(w.engine)
    (outcome,) = report(w, ANA).outcomes
    assert (outcome.tracked, outcome.billed, outcome.back, outcome.last_active_at) == (
        False,
        True,
        False,
        None,
    )
    assert dump(w.engine) == before
    assert records(w) == {}
    # Nobody goes inactive either: no credit note a month on.
    invoices = move(w, clock, "2026-05-01")
    assert [i.kind for i in invoices] == [InvoiceKind.INVOICE]


def test_records_follow_the_holders_and_erased_people_never_appear(
    runtime: Runtime, clock: ManualClock
) -> None:
    w = world(runtime)
    clock.move_to(at("2026-04-05"))
    report(w, ANA)
    members.delete_member(runtime, **w.common(), actor=OWNER, email=ANA)
    assert set(records(w)) == {OWNER, BOB}
    assert ANA not in database_text(w.engine)
    # Deactivated members hold no seat under this preset: bob's record goes, and a new one starts
    # when he is back (never an old idle stretch).
    members.deactivate_member(runtime, **w.common(), actor=OWNER, email=BOB)
    assert set(records(w)) == {OWNER}
    clock.move_to(at("2026-04-08"))
    members.reactivate_member(runtime, **w.common(), actor=OWNER, email=BOB)
    assert records(w)[BOB] == (at("2026-04-08"), None)
    # A report for someone erased is a report for nobody.
    with pytest.raises(NotFound):
        report(w, ANA, actor=OWNER)


def test_renewals_bill_only_the_active_holders(runtime: Runtime, clock: ManualClock) -> None:
    """The preset's own routing: the inactive time is credited on the next invoice."""
    w = world(runtime, overrides={"inactive_after": "P21D"})
    clock.move_to(at("2026-04-14"))
    report(w, OWNER)
    (renewal,) = move(w, clock, "2026-05-01")
    # Apr 1: ana and bob joined (pending charges, 1 seat x 10.00 x 30/30 each); Apr 22 both went
    # inactive (1 seat x 10.00 x 9/30 = 3.00 each); May 1 bills the owner alone for May.
    assert [(ln.kind, ln.quantity, ln.amount.amount) for ln in renewal.lines] == [
        (LineKind.PRORATION_CHARGE, 2, Decimal("20.00")),
        (LineKind.PRORATION_CREDIT, 1, Decimal("-3.00")),
        (LineKind.PRORATION_CREDIT, 1, Decimal("-3.00")),
        (LineKind.SEATS, 1, Decimal("10.00")),
    ]
    assert renewal.total.amount == Decimal("24.00")  # 20.00 - 3.00 - 3.00 + 10.00
    assert records(w) == {
        OWNER: (at("2026-04-14"), None),
        ANA: (at("2026-04-01"), at("2026-04-22")),
        BOB: (at("2026-04-01"), at("2026-04-22")),
    }
