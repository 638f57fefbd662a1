"""Idempotency keys on SQLite and PostgreSQL: a repeat is answered from the store and changes
nothing, another request under the same key is a conflict, the key is committed in the change's own
transaction, and concurrent requests with one key make exactly one change."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType
from typing import Any, Self

import pytest
from service_world import OWNER, Subscribed, dump, grown_by, subscribe, subscribe_alongside

from seatledger.bootstrap import Runtime
from seatledger.clock import ManualClock
from seatledger.domain.errors import Conflict, InvalidInput, SeatLimitReached
from seatledger.service import accounts, members, subscriptions
from seatledger.service.context import Services
from seatledger.service.idempotency import IdempotentResponse, request_hash, run_idempotent
from seatledger.service.ports import Json, UnitOfWork
from seatledger.service.results import ChangeResult

THREADS = 8


def change_json(result: ChangeResult) -> Json:
    return {
        "seats": {"total": result.seats.total, "used": result.seats.used},
        "charged": result.charged.format(),
        "invoices": [i.number for i in result.invoices],
        "detail": result.detail,
    }


def invite_once(
    svc: Services, world: Subscribed, key: str, emails: tuple[str, ...] = ("ana@x.test",)
) -> IdempotentResponse:
    return run_idempotent(
        svc,
        account_id=world.account_id,
        key=key,
        request={"op": "invite_members", "emails": list(emails), "role": "member"},
        call=lambda s: members.invite_members(
            s, **world.common(), actor=OWNER, emails=list(emails), role="member"
        ),
        encode=change_json,
    )


def seats_once(svc: Services, world: Subscribed, key: str, seats: int) -> IdempotentResponse:
    return run_idempotent(
        svc,
        account_id=world.account_id,
        key=key,
        request={"op": "change_seat_count", "seats": seats},
        call=lambda s: subscriptions.change_seat_count(
            s, **world.common(), actor=OWNER, seats=seats
        ),
        encode=change_json,
    )


def test_a_repeated_key_returns_the_first_response_and_changes_nothing(
    runtime: Runtime, clock: ManualClock
) -> None:
    world = subscribe(runtime, "rallly-pro", seats=3)
    clock.advance(timedelta(days=15))
    before = dump(world.engine)

    first = seats_once(runtime, world, "key-1", 5)

    grown = grown_by(before, dump(world.engine))
    assert grown["idempotency_keys"] == 1 and grown["invoices"] == 1
    assert first.replayed is False
    assert first.response["seats"] == {"total": 5, "used": 1}
    after_first = dump(world.engine)
    clock.advance(timedelta(days=1))

    again = seats_once(runtime, world, "key-1", 5)

    assert again == IdempotentResponse(response=first.response, replayed=True)
    assert dump(world.engine) == after_first


def test_the_same_key_with_another_request_is_a_conflict(runtime: Runtime) -> None:
    world = subscribe(runtime, "rallly-pro", seats=3)
    seats_once(runtime, world, "key-1", 5)
    before = dump(world.engine)

    with pytest.raises(Conflict, match="'key-1' was used with a different request"):
        seats_once(runtime, world, "key-1", 6)
    with pytest.raises(Conflict):
        invite_once(runtime, world, "key-1")

    assert dump(world.engine) == before


def test_keys_belong_to_their_account(runtime: Runtime) -> None:
    first = subscribe(runtime, "rallly-pro", seats=3)
    second = subscribe(runtime, "rallly-pro", seats=3)

    invite_once(runtime, first, "shared")
    answer = invite_once(runtime, second, "shared")

    assert answer.replayed is False
    assert (first.used(), second.used()) == (2, 2)


@pytest.mark.parametrize("key", ["", "   ", "k" * 256])
def test_a_key_must_be_given_and_fit(runtime: Runtime, key: str) -> None:
    world = subscribe(runtime, "rallly-pro", seats=3)
    before = dump(world.engine)
    with pytest.raises(InvalidInput, match="idempotency_key"):
        invite_once(runtime, world, key)
    assert dump(world.engine) == before


def test_the_request_hash_is_canonical() -> None:
    assert request_hash({"a": 1, "b": [1, 2]}) == request_hash({"b": [1, 2], "a": 1})
    assert request_hash({"a": 1}) != request_hash({"a": "1"})
    assert len(request_hash({})) == 64


# --- one transaction -------------------------------------------------------------------------------


class CommitLost(Exception):
    pass


@dataclass
class CommitFails:
    """A unit of work whose commit is lost once every write has been made."""

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


def test_the_key_is_committed_with_the_change_or_not_at_all(runtime: Runtime) -> None:
    """The failure guarded against: the change committed by the use case's own unit of work and
    the key stored afterwards in another, so a crash in between made the change without its key
    and the client's retry made it twice."""
    world = subscribe(runtime, "rallly-pro", seats=3)
    before = dump(world.engine)
    losing = Services(uow=lambda: CommitFails(runtime.uow()), clock=runtime.clock)

    with pytest.raises(CommitLost):
        invite_once(losing, world, "key-1")

    assert dump(world.engine) == before  # the use case "committed", yet nothing is stored
    retried = invite_once(runtime, world, "key-1")
    assert retried.replayed is False and world.used() == 2


def test_a_response_that_cannot_be_encoded_undoes_the_change(runtime: Runtime) -> None:
    world = subscribe(runtime, "rallly-pro", seats=3)
    before = dump(world.engine)

    def broken(result: ChangeResult) -> Json:
        raise RuntimeError("encoder bug")

    with pytest.raises(RuntimeError, match="encoder bug"):
        run_idempotent(
            runtime,
            account_id=world.account_id,
            key="key-1",
            request={"op": "invite"},
            call=lambda s: members.invite_members(
                s, **world.common(), actor=OWNER, emails=["ana@x.test"], role="member"
            ),
            encode=broken,
        )

    assert dump(world.engine) == before


def test_several_use_cases_in_one_call_commit_together(runtime: Runtime) -> None:
    def sign_up(svc: Services) -> str:
        account_id = accounts.create_account(svc, name="New customer")
        subscriptions.subscribe(
            svc,
            account_id=account_id,
            policy=world.policy,
            preset="rallly-pro",
            workspaces=["new"],
            owner_email="owner@new.test",
            seats=2,
        )
        # a preview rolls its own work back, inside the call, without undoing the rest
        subscriptions.preview_seat_change(
            svc, account_id=account_id, workspace="new", actor="owner@new.test", seats=4
        )
        return account_id

    world = subscribe(runtime, "rallly-pro", seats=3)  # the account that owns the key
    before = dump(world.engine)

    answer = run_idempotent(
        runtime,
        account_id=world.account_id,
        key="sign-up",
        request={"op": "sign_up"},
        call=sign_up,
        encode=lambda account_id: {"account_id": account_id},
    )

    grown = grown_by(before, dump(world.engine))
    assert grown["accounts"] == 1 and grown["subscriptions"] == 1 and grown["invoices"] == 1
    assert grown["idempotency_keys"] == 1
    usage = subscriptions.seat_usage_of(
        runtime, account_id=answer.response["account_id"], workspace="new"
    )
    assert (usage.total, usage.used) == (2, 1)


def test_a_refusal_stores_no_answer_so_a_retry_runs_again(runtime: Runtime) -> None:
    world = subscribe(runtime, "rallly-pro", seats=1)
    before = dump(world.engine)

    with pytest.raises(SeatLimitReached):
        invite_once(runtime, world, "key-1")

    assert dump(world.engine) == before
    subscriptions.change_seat_count(runtime, **world.common(), actor=OWNER, seats=2)
    assert invite_once(runtime, world, "key-1").replayed is False
    assert world.used() == 2


# --- concurrency -----------------------------------------------------------------------------------


def run_together(calls: list[Callable[[], IdempotentResponse]]) -> list[IdempotentResponse | str]:
    """Each call in its own thread (its own connection and transaction), released at once."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[IdempotentResponse | str] = ["not run"] * len(calls)

    def run(index: int) -> None:
        barrier.wait(30)
        try:
            outcomes[index] = calls[index]()
        except Exception as error:
            outcomes[index] = f"{type(error).__name__}: {error}"

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def test_concurrent_requests_with_one_key_make_exactly_one_change(runtime: Runtime) -> None:
    """The race: several copies of one request (a client retrying on a timeout while the first is
    still running) all find the key free and run. Exactly one change may be made; every copy
    answers with the same response."""
    world = subscribe(runtime, "rallly-pro", seats=20)
    before = dump(world.engine)

    outcomes = run_together(
        [lambda: invite_once(runtime, world, "key-1", ("ana@x.test",))] * THREADS
    )

    answers = [o for o in outcomes if isinstance(o, IdempotentResponse)]
    assert len(answers) == THREADS, outcomes
    assert sorted(a.replayed for a in answers) == [False] + [True] * (THREADS - 1)
    assert {repr(a.response) for a in answers} == {repr(answers[0].response)}
    grown = grown_by(before, dump(world.engine))
    assert grown == {
        "idempotency_keys": 1,
        "audit_log": 1,
        "seat_ledger": 1,
        "memberships": 1,
        "role_assignments": 1,
        "persons": 1,
        "webhook_outbox": 1,
        "seat_intervals": 1,
    }


def test_concurrent_requests_with_one_key_on_different_subscriptions_make_one_change(
    runtime: Runtime, clock: ManualClock
) -> None:
    """The same race where no subscription lock puts the copies in line: they change two
    subscriptions of one account under one key, and only the key's unique index can stop the
    second change (its transaction is rolled back whole)."""
    first = subscribe(runtime, "rallly-pro", seats=5, workspaces=("main",))
    second_id = subscribe_alongside(first, "side", seats=5, owner=OWNER).subscription_id

    def seats_in(workspace: str) -> IdempotentResponse:
        return run_idempotent(
            runtime,
            account_id=first.account_id,
            key="key-1",
            request={"op": "change_seat_count", "seats": 7},
            call=lambda s: subscriptions.change_seat_count(
                s, account_id=first.account_id, workspace=workspace, actor=OWNER, seats=7
            ),
            encode=change_json,
        )

    outcomes = run_together([lambda: seats_in("main"), lambda: seats_in("side")] * 3)

    assert all(isinstance(o, IdempotentResponse) for o in outcomes), outcomes
    with runtime.uow() as uow:
        totals = [
            uow.subscriptions.get(first.account_id, s).seats_total
            for s in (first.subscription_id, second_id)
        ]
    assert sorted(totals) == [5, 7]


def test_copies_of_a_request_that_cannot_be_made_twice_all_get_the_first_answer(
    runtime: Runtime,
) -> None:
    """The race where the copies that lose are refused by the change itself (ana is deactivated
    already) rather than by the key: they must answer as the first did, not with a conflict."""
    world = subscribe(runtime, "upcoach", seats=5)
    members.invite_members(
        runtime, **world.common(), actor=OWNER, emails=["ana@x.test"], role="admin"
    )
    members.accept_invite(runtime, **world.common(), email="ana@x.test")

    def deactivate() -> IdempotentResponse:
        return run_idempotent(
            runtime,
            account_id=world.account_id,
            key="off",
            request={"op": "deactivate", "email": "ana@x.test"},
            call=lambda s: members.deactivate_member(
                s, **world.common(), actor=OWNER, email="ana@x.test"
            ),
            encode=change_json,
        )

    outcomes = run_together([deactivate] * THREADS)

    answers = [o for o in outcomes if isinstance(o, IdempotentResponse)]
    assert len(answers) == THREADS, outcomes
    assert sorted(a.replayed for a in answers) == [False] + [True] * (THREADS - 1)
    assert len([a for a in world.audit() if a.action == "deactivate_member"]) == 1


def test_a_response_must_be_a_json_object(runtime: Runtime) -> None:
    world = subscribe(runtime, "rallly-pro", seats=3)
    before = dump(world.engine)
    with pytest.raises(TypeError, match="JSON object"):
        run_idempotent(
            runtime,
            account_id=world.account_id,
            key="k",
            request={},
            call=lambda s: None,
            encode=lambda _: [1, 2],  # type: ignore[arg-type,return-value]
        )
    assert dump(world.engine) == before
