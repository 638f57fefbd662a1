"""``/v1/presets`` and ``/v1/plans``: the seat policies a subscription can be created with."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request
from fastapi.responses import JSONResponse

from seatledger import presets
from seatledger.api import limits
from seatledger.api.idempotency import answer_once
from seatledger.api.plans.schemas import PlanRead, PlanResolve, PresetSummary
from seatledger.api.routing import resource_router
from seatledger.api.security import CallerDep, ServicesDep
from seatledger.domain.policy import policy_to_mapping
from seatledger.policy_files import resolve_policy
from seatledger.service.context import Services

router = resource_router("plans")

PresetName = Annotated[
    str, Path(min_length=1, max_length=limits.ID, description="A preset name (`rallly-pro`).")
]


@router.get("/presets", response_model=list[PresetSummary], summary="The presets")
def list_presets(caller: CallerDep) -> list[PresetSummary]:
    """The built-in seat policies, one per seed product."""
    return [PresetSummary.of(name, presets.preset_policy(name)) for name in presets.preset_names()]


@router.get("/presets/{name}", response_model=PlanRead, summary="A preset")
def get_preset(name: PresetName, caller: CallerDep) -> PlanRead:
    return PlanRead(preset=name, policy=policy_to_mapping(presets.preset_policy(name)))


@router.post("/plans/resolve", response_model=PlanRead, summary="Check a plan")
def resolve_plan(
    body: PlanResolve, request: Request, caller: CallerDep, svc: ServicesDep
) -> JSONResponse:
    """The complete policy a subscription would get from this preset and these overrides, or a
    422 naming the key that is wrong. Nothing is stored."""

    def run(s: Services) -> PlanRead:
        policy = resolve_policy(body.preset, body.policy)
        return PlanRead(preset=body.preset, policy=policy_to_mapping(policy))

    return answer_once(request, svc, caller, run, body=body)
