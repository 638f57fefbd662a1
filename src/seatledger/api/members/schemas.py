"""Members of a workspace, invitations, role assignments and ownership."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from seatledger.api import limits
from seatledger.api.schemas import ChangeRead
from seatledger.domain.seats import MemberStatus, RoleGrant
from seatledger.service.listings import MemberView
from seatledger.service.results import ChangeResult

Email = Annotated[str, Field(min_length=3, max_length=limits.EMAIL)]
Role = Annotated[str, Field(min_length=1, max_length=limits.ROLE, examples=["member"])]
Scope = Annotated[
    str | None,
    Field(
        default=None,
        min_length=1,
        max_length=limits.NAME,
        description="A sub-space (a program, a project); none for the whole workspace.",
    ),
]


class GrantRead(BaseModel):
    role: str
    scope: str | None
    expires_at: datetime | None

    @classmethod
    def of(cls, grant: RoleGrant) -> GrantRead:
        return cls(role=grant.role, scope=grant.scope, expires_at=grant.expires_at)


class MemberRead(BaseModel):
    person_id: str
    email: str
    status: MemberStatus
    roles: list[GrantRead]
    uses_seat: bool = Field(description="Whether this person occupies one of the paid seats.")

    @classmethod
    def of(cls, view: MemberView) -> MemberRead:
        return cls(
            person_id=view.person_id,
            email=view.email,
            status=view.status,
            roles=[GrantRead.of(g) for g in view.grants],
            uses_seat=view.uses_seat,
        )


class InvitationCreate(BaseModel):
    """A batch: everyone invited with one role. A batch that would pass the seat limit is
    refused whole where the policy says ``batch_atomic``; otherwise as many as fit are admitted,
    in order."""

    emails: list[Email] = Field(min_length=1, max_length=limits.MAX_BATCH)
    role: Role
    scope: Scope = None


class InvitationsRead(ChangeRead):
    admitted: list[str]
    refused: list[str]

    @classmethod
    def of_result(cls, result: ChangeResult) -> InvitationsRead:
        change = ChangeRead.of(result)
        detail = result.detail
        return cls(
            **change.model_dump(),
            admitted=[str(e) for e in _list(detail.get("admitted"))],
            refused=[str(e) for e in _list(detail.get("refused"))],
        )


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


class RoleAssignmentCreate(BaseModel):
    role: Role
    scope: Scope = None


class OwnershipUpdate(BaseModel):
    person_id: str = Field(
        min_length=1, max_length=limits.ID, description="The active member to hand ownership to."
    )
