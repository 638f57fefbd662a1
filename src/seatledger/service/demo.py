"""The demo account that `make run` opens on: a reviewer Pro workspace a newcomer can click through."""

from __future__ import annotations

from seatledger.domain.errors import NotFound
from seatledger.policy_files import resolve_policy
from seatledger.service import members, subscriptions
from seatledger.service.context import Services
from seatledger.service.ports import Account

DEMO_ACCOUNT_ID = "acc_demo"
DEMO_WORKSPACE = "acme"
DEMO_OWNER = "owner@acme.test"


def seed_demo(svc: Services) -> tuple[str, bool]:
    """Create the demo account once: reviewer Pro with 3 seats, two reviewers and two members.

    Returns the account id and whether it was created now (False: it was there already)."""
    with svc.uow() as uow:
        try:
            uow.accounts.get(DEMO_ACCOUNT_ID)
        except NotFound:
            uow.accounts.add(
                Account(id=DEMO_ACCOUNT_ID, name="Acme (demo)", created_at=svc.clock.now())
            )
            uow.commit()
        else:
            return DEMO_ACCOUNT_ID, False
    subscriptions.subscribe(
        svc,
        account_id=DEMO_ACCOUNT_ID,
        policy=resolve_policy("reviewer-pro"),
        preset="reviewer-pro",
        workspaces=[DEMO_WORKSPACE],
        owner_email=DEMO_OWNER,
        seats=3,
    )
    common = {"account_id": DEMO_ACCOUNT_ID, "workspace": DEMO_WORKSPACE, "actor": DEMO_OWNER}
    members.invite_members(
        svc, **common, emails=["sales@acme.test", "hr@acme.test"], role="reviewer"
    )
    members.invite_members(svc, **common, emails=["dev@acme.test", "ops@acme.test"], role="member")
    for email in ("sales@acme.test", "dev@acme.test"):
        members.accept_invite(
            svc, account_id=DEMO_ACCOUNT_ID, workspace=DEMO_WORKSPACE, email=email
        )
    return DEMO_ACCOUNT_ID, True
