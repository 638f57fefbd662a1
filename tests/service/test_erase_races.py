"""A person is erased when they leave their last workspace of the account, never while another
change makes them a member elsewhere (PostgreSQL; SQLite's writers take turns).

Each test stages one interleaving with a transaction of its own that holds the person's row, as
the other side of the race would: a change adding a membership holds it (``FOR KEY SHARE``), an
erasure locks it (``FOR UPDATE``) before it looks for memberships.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from lock_waits import WAIT_SECONDS, wait_for_waiters
from service_world import Subscribed, subscribe, subscribe_alongside
from sqlalchemy import Connection, Engine, text

from seatledger.bootstrap import Runtime, bootstrap
from seatledger.clock import ManualClock
from seatledger.service import members
from seatledger.service.gateway import load_state

pytestmark = pytest.mark.postgres

PERSON = "p@x.test"


@pytest.fixture
def runtime(postgres_database_url: str, clock: ManualClock) -> Iterator[Runtime]:
    built = bootstrap(postgres_database_url, clock=clock)
    yield built
    built.dispose()


def two_workspaces(runtime: Runtime) -> tuple[Subscribed, Subscribed]:
    """Workspaces ``a`` and ``b`` of one account, each with a subscription of its own."""
    first = subscribe(runtime, "rallly-pro", seats=5, workspaces=("a",))
    return first, subscribe_alongside(first, "b", seats=5, owner=first.owner)


def holding(engine: Engine, statement: str, **values: object) -> Connection:
    """A connection that ran ``statement`` in a transaction left open."""
    conn = engine.connect()
    conn.begin()
    conn.execute(text(statement), values)
    return conn


def in_thread(job: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            job()
        except BaseException as error:  # reported by the test's thread
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def person_row(engine: Engine, person_id: str) -> tuple[object, ...]:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT email, erased_at FROM persons WHERE id = :id"), {"id": person_id}
        ).one()
    return tuple(row)


def roster_emails(runtime: Runtime, world: Subscribed, workspace: str) -> set[str]:
    with runtime.uow() as uow:
        state = load_state(uow, world.account_id, workspace, lock=False)
    return {member.email for member in state.roster.members}


def test_a_person_invited_elsewhere_while_leaving_their_last_workspace_is_not_erased(
    runtime: Runtime,
) -> None:
    """The invitation to ``b`` holds the person's row until it commits, and the removal from
    ``a`` locks that row before it looks for memberships: it waits, finds the new one, and
    erases nothing. (Had it looked first, it would have found none and erased the person the
    invitation had just made a member of ``b``.)"""
    a, b = two_workspaces(runtime)
    members.invite_members(runtime, **a.common("a"), actor=a.owner, emails=[PERSON], role="member")
    members.accept_invite(runtime, **a.common("a"), email=PERSON)
    person_id = a.person_id(PERSON)
    # Holds the person as the invitation will: the removal queues behind it on the row.
    holder = holding(
        a.engine,
        "SELECT id FROM persons WHERE id = :id FOR KEY SHARE",
        id=person_id,
    )
    try:
        removal, errors = in_thread(
            lambda: members.delete_member(runtime, **a.common("a"), actor=a.owner, email=PERSON)
        )
        wait_for_waiters(a.engine, 1)
        members.invite_members(
            runtime, **b.common("b"), actor=b.owner, emails=[PERSON], role="member"
        )
    finally:
        holder.rollback()
        holder.close()
    removal.join(WAIT_SECONDS)
    assert errors == []
    assert person_row(a.engine, person_id) == (PERSON, None)
    assert PERSON not in roster_emails(runtime, a, "a")
    assert PERSON in roster_emails(runtime, b, "b")
    assert b.person_id(PERSON) == person_id


def test_people_invited_while_one_of_them_is_being_erased_get_a_person_of_their_own(
    runtime: Runtime,
) -> None:
    """An erasure in progress (the person's e-mail cleared, not committed) when a batch
    invitation looks its people up: the invitation waits for it, finds the address free, and
    makes a new person for it. (Looked up without holding the rows, it took the erased person's
    id and made that row, with no e-mail any more, a member of ``b``.)"""
    _, b = two_workspaces(runtime)
    with runtime.uow() as uow:
        erased_id = uow.persons.ensure(b.account_id, PERSON, at=runtime.clock.now()).id
        uow.commit()
    holder = holding(
        b.engine,
        "UPDATE persons SET email = NULL, display_name = NULL, erased_at = now() WHERE id = :id",
        id=erased_id,
    )
    try:
        invitation, errors = in_thread(
            lambda: members.invite_members(
                runtime,
                **b.common("b"),
                actor=b.owner,
                emails=[PERSON, "q@x.test"],
                role="member",
            )
        )
        wait_for_waiters(b.engine, 1)
        holder.commit()
    finally:
        holder.close()
    invitation.join(WAIT_SECONDS)
    assert errors == []
    assert person_row(b.engine, erased_id)[0] is None
    with runtime.uow() as uow:
        assert uow.persons.workspace_ids(b.account_id, erased_id) == ()
    assert b.person_id(PERSON) != erased_id
    assert {PERSON, "q@x.test"} <= roster_emails(runtime, b, "b")
