"""The store: SQLAlchemy 2 tables, repositories and Alembic migrations, on SQLite and PostgreSQL.

It implements the ports of ``seatledger.service.ports``; ``bootstrap`` wires it in::

    engine = make_engine(default_database_url())   # or a postgresql:// URL
    check_migrated(engine.url)                      # DatabaseNotMigrated when behind
    uow = SqlUnitOfWork(engine)

The schema (``tables.py``; built by ``migrations/versions``). Every key starts with
``account_id`` (``accounts.id`` for the accounts themselves), so the tables can be distributed by
account. Instants are ``timestamptz`` on PostgreSQL and naive-UTC text on SQLite, always read back
as aware UTC; money is integer minor units with an ISO 4217 currency.

- ``accounts`` (id): name, and ``invoice_counter``, the last invoice number given; bumping it in
  the invoice's transaction keeps numbers gapless.
- ``workspaces`` (account_id, id): name, unique per account.
- ``persons`` (account_id, id): e-mail (normalized, unique per account), display name,
  ``erased_at``. Erasing sets e-mail and name to NULL and keeps the row, so the ledger still
  points somewhere; the person is then shown as ``erased-<id>``.
- ``subscriptions`` (account_id, id): the policy as JSON, preset name, status
  (active/canceled), ``anchor_at``, interval, current ``period_start``/``period_end``,
  ``seats_total``, ``seats_at_renewal``, ``seats_paid``, ``cancel_at_period_end``,
  ``canceled_at``, ``test_clock_id``, ``version`` (optimistic check on save).
- ``test_clocks`` (account_id, id): name, ``now_at``: the time the subscriptions attached to it
  (``subscriptions.test_clock_id``) live at; the billing run leaves those to their clock.
- ``subscription_workspaces`` (account_id, workspace_id): the bundle, i.e. which subscription
  covers a workspace; keyed by workspace, so a workspace has at most one subscription.
- ``memberships`` (account_id, workspace_id, person_id): status pending/active/deactivated,
  created/updated/status-changed instants, and ``roster_version``: the covering subscription's
  version whose change last wrote the row or its grants.
- ``role_assignments`` (account_id, workspace_id, person_id, role, scope): ``expires_at``;
  scope ``''`` means the whole workspace (a key column cannot be NULL).
- ``addons`` (account_id, subscription_id, name): count > 0.
- ``seat_ledger`` (account_id, subscription_id, seq): append-only; ``seq`` is dense per
  subscription; at, kind, seats total/used/at renewal/paid, person_id, detail JSON.
- ``invoices`` (account_id, id): subscription, ``number`` (unique per account, gapless),
  kind invoice/credit_note, status draft/open/paid/void, reason, period, currency,
  ``total_minor``, ``issued_at``, and ``renewal_of``: the period start for a renewal invoice,
  NULL otherwise. UNIQUE(account_id, subscription_id, kind, renewal_of) allows one renewal
  invoice per (subscription, period, kind) and any number of proration invoices (NULLs never
  collide).
- ``invoice_lines`` (account_id, invoice_id, position): kind, description, quantity,
  ``unit_amount_minor``, ``amount_minor``, the line's own period.
- ``pending_lines`` (account_id, id): a line waiting for the subscription's next invoice, with
  its currency; ``invoice_id`` once billed.
- ``credit_entries`` (account_id, seq): append-only credit movements (amount_minor + currency,
  reason, invoice); the balance is their sum.
- ``audit_log`` (account_id, seq): append-only; at, actor, action, target, before/after JSON.
- ``idempotency_keys`` (account_id, key): request hash, response JSON, created_at.
- ``webhook_outbox`` (account_id, seq): event type, payload JSON, created/delivered instants,
  attempts. ``delivered_at`` is set once the event is handed to the account's webhook endpoints.
- ``api_keys`` (account_id, id): name, ``secret_hash`` (SHA-256 of the secret, never the secret),
  ``person_id`` (a key bound to one person) or NULL (account-wide), created/revoked instants.
- ``webhook_endpoints`` (account_id, id): url, signing secret, description, ``event_types`` JSON
  list (empty: every event), created/disabled instants.
- ``webhook_deliveries`` (account_id, endpoint_id, event_seq): one outbox event on its way to one
  endpoint: status pending/delivered/failed, attempts, ``next_attempt_at``, ``lease_until`` (an
  attempt in flight), the last status code and error.

An issued invoice (status other than ``draft``) never changes: triggers refuse updating anything
but its status, and updating or deleting its lines.

``seq`` of the audit log, the outbox and credit entries comes from one PostgreSQL sequence per
table (no lock between concurrent writers of an account; gaps possible); on SQLite, whose writers
are serialized, it is the account's last number + 1. Triggers refuse UPDATE and DELETE on the
three append-only tables on both databases.
"""

from seatledger.store.engine import database_url, default_database_url, display_url, make_engine
from seatledger.store.migration import check_migrated, migrate
from seatledger.store.uow import SqlLookups, SqlUnitOfWork

__all__ = [
    "SqlLookups",
    "SqlUnitOfWork",
    "check_migrated",
    "database_url",
    "default_database_url",
    "display_url",
    "make_engine",
    "migrate",
]
