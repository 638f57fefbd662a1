"""``POST /v1/accounts/{account_id}/simulate``: replay the account's history under another policy.

A simulation writes nothing, not even an ``Idempotency-Key``: the header is accepted (as on every
POST) and a retry simply computes the same answer again. The router therefore does not use the
idempotent route class, which would store the key and the answer.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from seatledger import presets
from seatledger.api.idempotency import idempotency_header
from seatledger.api.problems import problem_responses
from seatledger.api.routing import PROBLEMS, AccountId, single_query_values
from seatledger.api.security import CallerDep, ServicesDep
from seatledger.api.simulations.schemas import SimulationCreate, SimulationRead
from seatledger.domain.errors import NotFound
from seatledger.service.access import require_manager
from seatledger.service.simulation import PolicyChange, simulate_account

router = APIRouter(
    prefix="/v1",
    tags=["simulations"],
    responses=problem_responses(*PROBLEMS),
    dependencies=[Depends(single_query_values)],
)


@router.post(
    "/accounts/{account_id}/simulate",
    response_model=SimulationRead,
    response_model_by_alias=True,
    dependencies=[Depends(idempotency_header)],
    summary="Simulate a pricing change",
)
def simulate(
    account_id: AccountId, body: SimulationCreate, caller: CallerDep, svc: ServicesDep
) -> SimulationRead:
    """The account's recorded invoices next to what the same history would have been billed
    under another policy, line by line, with the differences and the totals (account managers).
    Nothing is written.

    The replay bills what happened (seats bought and used after every recorded change); it does
    not re-run seat-limit decisions under the new policy. Under ``seat_mode: automatic`` seats
    follow the recorded seats in use; under ``manual`` every recorded change of the bought count
    is a purchase of that count."""
    if account_id != caller.account_id:
        raise NotFound(kind="account", key=account_id)
    require_manager(svc, caller)
    base = presets.load_preset(body.preset) if body.preset is not None else None
    change = PolicyChange(base=base, overrides=body.policy, label=body.preset or "")
    result = simulate_account(
        svc, account_id=account_id, change=change, start=body.start, end=body.end
    )
    return SimulationRead.of(result)
