"""Small worlds for the admin page tests, built through the service layer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from seatledger.policy_files import resolve_policy
from seatledger.service import accounts, members, subscriptions
from seatledger.service.context import Services


@dataclass(frozen=True)
class World:
    account_id: str
    workspace: str
    owner: str


def workspace_on(
    svc: Services,
    *,
    preset: str = "reviewer-pro",
    seats: int,
    name: str = "Studio",
    workspace: str = "studio",
    owner: str = "owner@studio.test",
) -> World:
    """An account with one workspace on ``preset`` with ``seats`` bought; only the owner in it."""
    account_id = accounts.create_account(svc, name=name)
    subscriptions.subscribe(
        svc,
        account_id=account_id,
        policy=resolve_policy(preset),
        preset=preset,
        workspaces=[workspace],
        owner_email=owner,
        seats=seats,
    )
    return World(account_id, workspace, owner)


def invite(svc: Services, world: World, emails: Sequence[str], role: str) -> None:
    members.invite_members(
        svc,
        account_id=world.account_id,
        workspace=world.workspace,
        actor=world.owner,
        emails=list(emails),
        role=role,
    )


def join(svc: Services, world: World, emails: Sequence[str], role: str) -> None:
    """Invite and accept at once: active members."""
    invite(svc, world, emails, role)
    for email in emails:
        members.accept_invite(
            svc, account_id=world.account_id, workspace=world.workspace, email=email
        )


def seats_used(svc: Services, world: World) -> int:
    return subscriptions.seat_usage_of(
        svc, account_id=world.account_id, workspace=world.workspace
    ).used
