"""Reading scenario files into typed steps, refusing a bad file with the file, step and field.

The contract is SCENARIOS.md: a file is YAML (or JSON, which YAML reads too) with ``preset`` and/or
``policy``, a ``start`` instant, optional ``workspaces`` and a list of ``steps``; each step has at
most one action, an optional ``at`` (the clock moves there first), ``as``, ``workspace`` and
``expect``. Nothing is run here: a file is checked whole before its first step runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from seatledger.domain.errors import SeatLedgerError
from seatledger.domain.policy import Policy
from seatledger.policy_files import resolve_policy

ACTIONS = (
    "subscribe",
    "set_seats",
    "add_seats",
    "remove_seats",
    "preview_seats",
    "invite",
    "accept",
    "assign_role",
    "remove_role",
    "deactivate",
    "reactivate",
    "delete",
    "transfer_ownership",
    "add_addon",
    "remove_addon",
    "cancel",
    # Beyond SCENARIOS.md: fair billing's activity report, `{email, at?}` (see runner.py).
    "activity",
)
ERROR_CODES = (
    "seat_limit_reached",
    "free_allowance_reached",
    "below_used_seats",
    "below_minimum_seats",
    "above_maximum_seats",
    "not_permitted",
    "not_found",
    "invalid_input",
    "conflict",
    "required_role",
)
LINE_KINDS = ("base", "seats", "proration_charge", "proration_credit", "addon", "credit_applied")
SEAT_KEYS = ("total", "used", "available", "free_used", "free_available")
STEP_KEYS = frozenset({"at", "as", "workspace", "expect", *ACTIONS})
FILE_KEYS = frozenset({"name", "preset", "policy", "start", "workspaces", "steps"})
# `message` extends SCENARIOS.md: the exact text of the refusal the step must fail with;
# `auto_purchase` too: `{seats?, amount?}` the step bought automatically (auto_purchase policy key).
EXPECT_KEYS = frozenset(
    {"error", "message", "seats", "charged", "credited", "balance", "invoice", "auto_purchase"}
)


class ScenarioFileError(Exception):
    """A scenario file that cannot be run; the message names the file, the step and the field."""

    def __init__(self, file: str, step: int | None, field: str, rule: str) -> None:
        where = f"{file}: step {step}: " if step is not None else f"{file}: "
        super().__init__(f"{where}{field}: {rule}")
        self.file, self.step, self.field, self.rule = file, step, field, rule


@dataclass(frozen=True)
class ExpectedLine:
    kind: str
    quantity: int | None
    amount: Decimal | None


@dataclass(frozen=True)
class ExpectedInvoice:
    total: Decimal | None
    lines: tuple[ExpectedLine, ...] | None


@dataclass(frozen=True)
class Expect:
    error: str | None = None
    message: str | None = None
    seats: Mapping[str, int] = field(default_factory=dict)
    charged: Decimal | None = None
    credited: Decimal | None = None
    balance: Decimal | None = None
    invoice: ExpectedInvoice | None = None
    auto_purchase: ExpectedPurchase | None = None


@dataclass(frozen=True)
class ExpectedPurchase:
    """The seats a step bought automatically and what they cost (either may be left out)."""

    seats: int | None
    amount: Decimal | None


@dataclass(frozen=True)
class Step:
    index: int  # 1-based, as people count steps in a file
    at: datetime | None
    action: str | None
    argument: Any
    actor: str | None
    workspace: str | None
    expect: Expect


@dataclass(frozen=True)
class Scenario:
    file: str
    name: str
    preset: str | None
    policy: Mapping[str, Any]
    start: datetime
    workspaces: tuple[str, ...]
    steps: tuple[Step, ...]


def parse_instant(value: object, file: str, step: int | None, name: str) -> datetime:
    """A UTC instant from YAML: a datetime (aware, or naive meaning UTC), a date (00:00Z) or an
    ISO 8601 string; a string with a zone other than UTC is converted to UTC."""
    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, date):
        instant = datetime.combine(value, time(), tzinfo=UTC)
    elif isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ScenarioFileError(
                file,
                step,
                name,
                f"must be an ISO 8601 instant such as 2026-04-01T00:00:00Z, got {value!r}",
            ) from None
    else:
        raise ScenarioFileError(file, step, name, f"must be an ISO 8601 instant, got {value!r}")
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)


def _amount(value: object, file: str, step: int, name: str) -> Decimal:
    # Amounts are strings ("49.50"); whole numbers are accepted, floats are not: 0.1 is not 0.1.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ScenarioFileError(
            file, step, name, f'must be an amount as a string such as "49.50", got {value!r}'
        )
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ScenarioFileError(
            file, step, name, f"must be a decimal amount, got {value!r}"
        ) from None
    if not amount.is_finite():
        raise ScenarioFileError(file, step, name, f"must be a finite amount, got {value!r}")
    return amount


def _int(value: object, file: str, step: int, name: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ScenarioFileError(
            file, step, name, f"must be a whole number >= {minimum}, got {value!r}"
        )
    return value


def _text(value: object, file: str, step: int, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ScenarioFileError(file, step, name, f"must be a non-empty string, got {value!r}")
    return value


def _mapping(
    value: object,
    file: str,
    step: int,
    name: str,
    allowed: frozenset[str],
    required: tuple[str, ...] = (),
) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ScenarioFileError(
            file, step, name, f"must be a mapping with keys {', '.join(sorted(allowed))}"
        )
    for key in value:
        if key not in allowed:
            raise ScenarioFileError(
                file,
                step,
                f"{name}.{key}",
                f"is not a key of {name}; allowed: {', '.join(sorted(allowed))}",
            )
    for key in required:
        if key not in value:
            raise ScenarioFileError(file, step, f"{name}.{key}", "is required")
    return value


def _argument(action: str, value: object, file: str, step: int) -> Any:
    name = action
    if action in ("set_seats", "preview_seats"):
        return _int(value, file, step, name)
    if action in ("add_seats", "remove_seats"):
        return _int(value, file, step, name, minimum=1)
    if action in ("accept", "deactivate", "reactivate", "delete", "transfer_ownership"):
        return _text(value, file, step, name)
    if action == "subscribe":
        spec = _mapping(
            value, file, step, name, frozenset({"seats", "anchor", "workspaces"}), ("seats",)
        )
        workspaces = spec.get("workspaces")
        if workspaces is not None and (
            not isinstance(workspaces, list)
            or not workspaces
            or not all(isinstance(w, str) and w for w in workspaces)
        ):
            raise ScenarioFileError(
                file, step, "subscribe.workspaces", "must be a non-empty list of workspace names"
            )
        return {
            "seats": _int(spec["seats"], file, step, "subscribe.seats"),
            "anchor": parse_instant(spec["anchor"], file, step, "subscribe.anchor")
            if spec.get("anchor") is not None
            else None,
            "workspaces": tuple(workspaces) if workspaces else None,
        }
    if action == "invite":
        spec = _mapping(
            value, file, step, name, frozenset({"emails", "role", "scope"}), ("emails", "role")
        )
        emails = spec["emails"]
        if (
            not isinstance(emails, list)
            or not emails
            or not all(isinstance(e, str) and e for e in emails)
        ):
            raise ScenarioFileError(
                file, step, "invite.emails", "must be a non-empty list of e-mail addresses"
            )
        return {
            "emails": tuple(emails),
            "role": _text(spec["role"], file, step, "invite.role"),
            "scope": _text(spec["scope"], file, step, "invite.scope")
            if spec.get("scope") is not None
            else None,
        }
    if action in ("assign_role", "remove_role"):
        spec = _mapping(
            value, file, step, name, frozenset({"email", "role", "scope"}), ("email", "role")
        )
        return {
            "email": _text(spec["email"], file, step, f"{name}.email"),
            "role": _text(spec["role"], file, step, f"{name}.role"),
            "scope": _text(spec["scope"], file, step, f"{name}.scope")
            if spec.get("scope") is not None
            else None,
        }
    if action == "activity":
        # `at` is when the member was active (default: the step's instant); the report is made at
        # the step's instant, so an `at` later than it is refused when the step runs.
        spec = _mapping(value, file, step, name, frozenset({"email", "at"}), ("email",))
        return {
            "email": _text(spec["email"], file, step, "activity.email"),
            "at": parse_instant(spec["at"], file, step, "activity.at")
            if spec.get("at") is not None
            else None,
        }
    if action in ("add_addon", "remove_addon"):
        # `seats` is how many seats the step adds through the add-on (a multiple of the pack
        # size, checked against the policy when the step runs); `count` is how many packs.
        spec = _mapping(value, file, step, name, frozenset({"name", "seats", "count"}), ("name",))
        if ("seats" in spec) == ("count" in spec):
            raise ScenarioFileError(
                file, step, f"{name}.seats", "give seats or count (packs), one of them"
            )
        return {
            "name": _text(spec["name"], file, step, f"{name}.name"),
            "seats": _int(spec["seats"], file, step, f"{name}.seats", minimum=1)
            if "seats" in spec
            else None,
            "count": _int(spec["count"], file, step, f"{name}.count", minimum=1)
            if "count" in spec
            else None,
        }
    # cancel
    spec = _mapping(
        value if value is not None else {}, file, step, name, frozenset({"at_period_end"})
    )
    at_end = spec.get("at_period_end", False)
    if not isinstance(at_end, bool):
        raise ScenarioFileError(
            file, step, "cancel.at_period_end", f"must be true or false, got {at_end!r}"
        )
    return {"at_period_end": at_end}


def _expect(value: object, file: str, step: int) -> Expect:
    if value is None:
        return Expect()
    spec = _mapping(value, file, step, "expect", EXPECT_KEYS)
    error = spec.get("error")
    if error is not None and error not in ERROR_CODES:
        raise ScenarioFileError(
            file, step, "expect.error", f"must be one of {', '.join(ERROR_CODES)}; got {error!r}"
        )
    message = spec.get("message")
    if message is not None:
        message = _text(message, file, step, "expect.message")
        if error is None:
            raise ScenarioFileError(
                file, step, "expect.message", "needs expect.error: a message is a refusal's text"
            )
    seats: dict[str, int] = {}
    if "seats" in spec:
        seat_spec = _mapping(spec["seats"], file, step, "expect.seats", frozenset(SEAT_KEYS))
        seats = {k: _int(v, file, step, f"expect.seats.{k}") for k, v in seat_spec.items()}
    invoice = None
    if "invoice" in spec:
        inv = _mapping(spec["invoice"], file, step, "expect.invoice", frozenset({"total", "lines"}))
        lines = None
        if "lines" in inv:
            if not isinstance(inv["lines"], list):
                raise ScenarioFileError(
                    file, step, "expect.invoice.lines", "must be a list of {kind, quantity, amount}"
                )
            parsed = []
            for i, raw in enumerate(inv["lines"], start=1):
                where = f"expect.invoice.lines[{i}]"
                line = _mapping(
                    raw, file, step, where, frozenset({"kind", "quantity", "amount"}), ("kind",)
                )
                if line["kind"] not in LINE_KINDS:
                    raise ScenarioFileError(
                        file,
                        step,
                        f"{where}.kind",
                        f"must be one of {', '.join(LINE_KINDS)}; got {line['kind']!r}",
                    )
                parsed.append(
                    ExpectedLine(
                        kind=line["kind"],
                        quantity=_int(line["quantity"], file, step, f"{where}.quantity")
                        if "quantity" in line
                        else None,
                        amount=_amount(line["amount"], file, step, f"{where}.amount")
                        if "amount" in line
                        else None,
                    )
                )
            lines = tuple(parsed)
        invoice = ExpectedInvoice(
            total=_amount(inv["total"], file, step, "expect.invoice.total")
            if "total" in inv
            else None,
            lines=lines,
        )
    return Expect(
        error=error,
        message=message,
        seats=seats,
        charged=_amount(spec["charged"], file, step, "expect.charged")
        if "charged" in spec
        else None,
        credited=_amount(spec["credited"], file, step, "expect.credited")
        if "credited" in spec
        else None,
        balance=_amount(spec["balance"], file, step, "expect.balance")
        if "balance" in spec
        else None,
        invoice=invoice,
        auto_purchase=_expected_purchase(spec["auto_purchase"], file, step)
        if "auto_purchase" in spec
        else None,
    )


def _expected_purchase(value: object, file: str, step: int) -> ExpectedPurchase:
    spec = _mapping(value, file, step, "expect.auto_purchase", frozenset({"seats", "amount"}))
    return ExpectedPurchase(
        seats=_int(spec["seats"], file, step, "expect.auto_purchase.seats")
        if "seats" in spec
        else None,
        amount=_amount(spec["amount"], file, step, "expect.auto_purchase.amount")
        if "amount" in spec
        else None,
    )


def parse_scenario(data: object, file: str) -> Scenario:
    """Check a parsed scenario document whole and return it typed, or raise ScenarioFileError."""
    if not isinstance(data, Mapping):
        raise ScenarioFileError(file, None, "file", "must be a mapping with start and steps")
    for key in data:
        if key not in FILE_KEYS:
            raise ScenarioFileError(
                file,
                None,
                str(key),
                f"is not a scenario key; allowed: {', '.join(sorted(FILE_KEYS))}",
            )
    preset = data.get("preset")
    if preset is not None and not isinstance(preset, str):
        raise ScenarioFileError(file, None, "preset", f"must be a preset name, got {preset!r}")
    policy = data.get("policy") or {}
    if not isinstance(policy, Mapping):
        raise ScenarioFileError(file, None, "policy", "must be a mapping of policy keys")
    if preset is None and not policy:
        raise ScenarioFileError(file, None, "preset", "give a preset name, or a full policy")
    if "start" not in data:
        raise ScenarioFileError(file, None, "start", "is required (the test clock's first instant)")
    start = parse_instant(data["start"], file, None, "start")
    workspaces = data.get("workspaces") or ["main"]
    if not isinstance(workspaces, list) or not all(isinstance(w, str) and w for w in workspaces):
        raise ScenarioFileError(file, None, "workspaces", "must be a list of workspace names")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ScenarioFileError(file, None, "steps", "must be a non-empty list of steps")
    steps = []
    clock = start
    for index, raw in enumerate(raw_steps, start=1):
        if not isinstance(raw, Mapping):
            raise ScenarioFileError(file, index, "step", "must be a mapping")
        for key in raw:
            if key not in STEP_KEYS:
                raise ScenarioFileError(
                    file,
                    index,
                    str(key),
                    f"is not an action or step key; actions: {', '.join(ACTIONS)}",
                )
        actions = [k for k in raw if k in ACTIONS]
        if len(actions) > 1:
            raise ScenarioFileError(
                file, index, actions[1], f"a step has one action; this one also has {actions[0]}"
            )
        at = parse_instant(raw["at"], file, index, "at") if raw.get("at") is not None else None
        if at is not None:
            if at < clock:
                raise ScenarioFileError(
                    file,
                    index,
                    "at",
                    f"moves the clock backwards (to {at.isoformat()}, it is at {clock.isoformat()})",
                )
            clock = at
        action = actions[0] if actions else None
        workspace = raw.get("workspace")
        if workspace is not None and workspace not in workspaces:
            raise ScenarioFileError(
                file,
                index,
                "workspace",
                f"must be one of the file's workspaces ({', '.join(workspaces)}), got {workspace!r}",
            )
        actor = raw.get("as")
        if actor is not None:
            actor = _text(actor, file, index, "as")
        steps.append(
            Step(
                index=index,
                at=at,
                action=action,
                argument=_argument(action, raw[action], file, index) if action else None,
                actor=actor,
                workspace=workspace,
                expect=_expect(raw.get("expect"), file, index),
            )
        )
    name = data.get("name")
    return Scenario(
        file=file,
        name=str(name) if name is not None else Path(file).stem,
        preset=preset,
        policy=dict(policy),
        start=start,
        workspaces=tuple(workspaces),
        steps=tuple(steps),
    )


def scenario_policy(scenario: Scenario) -> Policy:
    """The scenario's policy: its preset with its ``policy`` overrides laid over it, validated; an
    unknown preset or a bad key is a ``ScenarioFileError`` naming the field (``policy.seat_mode``)."""
    try:
        return resolve_policy(scenario.preset, scenario.policy)
    except SeatLedgerError as exc:
        field_name = str(exc.fields().get("field", "preset" if scenario.preset else "policy"))
        prefix = "" if field_name in ("preset", "policy") else "policy."
        raise ScenarioFileError(scenario.file, None, f"{prefix}{field_name}", exc.message) from None


def load_scenario(path: Path) -> Scenario:
    """Read and check one scenario file (YAML or JSON), its policy included, so a bad file is
    refused before any scenario runs."""
    file = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioFileError(file, None, "file", f"cannot be read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ScenarioFileError(file, None, "file", f"is not valid YAML or JSON{where}") from None
    scenario = parse_scenario(data, file)
    scenario_policy(scenario)
    return scenario


def scenario_files(paths: list[Path]) -> list[Path]:
    """Files to run: each file given, and every *.yaml / *.yml / *.json in a folder given (sorted)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.suffix in (".yaml", ".yml", ".json") and p.is_file()
                )
            )
        else:
            found.append(path)
    return found
