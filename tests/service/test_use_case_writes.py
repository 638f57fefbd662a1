"""What every use case writes, and that it writes it in one transaction, on SQLite and PostgreSQL.

Each use case runs from the same small upcoach world. When it succeeds it has added exactly one
audit row and at least one ledger row, at the same instant, and the audit row's "after" figures are
the ledger's last row. When the commit is lost after every write was made, nothing at all is
stored: ledger, audit, roster, invoices and the rest went into one transaction. When it is refused,
every table is as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType
from typing import Any, Self

import pytest
from service_world import OWNER, Subscribed, dump, grown_by, subscribe

from seatledger.bootstrap import Runtime
from seatledger.clock import ManualClock
from seatledger.domain.errors import SeatLedgerError
from seatledger.service import members, subscriptions
from seatledger.service.context import Services
from seatledger.service.ports import UnitOfWork
from seatledger.service.results import ChangeResult

UseCase = Callable[[Services, Subscribed], ChangeResult]


def build_world(runtime: Runtime, clock: ManualClock) -> Subscribed:
    """upcoach, 6 seats: the owner; ana an active admin; bob an active participant in p1 (free);
    cleo a deactivated facilitator in p2 (no seat); dan a pending facilitator in p1 (a seat).
    3 of 6 used. The clock then moves a day, so nothing below happens at the world's instant."""
    world = subscribe(runtime, "upcoach", seats=6)
    common = world.common()

    def invite(email: str, role: str, scope: str | None = None) -> None:
        members.invite_members(
            runtime, **common, actor=OWNER, emails=[email], role=role, scope=scope
        )

    invite("ana@x.test", "admin")
    invite("bob@x.test", "participant", "p1")
    invite("cleo@x.test", "program_facilitator", "p2")
    invite("dan@x.test", "program_facilitator", "p1")
    for email in ("ana@x.test", "bob@x.test", "cleo@x.test"):
        members.accept_invite(runtime, **common, email=email)
    members.deactivate_member(runtime, **common, actor=OWNER, email="cleo@x.test")
    assert world.used() == 3
    clock.advance(timedelta(days=1))
    return world


def _member_case(function: Callable[..., ChangeResult], **arguments: Any) -> UseCase:
    def run(svc: Services, world: Subscribed) -> ChangeResult:
        return function(svc, **world.common(), **arguments)

    return run


def _subscribe_other(svc: Services, world: Subscribed) -> ChangeResult:
    return subscriptions.subscribe(
        svc,
        account_id=world.account_id,
        policy=world.policy,
        preset="upcoach",
        workspaces=["other"],
        owner_email="owner@other.test",
        seats=3,
    )


SUCCEEDING: dict[str, UseCase] = {
    "subscribe": _subscribe_other,
    "invite_members": _member_case(
        members.invite_members,
        actor=OWNER,
        emails=["eve@x.test"],
        role="program_facilitator",
        scope="p1",
    ),
    "accept_invite": _member_case(members.accept_invite, email="dan@x.test"),
    "assign_role": _member_case(
        members.assign_role, actor=OWNER, email="bob@x.test", role="program_sponsor", scope="p1"
    ),
    "remove_role": _member_case(members.remove_role, actor=OWNER, email="ana@x.test", role="admin"),
    "deactivate_member": _member_case(members.deactivate_member, actor=OWNER, email="ana@x.test"),
    "reactivate_member": _member_case(
        members.reactivate_member, actor="ana@x.test", email="cleo@x.test"
    ),
    "delete_member": _member_case(members.delete_member, actor=OWNER, email="bob@x.test"),
    "transfer_ownership": _member_case(members.transfer_ownership, actor=OWNER, email="ana@x.test"),
    "change_seat_count": _member_case(subscriptions.change_seat_count, actor=OWNER, seats=8),
    "set_addon": _member_case(
        subscriptions.set_addon, actor=OWNER, name="additional_admin_seat", count=2
    ),
    "cancel_subscription at period end": _member_case(
        subscriptions.cancel_subscription, actor=OWNER, at_period_end=True
    ),
    "cancel_subscription now": _member_case(
        subscriptions.cancel_subscription, actor=OWNER, at_period_end=False
    ),
}

REFUSED: dict[str, tuple[str, UseCase]] = {
    "a batch past the limit": (
        "seat_limit_reached",
        _member_case(
            members.invite_members,
            actor=OWNER,
            emails=[f"p{i}@x.test" for i in range(4)],
            role="program_admin",
        ),
    ),
    "a participant inviting": (
        "not_permitted",
        _member_case(
            members.invite_members, actor="bob@x.test", emails=["eve@x.test"], role="admin"
        ),
    ),
    "accepting an active membership": (
        "conflict",
        _member_case(members.accept_invite, email="ana@x.test"),
    ),
    "an unknown role": (
        "invalid_input",
        _member_case(members.assign_role, actor=OWNER, email="bob@x.test", role="janitor"),
    ),
    "a role not held in that scope": (
        "not_found",
        _member_case(
            members.remove_role, actor=OWNER, email="dan@x.test", role="participant", scope="p1"
        ),
    ),
    "removing the owner's role": (
        "required_role",
        _member_case(members.remove_role, actor=OWNER, email=OWNER, role="owner"),
    ),
    "deactivating a pending invite": (
        "conflict",
        _member_case(members.deactivate_member, actor=OWNER, email="dan@x.test"),
    ),
    "deleting a stranger": (
        "not_found",
        _member_case(members.delete_member, actor=OWNER, email="zed@x.test"),
    ),
    "seats below those in use": (
        "below_used_seats",
        _member_case(subscriptions.change_seat_count, actor=OWNER, seats=2),
    ),
    "an add-on the plan does not sell": (
        "not_found",
        _member_case(subscriptions.set_addon, actor=OWNER, name="extra", count=1),
    ),
    "a second subscription for a covered workspace": (
        "conflict",
        lambda svc, world: subscriptions.subscribe(
            svc,
            account_id=world.account_id,
            policy=world.policy,
            preset="upcoach",
            workspaces=["main"],
            owner_email=OWNER,
            seats=3,
        ),
    ),
}


class CommitLost(Exception):
    pass


@dataclass
class CommitFails:
    """A unit of work whose commit is lost once every write has been made: the process dying
    between the last statement and COMMIT."""

    inner: UnitOfWork

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __enter__(self) -> Self:
        self.inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.inner.__exit__(exc_type, exc, tb)

    def commit(self) -> None:
        raise CommitLost


@pytest.mark.parametrize("name", list(SUCCEEDING))
def test_a_use_case_appends_its_ledger_and_audit_rows_together(
    runtime: Runtime, clock: ManualClock, name: str
) -> None:
    world = build_world(runtime, clock)
    before = dump(world.engine)

    result = SUCCEEDING[name](runtime, world)

    grown = grown_by(before, dump(world.engine))
    assert grown["audit_log"] == 1
    assert grown["seat_ledger"] >= 1
    audit = world.audit()[-1]
    subscription_id = str(result.detail.get("subscription_id", world.subscription_id))
    with runtime.uow() as uow:
        ledger = uow.ledger.entries(world.account_id, subscription_id)
    last = ledger[-1]
    assert audit.at == last.at == clock.now()
    assert audit.action == name.split(" ")[0]
    figures = ("seats_total", "seats_used", "seats_at_renewal", "seats_paid")
    assert {k: (audit.after or {})[k] for k in figures} == {k: getattr(last, k) for k in figures}
    assert (result.seats.total, result.seats.used) == (last.seats_total, last.seats_used)


@pytest.mark.parametrize("name", list(SUCCEEDING))
def test_a_use_case_whose_commit_is_lost_leaves_nothing_behind(
    runtime: Runtime, clock: ManualClock, name: str
) -> None:
    world = build_world(runtime, clock)
    before = dump(world.engine)
    failing = Services(uow=lambda: CommitFails(runtime.uow()), clock=runtime.clock)

    with pytest.raises(CommitLost):
        SUCCEEDING[name](failing, world)

    assert dump(world.engine) == before


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_refused_use_case_writes_nothing(runtime: Runtime, clock: ManualClock, name: str) -> None:
    world = build_world(runtime, clock)
    code, use_case = REFUSED[name]
    before = dump(world.engine)

    with pytest.raises(SeatLedgerError) as refusal:
        use_case(runtime, world)

    assert refusal.value.code == code
    assert dump(world.engine) == before
