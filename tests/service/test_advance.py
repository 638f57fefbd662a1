"""``advance`` says whether anything fell due: the billing run renews only what it advanced."""

from __future__ import annotations

from datetime import timedelta

from state_builders import START, a_state

from seatledger.service.billing_engine import advance
from seatledger.service.state import Effects, SubscriptionStatus


def test_nothing_due_leaves_the_state_and_effects_as_they_were() -> None:
    state = a_state()
    period, roster = state.billing.period, state.roster
    effects = Effects()
    assert advance(state, effects, until=START + timedelta(days=2)) is False
    assert state.billing.period == period and state.roster is roster
    assert effects == Effects()


def test_a_role_expiry_alone_is_something_done() -> None:
    state = a_state()
    effects = Effects()
    # bob's grant expires three days on; the period ends later.
    assert advance(state, effects, until=START + timedelta(days=3)) is True
    assert state.roster.find("bob@x.test", "main") is not None
    assert [a.action for a in effects.audit] == ["expire_roles"]
    assert effects.invoices == []


def test_a_renewal_is_something_done_and_a_canceled_subscription_has_nothing_due() -> None:
    state = a_state()
    end = state.billing.period.end
    effects = Effects()
    assert advance(state, effects, until=end) is True
    assert state.billing.period.start == end
    assert [d.renewal_of for d in effects.invoices] == [end]
    state.status = SubscriptionStatus.CANCELED
    assert advance(state, Effects(), until=end + timedelta(days=400)) is False
