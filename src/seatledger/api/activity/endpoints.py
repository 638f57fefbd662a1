"""``/v1/workspaces/{id}/activity`` and ``/v1/accounts/{id}/activity``: fair billing's reports.

A product reports that members used it; under a plan with ``inactive_after`` that keeps their
seat billed, and brings a member fair billing had stopped billing back, charged from that moment
(``service/activity.py``). Under any other plan a report is accepted and changes nothing
(``tracked: false``), so a product can report activity whatever its customers' plans.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from seatledger.api.activity.schemas import ActivityBatchCreate, ActivityCreate, ActivityRead
from seatledger.api.idempotency import answer_once
from seatledger.api.routing import AccountId, WorkspaceId, resource_router
from seatledger.api.security import CallerDep, ServicesDep
from seatledger.domain.errors import NotFound
from seatledger.service import activity, listings
from seatledger.service.context import Services

router = resource_router("activity")


@router.post(
    "/workspaces/{workspace_id}/activity",
    response_model=ActivityRead,
    summary="Report a member's activity",
)
def report_activity(
    workspace_id: WorkspaceId,
    body: ActivityCreate,
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
) -> JSONResponse:
    """A member of the workspace was active at ``at`` (default now). Their own activity anyone
    may report; someone else's needs the policy's ``member_managers``. A member not in the
    workspace is ``not_found``."""

    def run(s: Services) -> ActivityRead:
        workspace = listings.workspace_name(s, caller=caller, workspace_id=workspace_id)
        result = activity.record_activity(
            s,
            account_id=caller.account_id,
            workspace=workspace,
            actor=caller.email,
            email=body.email,
            active_at=body.at,
        )
        return ActivityRead.of(result, [workspace_id])

    return answer_once(request, svc, caller, run, body=body)


@router.post(
    "/accounts/{account_id}/activity",
    response_model=ActivityRead,
    summary="Report activity in a batch",
)
def report_activities(
    account_id: AccountId,
    body: ActivityBatchCreate,
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
) -> JSONResponse:
    """Reports across the account's workspaces in one transaction: every one is kept, or none
    (the first refusal answers, as for one report)."""
    if account_id != caller.account_id:
        raise NotFound(kind="account", key=account_id)

    def run(s: Services) -> ActivityRead:
        names: dict[str, str] = {}
        for report in body.reports:
            if report.workspace_id not in names:
                names[report.workspace_id] = listings.workspace_name(
                    s, caller=caller, workspace_id=report.workspace_id
                )
        result = activity.record_activities(
            s,
            account_id=caller.account_id,
            actor=caller.email,
            reports=[
                activity.ActivityReport(names[r.workspace_id], r.email, r.at) for r in body.reports
            ],
        )
        return ActivityRead.of(result, [r.workspace_id for r in body.reports])

    return answer_once(request, svc, caller, run, body=body)
