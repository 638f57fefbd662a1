"""Reading and writing fair billing's activity records with a subscription's state.

Only subscriptions whose policy has ``inactive_after`` read or write them, so every other seat
change costs no query more. ``save_activity`` first makes the records follow the seat holders at
the change's instant (``track_holders``: joining starts a record, leaving drops it), then writes
what differs from what was read.
"""

from __future__ import annotations

from datetime import datetime

from seatledger.domain.fair_billing import ActivityBook, track_holders
from seatledger.domain.seats import seat_holders
from seatledger.service.ports import Subscription, UnitOfWork
from seatledger.service.state import SubscriptionState


def load_activity(uow: UnitOfWork, sub: Subscription) -> ActivityBook:
    """The activity records of ``sub`` (an empty book, not read, when fair billing is off)."""
    if sub.policy.inactive_after is None:
        return ActivityBook()
    return ActivityBook.loaded(uow.member_activity.load(sub.account_id, sub.id))


def save_activity(uow: UnitOfWork, state: SubscriptionState, *, at: datetime) -> None:
    """Bring the records in line with the seat holders at ``at`` and write the difference; the
    people's rows exist by now (the roster is saved first)."""
    if state.policy.inactive_after is None:
        return
    if state.activity.stored is None:
        # Not read with the state (a new subscription, or a state built without it): the store's
        # records are read now and kept, so no one's activity starts over.
        stored = uow.member_activity.load(state.account_id, state.subscription_id)
        state.activity = ActivityBook(entries={**stored, **state.activity.entries}, stored=stored)
    holders = seat_holders(state.roster, state.policy, at)
    book = track_holders(state.activity, holders, at)
    upserts, deleted = book.changes()
    if upserts or deleted:
        ids = uow.persons.ids_by_email(state.account_id, {*upserts, *deleted})
        uow.member_activity.save(
            state.account_id,
            state.subscription_id,
            upserts={ids[e]: a for e, a in upserts.items()},
            deleted=[ids[e] for e in deleted if e in ids],
        )
    state.activity = book.saved()
