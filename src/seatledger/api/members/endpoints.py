"""``/v1/workspaces/{id}/members``, ``/invitations`` and ``/ownership``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Path, Query, Request
from fastapi.responses import JSONResponse

from seatledger.api import limits
from seatledger.api.idempotency import answer_once
from seatledger.api.members.schemas import (
    InvitationCreate,
    InvitationsRead,
    MemberRead,
    OwnershipUpdate,
    RoleAssignmentCreate,
)
from seatledger.api.pagination import CursorQuery, LimitQuery, Page, paginate
from seatledger.api.routing import PersonId, WorkspaceId, resource_router
from seatledger.api.schemas import ChangeRead
from seatledger.api.security import CallerDep, ServicesDep
from seatledger.domain.seats import MemberStatus
from seatledger.service import listings, members
from seatledger.service.access import Caller
from seatledger.service.context import Services
from seatledger.service.results import ChangeResult

router = resource_router("members")

RoleName = Annotated[str, Path(min_length=1, max_length=limits.ROLE, description="A role.")]


def _where(svc: Services, caller: Caller, workspace_id: str) -> dict[str, str]:
    name = listings.workspace_name(svc, caller=caller, workspace_id=workspace_id)
    return {"account_id": caller.account_id, "workspace": name, "actor": caller.email}


def _email(svc: Services, caller: Caller, person_id: str) -> str:
    return listings.person_email(svc, caller=caller, person_id=person_id)


PersonUseCase = Callable[..., ChangeResult]


def _on_person(
    use_case: PersonUseCase, caller: Caller, workspace_id: str, person_id: str
) -> Callable[[Services], ChangeRead]:
    """The idempotent body of an endpoint that applies one use case to one member."""

    def run(s: Services) -> ChangeRead:
        email = _email(s, caller, person_id)
        return ChangeRead.of(use_case(s, **_where(s, caller, workspace_id), email=email))

    return run


@router.get(
    "/workspaces/{workspace_id}/members", response_model=Page[MemberRead], summary="Members"
)
def list_members(
    workspace_id: WorkspaceId,
    caller: CallerDep,
    svc: ServicesDep,
    status: Annotated[MemberStatus | None, Query(description="Only this status.")] = None,
    role: Annotated[
        str | None, Query(max_length=limits.ROLE, description="Only holders of this role.")
    ] = None,
    email: Annotated[
        str | None,
        Query(max_length=limits.EMAIL, description="Only e-mails containing this text."),
    ] = None,
    uses_seat: Annotated[bool | None, Query(description="Only seat holders, or only not.")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[MemberRead]:
    """The workspace's members by e-mail, pending and deactivated ones included (its members and
    the account managers)."""
    needle = email.strip().lower() if email else None
    found = [
        m
        for m in listings.members(svc, caller=caller, workspace_id=workspace_id)
        if (status is None or m.status is status)
        and (role is None or any(g.role == role for g in m.grants))
        and (needle is None or needle in m.email)
        and (uses_seat is None or m.uses_seat is uses_seat)
    ]
    items, next_cursor = paginate(
        found, key=lambda m: (m.email,), limit=limit, cursor=cursor, read=MemberRead.of
    )
    return Page[MemberRead](items=items, next_cursor=next_cursor)


@router.post(
    "/workspaces/{workspace_id}/invitations",
    response_model=InvitationsRead,
    summary="Invite a batch",
)
def invite(
    workspace_id: WorkspaceId,
    body: InvitationCreate,
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
) -> JSONResponse:
    """Invite people with one role (the policy's member managers). At the seat limit the batch
    is refused with ``seat_limit_reached`` (409), saying how many seats are used of how many."""

    def run(s: Services) -> InvitationsRead:
        result = members.invite_members(
            s,
            **_where(s, caller, workspace_id),
            emails=body.emails,
            role=body.role,
            scope=body.scope,
        )
        return InvitationsRead.of_result(result)

    return answer_once(request, svc, caller, run, body=body)


@router.post(
    "/workspaces/{workspace_id}/invitations/accept",
    response_model=ChangeRead,
    summary="Accept my invitation",
)
def accept_invitation(
    workspace_id: WorkspaceId, request: Request, caller: CallerDep, svc: ServicesDep
) -> JSONResponse:
    """The acting person accepts their pending invitation to the workspace."""

    def run(s: Services) -> ChangeRead:
        workspace = _where(s, caller, workspace_id)["workspace"]
        result = members.accept_invite(
            s, account_id=caller.account_id, workspace=workspace, email=caller.email
        )
        return ChangeRead.of(result)

    return answer_once(request, svc, caller, run)


@router.post(
    "/workspaces/{workspace_id}/members/{person_id}/roles",
    response_model=ChangeRead,
    summary="Assign a role",
)
def assign_role(
    workspace_id: WorkspaceId,
    person_id: PersonId,
    body: RoleAssignmentCreate,
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
) -> JSONResponse:
    """Give a member a role, for the whole workspace or in a ``scope``. A role that moves them
    into the paid seats is subject to the seat limit."""

    def run(s: Services) -> ChangeRead:
        result = members.assign_role(
            s,
            **_where(s, caller, workspace_id),
            email=_email(s, caller, person_id),
            role=body.role,
            scope=body.scope,
        )
        return ChangeRead.of(result)

    return answer_once(request, svc, caller, run, body=body)


@router.delete(
    "/workspaces/{workspace_id}/members/{person_id}/roles/{role}",
    response_model=ChangeRead,
    summary="Remove a role",
)
def remove_role(
    workspace_id: WorkspaceId,
    person_id: PersonId,
    role: RoleName,
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
    scope: Annotated[
        str | None, Query(min_length=1, max_length=limits.NAME, description="The role's scope.")
    ] = None,
) -> JSONResponse:
    """Take a role (in ``scope``, if given) from a member; a required role keeps its last
    holder."""

    def run(s: Services) -> ChangeRead:
        result = members.remove_role(
            s,
            **_where(s, caller, workspace_id),
            email=_email(s, caller, person_id),
            role=role,
            scope=scope,
        )
        return ChangeRead.of(result)

    return answer_once(request, svc, caller, run)


@router.post(
    "/workspaces/{workspace_id}/members/{person_id}/deactivate",
    response_model=ChangeRead,
    summary="Deactivate a member",
)
def deactivate(
    workspace_id: WorkspaceId,
    person_id: PersonId,
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
) -> JSONResponse:
    """Pause a member: their data stays; their seat is freed where deactivated members do not
    count."""

    return answer_once(
        request, svc, caller, _on_person(members.deactivate_member, caller, workspace_id, person_id)
    )


@router.post(
    "/workspaces/{workspace_id}/members/{person_id}/reactivate",
    response_model=ChangeRead,
    summary="Reactivate a member",
)
def reactivate(
    workspace_id: WorkspaceId,
    person_id: PersonId,
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
) -> JSONResponse:
    """Bring a deactivated member back, subject to the seats available now."""

    return answer_once(
        request, svc, caller, _on_person(members.reactivate_member, caller, workspace_id, person_id)
    )


@router.delete(
    "/workspaces/{workspace_id}/members/{person_id}",
    response_model=ChangeRead,
    summary="Delete a member",
)
def delete(
    workspace_id: WorkspaceId,
    person_id: PersonId,
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
) -> JSONResponse:
    """Remove a member for good; their personal data is erased when they belong nowhere else."""

    return answer_once(
        request, svc, caller, _on_person(members.delete_member, caller, workspace_id, person_id)
    )


@router.post(
    "/workspaces/{workspace_id}/ownership",
    response_model=ChangeRead,
    summary="Transfer ownership",
)
def transfer_ownership(
    workspace_id: WorkspaceId,
    body: OwnershipUpdate,
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
) -> JSONResponse:
    """Hand the owner role to another active member; only its holder may."""

    def run(s: Services) -> ChangeRead:
        email = _email(s, caller, body.person_id)
        result = members.transfer_ownership(s, **_where(s, caller, workspace_id), email=email)
        return ChangeRead.of(result)

    return answer_once(request, svc, caller, run, body=body)
