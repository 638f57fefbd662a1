"""``seat_change_sqlite`` and ``seat_change_postgres``: invite-and-accept through the service layer
against the same rows written with the plain driver (``sqlite3``, psycopg 3) in one transaction,
the seat check as one conditional UPDATE.

The rows an invite-and-accept writes were found by diffing every table's row count around one
engine operation (and the bench checks it again before measuring, failing loudly if the baseline
drifts from the engine): one person, one membership (pending, then active), one role
assignment, two seat-ledger rows, two audit rows, two outbox events, and the subscription's
version bump that serializes seat changes.

Both cases are the same code on another ``Db``: worker processes (``seat_workers``) over many
subscriptions and all on one hot subscription, sides alternating, p50 / p99 of each side's
operations, and afterwards the check that no subscription was oversold.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from bench.backends import Db, NoServer, Raw, database
from bench.harness import Result, Sizes, not_measured
from bench.world import START_AT, Sub, diff, new_subscription, row_counts, with_workspace_id
from seatledger.bootstrap import Runtime
from seatledger.clock import ManualClock
from seatledger.service import members
from seatledger.store.tables import metadata

UNIT = "ms/op"
ROLE = "reviewer"
SQLITE = "seat_change_sqlite"
POSTGRES = "seat_change_postgres"
TARGETS = {SQLITE: "ratio >= 0.50", POSTGRES: "ratio >= 0.50, p99 <= 2x baseline"}
WORKERS = {SQLITE: (1, 4), POSTGRES: (1, 4, 16)}
P99_LIMIT = 2.0

_USED = """(SELECT count(*) FROM memberships
   WHERE account_id = :account AND workspace_id = :ws AND status IN ('active', 'pending'))"""
# PostgreSQL (READ COMMITTED): the row lock first, so the count below reads what the previous
# holder committed; a conditional UPDATE alone would count from a snapshot taken before its wait.
_LOCK = "SELECT 1 FROM subscriptions WHERE account_id = :account AND id = :sub FOR UPDATE"
_CHECK_SEAT = f"""
UPDATE subscriptions SET version = version + 1
WHERE account_id = :account AND id = :sub AND status = 'active' AND {_USED} < seats_total
"""
_LEDGER = f"""
INSERT INTO seat_ledger (account_id, subscription_id, seq, at, kind, seats_total, seats_used,
                         seats_at_renewal, seats_paid, person_id, detail)
SELECT s.account_id, s.id,
       (SELECT coalesce(max(seq), 0) + 1 FROM seat_ledger
        WHERE account_id = :account AND subscription_id = :sub),
       :at, :kind, s.seats_total, {_USED}, s.seats_at_renewal, s.seats_paid, :person, @detail
FROM subscriptions s WHERE s.account_id = :account AND s.id = :sub
"""
# The membership row carries the subscription's version after the change that wrote it, as the
# engine stores it (what lets a process catch its kept roster up from the rows written since).
# (The casts: PostgreSQL deduces one type per parameter, varchar from the VALUES list.)
_VERSION = (
    "(SELECT version FROM subscriptions "
    "WHERE account_id = CAST(:account AS VARCHAR) AND id = CAST(:sub AS VARCHAR))"
)
# The seat the invitation takes opens an interval (the explain feature's history of seats).
INTERVALS = "seat_intervals" in metadata.tables
_INTERVAL = """
INSERT INTO seat_intervals (account_id, id, subscription_id, person_id, workspace_id, role, scope,
                            kind, started_at, start_reason, ended_at, end_reason)
VALUES (:account, :id, :sub, :person, :ws, :role, '', 'seat', :at, 'invite', NULL, NULL)
"""
_AUDIT = """
INSERT INTO audit_log (account_id, seq, at, actor, action, target, before, after)
VALUES (:account, @seq, :at, :actor, :action, :target, @before, @after)
"""
_OUTBOX = """
INSERT INTO webhook_outbox (account_id, seq, event_type, payload, created_at, delivered_at,
                            attempts)
VALUES (:account, @seq, :event, @payload, :at, NULL, 0)
"""


def _json(raw: Raw, expression: str) -> str:
    # PostgreSQL will not take text for a json column in INSERT ... SELECT; SQLite stores text.
    return f"CAST({expression} AS json)" if raw.postgres else expression


def _statements(raw: Raw) -> dict[str, str]:
    return {
        "ledger": _LEDGER.replace("@detail", _json(raw, "'{}'")),
        "audit": _AUDIT.replace("@seq", raw.next_seq("audit_log"))
        .replace("@before", _json(raw, ":before"))
        .replace("@after", _json(raw, ":after")),
        "outbox": _OUTBOX.replace("@seq", raw.next_seq("webhook_outbox")).replace(
            "@payload", _json(raw, ":payload")
        ),
    }


def _snapshot(raw: Raw, sub: Sub) -> str:
    total, at_renewal, paid, status = raw.one(
        "SELECT seats_total, seats_at_renewal, seats_paid, status FROM subscriptions "
        "WHERE account_id = :account AND id = :sub",
        {"account": sub.account_id, "sub": sub.subscription_id},
    )
    (used,) = raw.one(f"SELECT {_USED}", {"account": sub.account_id, "ws": sub.workspace_id})
    return json.dumps(
        {
            "seats_total": total,
            "seats_used": used,
            "seats_at_renewal": at_renewal,
            "seats_paid": paid,
            "addons": {},
            "status": status,
        }
    )


def raw_invite_and_accept(raw: Raw, sub: Sub, email: str, at: datetime) -> bool:
    """The baseline: one invite-and-accept in one transaction; False when no seat was free."""
    stamp = raw.instant(at)
    person = f"per_{secrets.token_hex(12)}"
    sql = _statements(raw)
    keys = {"account": sub.account_id, "sub": sub.subscription_id, "ws": sub.workspace_id}
    raw.begin()
    try:
        if raw.postgres:
            raw.q(_LOCK, keys)
        (owner_id,) = raw.one(
            "SELECT id FROM persons WHERE account_id = :account AND email = :email",
            {"account": sub.account_id, "email": sub.owner},
        )
        before = _snapshot(raw, sub)
        if raw.q(_CHECK_SEAT, keys).rowcount != 1:
            raw.rollback()
            return False
        row = {**keys, "person": person, "email": email, "at": stamp, "role": ROLE}
        raw.q(
            "INSERT INTO persons (account_id, id, email, display_name, created_at, erased_at) "
            "VALUES (:account, :person, :email, NULL, :at, NULL)",
            row,
        )
        raw.q(
            "INSERT INTO memberships (account_id, workspace_id, person_id, status, created_at, "
            f"updated_at, status_changed_at, roster_version) VALUES (:account, :ws, :person, "
            f"'pending', :at, :at, :at, {_VERSION})",
            row,
        )
        raw.q(
            "INSERT INTO role_assignments (account_id, workspace_id, person_id, role, scope, "
            "expires_at, created_at) VALUES (:account, :ws, :person, :role, '', NULL, :at)",
            row,
        )
        if INTERVALS:
            raw.q(_INTERVAL, {**row, "id": f"sin_{secrets.token_hex(12)}"})
        raw.q(sql["ledger"], {**keys, "at": stamp, "kind": "invited", "person": None})
        after = _snapshot(raw, sub)
        raw.q(
            sql["audit"],
            {**keys, "at": stamp, "actor": owner_id, "action": "invite_members",
             "target": person, "before": before, "after": after},
        )  # fmt: skip
        invited = {"workspace": sub.workspace, "person": person, "role": ROLE, "scope": None}
        raw.q(
            sql["outbox"],
            {**keys, "event": "member.invited", "payload": json.dumps(invited), "at": stamp},
        )
        raw.q(
            "UPDATE memberships SET status = 'active', updated_at = :at, status_changed_at = :at, "
            f"roster_version = {_VERSION} "
            "WHERE account_id = :account AND workspace_id = :ws AND person_id = :person",
            row,
        )
        raw.q(sql["ledger"], {**keys, "at": stamp, "kind": "accepted", "person": person})
        raw.q(
            sql["audit"],
            {**keys, "at": stamp, "actor": person, "action": "accept_invite",
             "target": person, "before": after, "after": after},
        )  # fmt: skip
        accepted = {"workspace": sub.workspace, "person": person}
        raw.q(
            sql["outbox"],
            {**keys, "event": "member.accepted", "payload": json.dumps(accepted), "at": stamp},
        )
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    return True


def engine_invite_and_accept(
    rt: Runtime, sub: Sub, email: str, *, before_each: Callable[[], None] | None = None
) -> None:
    """Invite ``email`` and accept the invitation, two use cases; ``before_each`` runs before
    each of them."""
    if before_each is not None:
        before_each()
    members.invite_members(
        rt,
        account_id=sub.account_id,
        workspace=sub.workspace,
        actor=sub.owner,
        emails=[email],
        role=ROLE,
    )
    if before_each is not None:
        before_each()
    members.accept_invite(rt, account_id=sub.account_id, workspace=sub.workspace, email=email)


def oversold(raw: Raw) -> int:
    """Subscriptions holding more seated memberships than seats bought (must be 0)."""
    (count,) = raw.one(
        "SELECT count(*) FROM subscriptions s JOIN workspaces w ON w.account_id = s.account_id "
        "WHERE (SELECT count(*) FROM memberships m WHERE m.account_id = s.account_id "
        "AND m.workspace_id = w.id AND m.status IN ('active', 'pending')) > s.seats_total"
    )
    return int(count)


def same_rows(rt: Runtime, raw: Raw, sub: Sub, at: datetime) -> dict[str, int]:
    """The rows one invite-and-accept writes, after checking both sides write the same ones
    (``SystemExit`` naming the difference otherwise). Doubles as the warm-up."""
    before = row_counts(raw)
    engine_invite_and_accept(rt, sub, f"warm-engine-{secrets.token_hex(4)}@bench.test")
    engine_rows = diff(before, row_counts(raw))
    before = row_counts(raw)
    raw_invite_and_accept(raw, sub, f"warm-raw-{secrets.token_hex(4)}@bench.test", at)
    raw_rows = diff(before, row_counts(raw))
    if engine_rows != raw_rows:
        raise SystemExit(f"seat change: the baseline writes {raw_rows}, the engine {engine_rows}")
    return engine_rows


def run_sqlite(sizes: Sizes) -> Result:
    return _run(SQLITE, "sqlite", sizes)


def run_postgres(sizes: Sizes) -> Result:
    return _run(POSTGRES, "postgresql", sizes)


def _run(name: str, kind: str, sizes: Sizes) -> Result:
    try:
        with database(kind) as db:
            return _measure(name, db, sizes)
    except NoServer as exc:
        return not_measured(name, UNIT, TARGETS[name], note=str(exc))


def _plan(workers: Sequence[int]) -> list[tuple[int, bool]]:
    """(worker count, hot?) of every phase: one worker only over many subscriptions (alone,
    one hot subscription is the same thing), several both ways."""
    return [(w, hot) for w in workers for hot in ((False,) if w == 1 else (False, True))]


def _measure(name: str, db: Db, sizes: Sizes) -> Result:
    from bench import seat_workers  # it imports this module's operations

    clock = ManualClock(START_AT)
    rt = db.runtime(clock)
    raw = db.raw()
    plan = _plan(sizes.workers(WORKERS[name]))
    try:
        # Room for both sides in every phase and run, its untimed first run included
        # (round-robin is even up to one op per worker), and the warm-up below.
        many = sum(seat_workers.phase_ops(sizes.seat_ops, w) for w, hot in plan if not hot)
        hot_ops = sum(seat_workers.phase_ops(sizes.seat_ops, w) for w, hot in plan if hot)
        per_sub = -(-many // sizes.seat_subscriptions) + max(w for w, _ in plan)
        runs = sizes.runs + 1
        subs = [
            with_workspace_id(raw, new_subscription(rt, i, 2 * runs * per_sub + 4))
            for i in range(sizes.seat_subscriptions)
        ]
        hot = with_workspace_id(raw, new_subscription(rt, len(subs), 2 * runs * hot_ops + 4))
        rows = same_rows(rt, raw, subs[0], clock.now())
        cases: dict[str, dict[str, Any]] = {}
        over: dict[str, int] = {}
        for workers, is_hot in plan:
            label = f"{workers} worker{'s' if workers > 1 else ''}, {'hot' if is_hot else 'many'}"
            cases[label] = seat_workers.measure(
                db, [hot] if is_hot else subs, workers, sizes.seat_ops, sizes.runs, label
            )
            over[label] = oversold(raw)
    finally:
        raw.close()
        rt.dispose()
    if any(over.values()):
        raise SystemExit(f"{name}: subscriptions oversold after {over}")
    return _result(name, cases, rows, over, sizes)


def _result(
    name: str,
    cases: dict[str, dict[str, Any]],
    rows: dict[str, int],
    over: dict[str, int],
    sizes: Sizes,
) -> Result:
    # The report's figure is the worst case, as the issue asks.
    worst = min(cases, key=lambda label: cases[label]["ratio"])
    p99_ratio = max(c["engine_p99"] / c["baseline_p99"] for c in cases.values())
    extra: dict[str, Any] = {
        "worst": worst,
        "engine_p50": cases[worst]["engine_p50"],
        "engine_p99": cases[worst]["engine_p99"],
        "baseline_p50": cases[worst]["baseline_p50"],
        "baseline_p99": cases[worst]["baseline_p99"],
        "worst_p99_ratio": p99_ratio,
        "cases": cases,
        "runs": sizes.runs,
        "ops_per_run": sizes.seat_ops,
        "subscriptions": sizes.seat_subscriptions,
        "rows_per_op": rows,
        "oversold": sum(over.values()),
        "oversold_after": over,
    }
    if name == POSTGRES:
        extra["meets_p99_target"] = p99_ratio <= P99_LIMIT
    return Result(
        name,
        cases[worst]["engine"],
        cases[worst]["baseline"],
        UNIT,
        cases[worst]["ratio"],
        TARGETS[name],
        extra=extra,
    )
