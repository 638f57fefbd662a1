"""Ports: the unit of work and the repositories the use cases write against.

The service layer depends on these protocols only; ``seatledger.store`` implements them with
SQLAlchemy on SQLite and PostgreSQL, and ``bootstrap`` picks the implementation. Nothing here
imports a database library.

How a use case uses them::

    with uow:
        sub = uow.subscriptions.get_for_update(account_id, subscription_id)   # the seat lock
        workspaces = uow.subscriptions.workspace_ids(account_id, sub.id)
        roster = uow.rosters.get(account_id, workspaces)
        ...  # ask the domain; build the new roster, the ledger and audit entries
        saved = uow.subscriptions.save(replace(sub, ...), stored=sub)       # the version moves on
        uow.rosters.save(account_id, workspaces, new_roster, at=now, version=saved.version)
        uow.ledger.append(account_id, sub.id, at=now, kind="member_invited", ...)
        uow.audit.append(account_id, at=now, actor=..., action=..., target=...)
        uow.commit()

Rules the store guarantees, and the ones it expects:

- One ``with uow:`` block is one database transaction. Leaving the block without ``commit()``
  (an exception, or simply not committing) rolls everything back. A unit of work can be entered
  again afterwards for a new transaction; it cannot be nested.
- ``subscriptions.get_for_update`` takes the lock under which seat limits are enforced (PostgreSQL
  ``SELECT ... FOR UPDATE``; SQLite serializes all writing units with ``BEGIN IMMEDIATE``). Read
  the roster *after* taking it. Ledger sequence numbers are allocated under it too, so append to a
  subscription's ledger only while holding its lock.
- Instants are aware UTC datetimes; a naive one is refused with ``InvalidInput``. Money is
  ``Money`` settled to its currency's minor unit (the store keeps integer minor units).
- JSON fields (``detail``, ``before``/``after``, ``payload``, ``response``) hold JSON values only:
  amounts as strings. Refer to people by ``person_id``, never by e-mail, in the ledger, the audit
  log and the outbox: erasing a person then removes their e-mail everywhere.
- A uniqueness rule broken by an ``add``/``put`` raises ``Conflict`` and leaves the transaction
  usable (the insert runs in a savepoint), so a caller may catch it and carry on.
- ``get`` of something missing raises ``NotFound``; ``find_*`` methods return ``None`` instead.
- The seat ledger, the audit log and credit entries are append-only: no method changes or
  removes a row, and the database refuses ``UPDATE``/``DELETE`` on them.
"""

from seatledger.service.ports.batches import (
    RenewalBatchRepository,
    RenewalWrites,
    StoredParts,
    SubscriptionKey,
)
from seatledger.service.ports.records import (
    Account,
    ApiKey,
    AuditRecord,
    Covering,
    CreditEntry,
    DatabaseNotMigrated,
    DeliveryStatus,
    IdempotencyRecord,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Json,
    LedgerRecord,
    OutboxEvent,
    PendingLine,
    Person,
    StoredRoster,
    StoreError,
    Subscription,
    SubscriptionParts,
    SubscriptionStatus,
    SubscriptionVersion,
    TestClock,
    WebhookDelivery,
    WebhookEndpoint,
    Workspace,
    new_id,
)
from seatledger.service.ports.repositories import (
    AccountRepository,
    AddonRepository,
    ApiKeyRepository,
    AuditRepository,
    ChangeRecordRepository,
    CreditRepository,
    IdempotencyRepository,
    InvoiceRepository,
    LedgerRepository,
    OutboxRepository,
    PendingLineRepository,
    PersonRepository,
    RosterRepository,
    SubscriptionPartsRepository,
    SubscriptionRepository,
    TestClockRepository,
    UnitOfWork,
    WebhookDeliveryRepository,
    WebhookEndpointRepository,
    WebhookSender,
    WorkspaceRepository,
)

__all__ = [
    "Account",
    "AccountRepository",
    "AddonRepository",
    "ApiKey",
    "ApiKeyRepository",
    "AuditRecord",
    "AuditRepository",
    "ChangeRecordRepository",
    "Covering",
    "CreditEntry",
    "CreditRepository",
    "DatabaseNotMigrated",
    "DeliveryStatus",
    "IdempotencyRecord",
    "IdempotencyRepository",
    "Invoice",
    "InvoiceKind",
    "InvoiceRepository",
    "InvoiceStatus",
    "Json",
    "LedgerRecord",
    "LedgerRepository",
    "OutboxEvent",
    "OutboxRepository",
    "PendingLine",
    "PendingLineRepository",
    "Person",
    "PersonRepository",
    "RenewalBatchRepository",
    "RenewalWrites",
    "RosterRepository",
    "StoreError",
    "StoredParts",
    "StoredRoster",
    "Subscription",
    "SubscriptionKey",
    "SubscriptionParts",
    "SubscriptionPartsRepository",
    "SubscriptionRepository",
    "SubscriptionStatus",
    "SubscriptionVersion",
    "TestClock",
    "TestClockRepository",
    "UnitOfWork",
    "WebhookDelivery",
    "WebhookDeliveryRepository",
    "WebhookEndpoint",
    "WebhookEndpointRepository",
    "WebhookSender",
    "Workspace",
    "WorkspaceRepository",
    "new_id",
]
