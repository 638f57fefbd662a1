"""Seat counting: who occupies a seat of a subscription, and how many are left.

One person (a normalized e-mail) holds at most one seat per subscription, however many roles,
scopes and workspaces they hold: a bundle subscription covering several workspaces counts them once.
A member counts when their status counts under the policy (active always; pending when
``count_pending_invites``; deactivated when ``count_deactivated``) and they hold at least one
unexpired billable role. An assignment with ``expires_at`` stops counting at that instant
(half-open: at ``expires_at`` it no longer counts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from seatledger.domain.errors import InvalidInput


class MemberStatus(StrEnum):
    PENDING = "pending"  # invited, not yet accepted
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


@dataclass(frozen=True, slots=True)
class RoleGrant:
    """One role of a member, optionally scoped to a sub-space (a program, a project)."""

    role: str
    scope: str | None = None
    expires_at: datetime | None = None

    def live_at(self, at: datetime) -> bool:
        return self.expires_at is None or at < self.expires_at


@dataclass(frozen=True, slots=True)
class Member:
    """A person's membership of one workspace, with every role they hold there."""

    email: str
    workspace: str
    status: MemberStatus
    grants: frozenset[RoleGrant] = field(default_factory=frozenset)

    def with_grants(self, grants: Iterable[RoleGrant]) -> Member:
        return replace(self, grants=frozenset(grants))

    def roles_at(self, at: datetime) -> frozenset[str]:
        return frozenset(g.role for g in self.grants if g.live_at(at))


@dataclass(frozen=True, slots=True)
class Roster:
    """Every membership of the workspaces one subscription covers."""

    members: tuple[Member, ...] = ()

    def find(self, email: str, workspace: str) -> Member | None:
        for member in self.members:
            if member.email == email and member.workspace == workspace:
                return member
        return None

    def put(self, member: Member) -> Roster:
        """This roster with ``member`` added, or replacing the same (email, workspace)."""
        kept = tuple(
            m for m in self.members if (m.email, m.workspace) != (member.email, member.workspace)
        )
        return Roster((*kept, member))

    def drop(self, email: str, workspace: str) -> Roster:
        return Roster(
            tuple(m for m in self.members if (m.email, m.workspace) != (email, workspace))
        )


@dataclass(frozen=True, slots=True)
class SeatUsage:
    """``total`` bought, ``used`` by distinct persons, ``available = total - used`` (never < 0).

    For plans with a free allowance, ``free_used`` holders of the free role out of
    ``free_allowed`` (= per_paid_seat x total), and ``free_available``.
    """

    total: int
    used: int
    free_used: int | None = None
    free_allowed: int | None = None

    @property
    def available(self) -> int:
        return max(0, self.total - self.used)

    @property
    def free_available(self) -> int | None:
        if self.free_allowed is None or self.free_used is None:
            return None
        return max(0, self.free_allowed - self.free_used)


def normalize_email(text: str) -> str:
    """The identity of a person: the e-mail trimmed and lower-cased; refused unless it has one
    ``@`` with text on both sides and no spaces."""
    email = text.strip().lower() if isinstance(text, str) else ""
    local, at, domain = email.partition("@")
    if not at or not local or not domain or "@" in domain or any(c.isspace() for c in email):
        raise InvalidInput(
            "email", f"must be an e-mail address such as ana@example.com, got {text!r}"
        )
    return email
