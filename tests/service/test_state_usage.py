"""``SubscriptionState.usage`` keeps its last answer: it must still follow every change of what it
counts (the roster, the policy, the seats bought, the add-ons, the instant). And a copy of a state
(the figures before a change) is shallow, as ``copy.copy`` makes it."""

from __future__ import annotations

from copy import copy
from dataclasses import replace
from datetime import datetime, timedelta

from state_builders import START, a_state, member, policy

from seatledger.domain.seats import Member, MemberStatus, RoleGrant, SeatUsage, seat_usage
from seatledger.service.state import SubscriptionState


def fresh(state: SubscriptionState, at: datetime) -> SeatUsage:
    return seat_usage(state.roster, state.policy, state.capacity, at)


def test_the_same_question_gets_the_kept_answer() -> None:
    state = a_state()
    first = state.usage(START)
    assert (first.total, first.used) == (3, 2)
    assert first == fresh(state, START)
    assert state.usage(START) is first
    # A copy taken before a change (the figures before it) answers alike.
    assert copy(state).usage(START) is first


def test_every_input_it_counts_moves_the_answer() -> None:
    state = a_state()
    assert state.usage(START).used == 2
    # The instant: bob's grant has expired three days on.
    later = START + timedelta(days=3)
    assert state.usage(later) == fresh(state, later)
    assert state.usage(later).used == 1
    # The roster: a new member, in a new roster.
    state.roster = state.roster.put(member("cy@x.test"))
    assert state.usage(START).used == 3
    # The seats bought and the add-ons: the capacity.
    state.billing = replace(state.billing, seats_total=4)
    assert state.usage(START).total == 4
    state.addons["pack"] = 1
    assert state.usage(START).total == 9
    # The policy: a pending invitation counts only under a policy that counts it.
    invited = Member("dee@x.test", "main", MemberStatus.PENDING, frozenset({RoleGrant("member")}))
    state.roster = state.roster.put(invited)
    assert state.usage(START).used == 3
    state.policy = policy(count_pending_invites=True)
    assert state.usage(START).used == 4
    assert state.usage(START) == fresh(state, START)


def test_a_copy_shares_the_fields_and_keeps_them_when_the_state_moves_on() -> None:
    state = a_state()
    state.addons["pack"] = 1
    before = copy(state)
    assert type(before) is SubscriptionState
    assert vars(before) == vars(state)
    assert before.roster is state.roster and before.addons is state.addons
    state.roster = state.roster.put(member("cy@x.test"))
    state.billing = replace(state.billing, seats_total=7)
    assert before.roster.find("cy@x.test", "main") is None
    assert before.billing.seats_total == 3
    assert before.usage(START).used == 2 and state.usage(START).used == 3


def test_a_copy_taken_before_the_first_question_shares_the_answer_until_one_moves_on() -> None:
    state = a_state()
    before = copy(state)
    counted = state.usage(START)
    assert before.usage(START) is counted
    state.billing = replace(state.billing, seats_total=7)
    assert state.usage(START).total == 7
    assert before.usage(START).total == 3
    assert before.usage(START) == fresh(before, START)
    assert state.usage(START) == fresh(state, START)
