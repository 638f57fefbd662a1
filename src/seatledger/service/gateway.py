"""Loading a ``SubscriptionState`` through the ports, and writing it back with its effects.

This is the one place that knows how the state maps onto the repositories: workspace names (what
people use) to the store's workspace ids, e-mails to person ids in the ledger, the audit log and
the outbox, pending lines to their rows, drafts to numbered invoices.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from seatledger.domain.billing import SeatBilling
from seatledger.domain.errors import Conflict, NotFound
from seatledger.domain.money import Money
from seatledger.domain.seats import normalize_email
from seatledger.service.activity_records import load_activity, save_activity
from seatledger.service.billing_engine import month_end_due
from seatledger.service.peak_engine import true_up_due
from seatledger.service.ports import (
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    OutboxEvent,
    PendingLine,
    StoredRoster,
    Subscription,
    SubscriptionParts,
    SubscriptionVersion,
    UnitOfWork,
    Workspace,
    new_id,
)
from seatledger.service.results import InvoiceView
from seatledger.service.roster_naming import ByIdRoster, named
from seatledger.service.seat_intervals import record_seat_intervals
from seatledger.service.state import (
    Effects,
    InvoiceDraft,
    InvoiceReason,
    StoredRows,
    SubscriptionState,
)


def workspace_named(uow: UnitOfWork, account_id: str, name: str) -> Workspace:
    workspace = uow.workspaces.find_by_name(account_id, name)
    if workspace is None:
        raise NotFound(kind="workspace", key=name)
    return workspace


def subscription_for(uow: UnitOfWork, account_id: str, workspace_name: str) -> Subscription:
    workspace = workspace_named(uow, account_id, workspace_name)
    subscription = uow.subscriptions.find_for_workspace(account_id, workspace.id)
    if subscription is None:
        raise NotFound(kind="subscription for workspace", key=workspace_name)
    return subscription


def load_state(
    uow: UnitOfWork, account_id: str, workspace_name: str, *, lock: bool = True
) -> SubscriptionState:
    """The subscription covering ``workspace_name``, locked (the seat lock) unless ``lock=False``."""
    covering = uow.subscriptions.find_for_workspace_name(account_id, workspace_name, lock=lock)
    if covering is None:
        found = subscription_for(uow, account_id, workspace_name)  # NotFound saying what is missing
        return load_state_by_id(uow, account_id, found.id, lock=lock)
    return _load(
        uow,
        covering.subscription,
        locked=lock,
        names=covering.workspace_names,
        balances=covering.balances,
    )


def load_state_by_id(
    uow: UnitOfWork, account_id: str, subscription_id: str, *, lock: bool = True
) -> SubscriptionState:
    sub = (
        uow.subscriptions.get_for_update(account_id, subscription_id)
        if lock
        else uow.subscriptions.get(account_id, subscription_id)
    )
    return _load(uow, sub, locked=lock)


def _load(
    uow: UnitOfWork,
    sub: Subscription,
    *,
    locked: bool,
    names: dict[str, str] | None = None,
    balances: Mapping[str, Money] | None = None,
) -> SubscriptionState:
    """The state of ``sub`` (read, and locked when asked, by the caller): one read per table;
    the credit balance from ``balances`` when the caller read them with the subscription.

    The roster, the add-ons and the pending lines may come from what was committed at the row's
    version without a read (``rosters.load``'s ``version``, ``parts.load``): every change to them
    moves the version on."""
    account_id = sub.account_id
    if names is None:
        names = uow.subscriptions.workspace_names(account_id, sub.id)
    stored = uow.rosters.load(
        account_id,
        sorted(names),
        version=SubscriptionVersion(sub.id, sub.version),
        remember=locked,
    )
    roster = named(stored, names)
    parts = uow.parts.load(account_id, sub.id, version=sub.version, remember=locked)
    return SubscriptionState(
        account_id=account_id,
        subscription_id=sub.id,
        policy=sub.policy,
        preset=sub.preset,
        anchor_at=sub.anchor_at,
        billing=SeatBilling(
            period=sub.period,
            seats_total=sub.seats_total,
            seats_at_renewal=sub.seats_at_renewal,
            seats_paid=sub.seats_paid,
            invoiced=sub.seats_invoiced,
            seats_peak=sub.seats_peak,
            peak_since=sub.peak_since,
        ),
        roster=roster,
        workspaces=tuple(sorted(names.values())),
        addons=dict(parts.addons),
        pending=[p.line for p in parts.pending],
        balance=_balance(uow, account_id, sub.policy.currency, balances),
        status=sub.status,
        cancel_at_period_end=sub.cancel_at_period_end,
        canceled_at=sub.canceled_at,
        created_at=sub.created_at,
        version=sub.version,
        test_clock_id=sub.test_clock_id,
        workspace_ids={name: ws_id for ws_id, name in names.items()},
        activity=load_activity(uow, sub),
        stored=StoredRows(
            record=sub, roster=stored, addons=dict(parts.addons), pending=parts.pending
        ),
    )


def _balance(
    uow: UnitOfWork, account_id: str, currency: str, balances: Mapping[str, Money] | None
) -> Money:
    if balances is None:
        return uow.credits.balance(account_id, currency)
    found = balances.get(currency)
    return found if found is not None else Money.zero(currency)


def _record(state: SubscriptionState) -> Subscription:
    assert state.created_at is not None
    return Subscription(
        account_id=state.account_id,
        id=state.subscription_id,
        policy=state.policy,
        preset=state.preset,
        status=state.status,
        anchor_at=state.anchor_at,
        period=state.billing.period,
        seats_total=state.billing.seats_total,
        seats_at_renewal=state.billing.seats_at_renewal,
        seats_paid=state.billing.seats_paid,
        seats_invoiced=state.billing.invoiced,
        month_end_at=_in_period_due(state),
        seats_peak=state.billing.seats_peak,
        peak_since=state.billing.peak_since,
        created_at=state.created_at,
        cancel_at_period_end=state.cancel_at_period_end,
        canceled_at=state.canceled_at,
        test_clock_id=state.test_clock_id,
        version=state.version,
    )


def _in_period_due(state: SubscriptionState) -> datetime | None:
    """The instant inside the period the billing run must claim the subscription at (the row's
    ``month_end_at``): a monthly billing of pending increases or a true-up reconciliation."""
    due = [d for d in (month_end_due(state), true_up_due(state)) if d is not None]
    return min(due, default=None)


def create_state(
    uow: UnitOfWork, state: SubscriptionState, effects: Effects, *, at: datetime
) -> list[InvoiceView]:
    """Insert a new subscription (its workspaces created when missing) and write its effects."""
    account_id = state.account_id
    uow.accounts.get(account_id)
    for name in state.workspaces:
        workspace = uow.workspaces.find_by_name(account_id, name)
        if workspace is None:
            workspace = Workspace(account_id=account_id, id=new_id("ws"), name=name, created_at=at)
            uow.workspaces.add(workspace)
        elif uow.subscriptions.find_for_workspace(account_id, workspace.id) is not None:
            raise Conflict(f"Workspace {name!r} is already covered by a subscription.")
        state.workspace_ids[name] = workspace.id
    state.subscription_id = new_id("sub")
    state.created_at = at
    uow.subscriptions.add(_record(state))
    uow.subscriptions.set_workspaces(
        account_id, state.subscription_id, list(state.workspace_ids.values())
    )
    record = _record(state)
    before = uow.rosters.load(account_id, list(state.workspace_ids.values()))
    return _write_effects(uow, state, effects, at=at, before=before, addons={}, record=record)


def save_state(
    uow: UnitOfWork, state: SubscriptionState, effects: Effects, *, at: datetime
) -> list[InvoiceView]:
    """Write the changed state and everything the change produced, in the caller's transaction.

    Only what differs from the rows as loaded (``state.stored``) is written; for a state that was
    not loaded, the roster and add-ons are compared with the rows read now and the subscription
    row is written whole."""
    record = _record(state)
    stored = state.stored
    saved = uow.subscriptions.save(record, stored=None if stored is None else stored.record)
    state.version = saved.version
    if stored is None:
        return _write_effects(
            uow,
            state,
            effects,
            at=at,
            before=uow.rosters.load(state.account_id, list(state.workspace_ids.values())),
            addons=uow.addons.counts(state.account_id, state.subscription_id),
            record=saved,
        )
    return _write_effects(
        uow,
        state,
        effects,
        at=at,
        before=stored.roster,
        addons=stored.addons,
        record=saved,
        pending=stored.pending,
    )


def _write_effects(
    uow: UnitOfWork,
    state: SubscriptionState,
    effects: Effects,
    *,
    at: datetime,
    before: StoredRoster,
    addons: dict[str, int],
    record: Subscription,
    pending: tuple[PendingLine, ...] | None = None,
) -> list[InvoiceView]:
    """Write ``state`` (its roster compared with ``before``, its add-ons with ``addons``, both as
    stored now) and ``effects``; ``record`` is the subscription row as saved, ``pending`` the
    unbilled pending lines as stored (read here when needed and not given)."""
    account_id, sub_id = state.account_id, state.subscription_id
    workspace_ids = list(state.workspace_ids.values())
    by_id = ByIdRoster(state.roster, state.workspace_ids, before)
    roster = uow.rosters.save(
        account_id, workspace_ids, by_id.roster, at=at, version=record.version, stored=before
    )
    by_id.remember_named(roster)
    uow.rosters.remember(
        account_id, workspace_ids, roster, version=SubscriptionVersion(sub_id, record.version)
    )
    # Everyone on the roster before or after: the seat intervals, the ledger, the audit log and
    # the outbox name them by these ids, and the people gone from it are the ones to erase.
    everyone = {**before.person_ids, **roster.person_ids}
    record_seat_intervals(
        uow,
        state,
        effects,
        at=at,
        before=before.roster,
        after=by_id.roster,
        person_ids=everyone,
    )
    people = _Pseudonyms(uow, account_id, everyone)
    for name in set(addons) | set(state.addons):
        if addons.get(name, 0) != state.addons.get(name, 0):
            uow.addons.set_count(account_id, sub_id, name, state.addons.get(name, 0), at=at)
    if pending is None and effects.pending_billed_by:
        pending = uow.pending_lines.unbilled(account_id, sub_id)
    # As stored before this change adds any: they are the lines its first renewal bills.
    unbilled = [p.id for p in pending or ()] if effects.pending_billed_by else []
    # The pending lines stay as they were unless this change adds or bills some.
    kept = None if effects.pending_added or effects.pending_billed_by else pending
    state.stored = StoredRows(record=record, roster=roster, addons=dict(state.addons), pending=kept)
    if kept is not None:
        counts = {name: n for name, n in sorted(state.addons.items()) if n > 0}
        uow.parts.remember(
            account_id, sub_id, SubscriptionParts(counts, kept), version=record.version
        )
    added = [
        uow.pending_lines.add(account_id, sub_id, line, at=at).id for line in effects.pending_added
    ]
    consumed: set[str] = set()
    billing_by = dict(effects.pending_billed_by)
    views = []
    for index, draft in enumerate(effects.invoices):
        invoice = _add_invoice(uow, state, draft, at=at)
        views.append(invoice_view(invoice, draft))
        if index in billing_by:
            ids = [i for i in (*unbilled, *added[: billing_by[index]]) if i not in consumed]
            if ids:
                uow.pending_lines.mark_billed(account_id, ids, invoice.id)
                consumed.update(ids)
    save_activity(uow, state, at=at)
    for movement in effects.credits:
        uow.credits.add(account_id, amount=movement.amount, reason=movement.reason, at=movement.at)
    people.ensure({entry.email for entry in effects.ledger if entry.email is not None}, at=at)
    people.find(
        address
        for audit in effects.audit
        for text in (audit.actor, audit.target)
        for address in _EMAIL.findall(text)
    )
    uow.change_records.write(
        ledger=[
            entry.record(
                account_id,
                sub_id,
                person_id=None if entry.email is None else people.id_of(entry.email),
            )
            for entry in effects.ledger
        ],
        audit=[
            audit.record(
                account_id,
                actor=people.text(audit.actor),
                target=_audit_target(people.text(audit.target)),
            )
            for audit in effects.audit
        ],
        outbox=[
            *(
                OutboxEvent(account_id, 0, event.type, people.json(event.payload), created_at=at)
                for event in effects.events
            ),
            *(
                OutboxEvent(account_id, 0, "invoice.issued", invoice_issued(view), created_at=at)
                for view in views
                if view.kind is InvoiceKind.INVOICE
            ),
        ],
    )
    # ``person_ids`` holds exactly the e-mails of each roster's members.
    for email in sorted(before.person_ids.keys() - roster.person_ids.keys()):
        person_id = before.person_ids[email]
        if not uow.persons.workspace_ids(account_id, person_id):
            try:
                uow.persons.erase(account_id, person_id, at=at)
            except Conflict:
                # Made a member elsewhere in the account since the look above (a change of
                # another subscription that committed while ``erase`` waited for the person's
                # row): they belong somewhere still, so nothing is erased.
                continue
    return views


# An e-mail address, alone or inside an audit target ("ana@x.test:admin:p1", "a@x.test,b@x.test").
_EMAIL = re.compile(r"[^\s,:@]+@[^\s,:@]+")
# What an address that is nobody of the account (a refused invitee) is written as.
NO_PERSON = "(no person)"
# The audit log's target column holds at most 200 characters (store/tables.py).
_TARGET_LENGTH = 200


class _Pseudonyms:
    """Person ids in place of e-mail addresses, for the ledger, the audit log and the outbox.

    Both logs are append-only, so an address written there could never be erased; a person id is
    erased with the person (``persons.erase``). Used before the erasures of the same change: a
    person deleted by it is still found by e-mail then. ``known`` are the ids the roster gave;
    others are looked up (``find``, all at once) or created (``ensure``, for the ledger).
    """

    def __init__(self, uow: UnitOfWork, account_id: str, known: dict[str, str]) -> None:
        self._uow, self._account_id = uow, account_id
        self._ids = dict(known)

    def ensure(self, emails: Iterable[str], *, at: datetime) -> None:
        missing = sorted({e for e in emails if e not in self._ids})
        if missing:
            self._ids |= self._uow.persons.ensure_ids(self._account_id, missing, at=at)

    def find(self, addresses: Iterable[str]) -> None:
        missing = sorted({normalize_email(a) for a in addresses} - self._ids.keys())
        if missing:
            found = self._uow.persons.ids_by_email(self._account_id, missing)
            self._ids |= {email: found.get(email, NO_PERSON) for email in missing}

    def id_of(self, email: str) -> str:
        return self._ids[email]

    def text(self, value: str) -> str:
        return _EMAIL.sub(lambda match: self._person_id(match.group()), value)

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.json(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.json(item) for item in value]
        return value

    def _person_id(self, address: str) -> str:
        email = normalize_email(address)
        if email not in self._ids:
            self.find([email])
        return self._ids[email]


def _audit_target(target: str) -> str:
    """``target`` within the column's length: a list too long is named by its first item."""
    if len(target) <= _TARGET_LENGTH:
        return target
    items = target.split(",")
    return f"{items[0]} and {len(items) - 1} more"[:_TARGET_LENGTH]


def _add_invoice(
    uow: UnitOfWork, state: SubscriptionState, draft: InvoiceDraft, *, at: datetime
) -> Invoice:
    status = InvoiceStatus.PAID if draft.total.is_zero else InvoiceStatus.OPEN
    return uow.invoices.add(
        state.account_id,
        state.subscription_id,
        kind=draft.kind,
        status=status,
        reason=draft.reason.value,
        period=draft.period,
        currency=state.policy.currency,
        lines=draft.lines,
        issued_at=draft.issued_at,
        at=at,
        renewal_of=draft.renewal_of,
    )


def invoice_issued(view: InvoiceView) -> dict[str, str]:
    """The payload of the ``invoice.issued`` event."""
    return {
        "invoice_id": view.id,
        "number": view.number,
        "total": view.total.format(),
        "currency": view.currency,
    }


def invoice_view(invoice: Invoice, draft: InvoiceDraft | None = None) -> InvoiceView:
    """``invoice`` as a view; ``draft``, the draft it was issued from, gives its reason and total
    as they are known already (the billing run makes thousands of views per batch)."""
    return InvoiceView(
        id=invoice.id,
        number=f"{invoice.number:06d}",
        kind=invoice.kind,
        reason=draft.reason if draft is not None else InvoiceReason(invoice.reason),
        status=invoice.status.value,
        period=invoice.period,
        issued_at=invoice.issued_at or invoice.created_at,
        currency=invoice.currency,
        total=draft.total if draft is not None else invoice.total,
        lines=invoice.lines,
    )


def draft_views(state: SubscriptionState, drafts: Sequence[InvoiceDraft]) -> list[InvoiceView]:
    """Unnumbered views of drafts, for a preview that writes nothing."""
    return [
        InvoiceView(
            id="",
            number="",
            kind=d.kind,
            reason=d.reason,
            status="draft",
            period=d.period,
            issued_at=d.issued_at,
            currency=state.policy.currency,
            total=d.total,
            lines=d.lines,
        )
        for d in drafts
    ]


def credit_balance(uow: UnitOfWork, account_id: str, currency: str) -> Money:
    return uow.credits.balance(account_id, currency)
