"""Domain errors: each has a stable ``code`` (SCENARIOS.md), a title and typed fields.

The tree::

    SeatLedgerError                      code
    ├── SeatLimitReached                 seat_limit_reached
    │   └── AutoPurchaseCapReached       seat_limit_reached (names the auto-purchase cap)
    ├── FreeAllowanceReached             free_allowance_reached
    ├── SeatCountRefused
    │   ├── BelowUsedSeats               below_used_seats
    │   ├── BelowMinimumSeats            below_minimum_seats
    │   └── AboveMaximumSeats            above_maximum_seats
    ├── NotPermitted                     not_permitted
    ├── NotFound                         not_found
    ├── InvalidInput                     invalid_input   (names the field and the rule)
    ├── Conflict                         conflict
    └── RequiredRole                     required_role

No HTTP status lives here: the API maps classes to statuses along this hierarchy, the CLI to exit
codes. The message is built from the fields, so it always carries the numbers.
"""

from __future__ import annotations

from typing import ClassVar


class SeatLedgerError(Exception):
    """Base of every refusal the domain can give."""

    code: ClassVar[str] = "error"
    title: ClassVar[str] = "Request refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def fields(self) -> dict[str, object]:
        """The typed fields of this error, for API and CLI renderings."""
        return {}


class SeatLimitReached(SeatLedgerError):
    code = "seat_limit_reached"
    title = "No seats available"

    def __init__(self, *, used: int, total: int, requested: int) -> None:
        self.used, self.total, self.requested = used, total, requested
        super().__init__(
            f"No seats available. You're using all {used} of your {total} seats. "
            "Upgrade your plan or remove a team member to free a seat."
            if used >= total
            else f"No seats available. You're using {used} of your {total} seats and this needs "
            f"{requested} more. Upgrade your plan or remove a team member to free a seat."
        )

    def fields(self) -> dict[str, object]:
        return {"used": self.used, "total": self.total, "requested": self.requested}


class AutoPurchaseCapReached(SeatLimitReached):
    """A seat limit that ``auto_purchase`` could not lift: the seats missing would take the bought
    seats past ``cap`` (``auto_purchase.up_to_seats``, else ``max_seats``). Same code as any seat
    limit, so a client that handles one handles both; the message names the cap."""

    title = "Automatic seat purchase cap reached"

    def __init__(self, *, used: int, total: int, requested: int, cap: int) -> None:
        self.used, self.total, self.requested, self.cap = used, total, requested, cap
        SeatLedgerError.__init__(
            self,
            f"No seats available. You're using {used} of your {total} seats and this needs "
            f"{requested} more, but automatic seat purchases stop at {cap} seats "
            "(the auto-purchase cap was reached). Buy seats or remove a team member to free one.",
        )

    def fields(self) -> dict[str, object]:
        return {**super().fields(), "cap": self.cap}


class FreeAllowanceReached(SeatLedgerError):
    code = "free_allowance_reached"
    title = "No free seats left for this role"

    def __init__(self, *, role: str, used: int, allowed: int, requested: int) -> None:
        self.role, self.used, self.allowed, self.requested = role, used, allowed, requested
        super().__init__(
            f"No free {role} places available. You're using {used} of your {allowed} free "
            f"{role} places and this needs {requested} more. Buy a seat to invite more."
        )

    def fields(self) -> dict[str, object]:
        return {
            "role": self.role,
            "used": self.used,
            "allowed": self.allowed,
            "requested": self.requested,
        }


class SeatCountRefused(SeatLedgerError):
    """A requested seat count outside what the plan and the members allow."""

    def __init__(self, message: str, *, requested: int, limit: int) -> None:
        self.requested, self.limit = requested, limit
        super().__init__(message)

    def fields(self) -> dict[str, object]:
        return {"requested": self.requested, "limit": self.limit}


class BelowUsedSeats(SeatCountRefused):
    code = "below_used_seats"
    title = "Fewer seats than members"

    def __init__(self, *, requested: int, used: int) -> None:
        super().__init__(
            f"You cannot reduce seats to {requested}: {used} seats are in use. "
            "Remove members first, then adjust seats.",
            requested=requested,
            limit=used,
        )


class BelowMinimumSeats(SeatCountRefused):
    code = "below_minimum_seats"
    title = "Below the plan's minimum"

    def __init__(self, *, requested: int, minimum: int) -> None:
        super().__init__(
            f"You cannot have {requested} seats: this plan's minimum is {minimum}.",
            requested=requested,
            limit=minimum,
        )


class AboveMaximumSeats(SeatCountRefused):
    code = "above_maximum_seats"
    title = "Above the plan's maximum"

    def __init__(self, *, requested: int, maximum: int) -> None:
        super().__init__(
            f"You cannot have {requested} seats: this plan's maximum is {maximum}. "
            "Upgrade your plan for more.",
            requested=requested,
            limit=maximum,
        )


class NotPermitted(SeatLedgerError):
    code = "not_permitted"
    title = "Not permitted"

    def __init__(self, *, action: str, allowed_roles: tuple[str, ...]) -> None:
        self.action, self.allowed_roles = action, allowed_roles
        who = ", ".join(allowed_roles) if allowed_roles else "nobody"
        super().__init__(f"Only {who} may {action}.")

    def fields(self) -> dict[str, object]:
        return {"action": self.action, "allowed_roles": list(self.allowed_roles)}


class NotFound(SeatLedgerError):
    code = "not_found"
    title = "Not found"

    def __init__(self, *, kind: str, key: str) -> None:
        self.kind, self.key = kind, key
        super().__init__(f"No {kind} {key!r}.")

    def fields(self) -> dict[str, object]:
        return {"kind": self.kind, "key": self.key}


class InvalidInput(SeatLedgerError):
    code = "invalid_input"
    title = "Invalid input"

    def __init__(self, field: str, rule: str) -> None:
        self.field, self.rule = field, rule
        super().__init__(f"{field}: {rule}")

    def fields(self) -> dict[str, object]:
        return {"field": self.field, "rule": self.rule}


class Conflict(SeatLedgerError):
    code = "conflict"
    title = "Conflict"


class RequiredRole(SeatLedgerError):
    code = "required_role"
    title = "A required role must keep a holder"

    def __init__(self, *, role: str) -> None:
        self.role = role
        super().__init__(
            f"The {role} role must always have a holder: transfer it to someone else first."
        )

    def fields(self) -> dict[str, object]:
        return {"role": self.role}
