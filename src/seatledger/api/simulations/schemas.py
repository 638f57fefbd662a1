"""Simulations: the policy to try, and the recorded and simulated invoices side by side.

Amounts are strings with the currency's minor digits; a difference is simulated minus recorded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from seatledger.api import limits
from seatledger.api.schemas import Amount, Currency, Instant, InvoiceLineRead, amount
from seatledger.domain.invoices import InvoiceLine, LineKind
from seatledger.domain.policy import policy_to_mapping
from seatledger.domain.simulation import InvoiceComparison, LineDifference, Verdict
from seatledger.service.simulation import AccountSimulation, SubscriptionPolicies


class SimulationCreate(BaseModel):
    """The policy to try: a preset, ``policy`` keys laid over it (nested tables merge), or
    ``policy`` alone laid over each subscription's recorded policy (neither: the recorded
    policy itself, which reproduces every invoice). ``from`` / ``to`` keep the invoices issued
    in ``[from, to)``."""

    model_config = ConfigDict(populate_by_name=True)

    preset: str | None = Field(default=None, max_length=limits.ID, examples=["upcoach"])
    policy: dict[str, Any] | None = Field(default=None, examples=[{"seat_price": "12.00"}])
    start: Instant | None = Field(default=None, alias="from")
    end: Instant | None = Field(default=None, alias="to")


def _line(line: InvoiceLine | None) -> InvoiceLineRead | None:
    return InvoiceLineRead.of(line) if line is not None else None


class LineDifferenceRead(BaseModel):
    kind: LineKind
    recorded: InvoiceLineRead | None
    simulated: InvoiceLineRead | None
    difference: Amount

    @classmethod
    def of(cls, line: LineDifference) -> LineDifferenceRead:
        return cls(
            kind=line.kind,
            recorded=_line(line.recorded),
            simulated=_line(line.simulated),
            difference=amount(line.difference),
        )


class InvoiceComparisonRead(BaseModel):
    """A recorded invoice (``number`` set) and its simulated counterpart; either may be null
    when the other policy issues an invoice the record does not have, or none where it has."""

    subscription_id: str
    kind: str = Field(examples=["invoice"])
    reason: str = Field(examples=["renewal"])
    issued_at: datetime
    number: str | None
    recorded_total: Amount | None
    simulated_total: Amount | None
    difference: Amount
    lines: list[LineDifferenceRead]

    @classmethod
    def of(cls, pair: InvoiceComparison) -> InvoiceComparisonRead:
        facts = pair.either
        return cls(
            subscription_id=facts.subscription_id,
            kind=facts.kind,
            reason=facts.reason,
            issued_at=facts.issued_at,
            number=pair.recorded.number if pair.recorded is not None else None,
            recorded_total=amount(pair.recorded.total) if pair.recorded is not None else None,
            simulated_total=amount(pair.simulated.total) if pair.simulated is not None else None,
            difference=amount(pair.difference),
            lines=[LineDifferenceRead.of(line) for line in pair.lines],
        )


class TotalsRead(BaseModel):
    """What was billed (invoices, not credit notes) and what would have been."""

    recorded: Amount
    simulated: Amount
    difference: Amount
    verdict: Verdict


class BalanceComparisonRead(BaseModel):
    recorded: Amount
    simulated: Amount


class SubscriptionPolicyRead(BaseModel):
    subscription_id: str
    workspaces: list[str]
    recorded_policy: dict[str, Any]
    simulated_policy: dict[str, Any]

    @classmethod
    def of(cls, sub: SubscriptionPolicies) -> SubscriptionPolicyRead:
        return cls(
            subscription_id=sub.subscription_id,
            workspaces=list(sub.workspaces),
            recorded_policy=policy_to_mapping(sub.recorded),
            simulated_policy=policy_to_mapping(sub.simulated),
        )


class SimulationRead(BaseModel):
    """The account's invoices issued in ``[from, to)``, recorded and simulated side by side;
    the replay ran through ``replayed_until`` (``to``, now, or the end of what the record has
    billed, whichever is first). Nothing was written."""

    model_config = ConfigDict(populate_by_name=True)

    account_id: str
    currency: Currency
    start: datetime | None = Field(alias="from")
    end: datetime | None = Field(alias="to")
    replayed_until: datetime
    subscriptions: list[SubscriptionPolicyRead]
    invoices: list[InvoiceComparisonRead]
    totals: TotalsRead
    credit_balance: BalanceComparisonRead

    @classmethod
    def of(cls, result: AccountSimulation) -> SimulationRead:
        totals = result.totals
        return cls(
            account_id=result.account_id,
            currency=result.currency,
            start=result.start,
            end=result.end,
            replayed_until=result.replayed_until,
            subscriptions=[SubscriptionPolicyRead.of(s) for s in result.subscriptions],
            invoices=[InvoiceComparisonRead.of(pair) for pair in result.invoices],
            totals=TotalsRead(
                recorded=amount(totals.recorded),
                simulated=amount(totals.simulated),
                difference=amount(totals.difference),
                verdict=totals.verdict,
            ),
            credit_balance=BalanceComparisonRead(
                recorded=amount(result.recorded_balance),
                simulated=amount(result.simulated_balance),
            ),
        )
