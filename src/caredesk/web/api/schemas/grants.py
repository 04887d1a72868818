"""Request and response bodies of the empowerment engine: plans, grants, approvals and the
policy in force."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, Field

from caredesk.domain.grants import Approval, Grant, LedgerEntry
from caredesk.domain.policy.planner import Offer
from caredesk.domain.policy.review import Difference, PolicyChange, PolicyChangeStatus
from caredesk.services.engine.grants import GrantOutcome, Plan
from caredesk.web.api.schemas.base import MoneyOut, OutOf, Strict


class RemedyOut(BaseModel):
    id: str
    kind: str
    label: str
    cost: MoneyOut
    params: dict[str, Any]
    rules: list[str]
    customer_note: str
    why: dict[str, str] = Field(
        description="Each cited rule as a sentence with this case's figures, by rule id."
    )


class OfferOut(BaseModel):
    remedies: list[RemedyOut]
    cost: MoneyOut
    retention: float = Field(description="Chance of keeping the customer with this bundle.")
    expected_value: MoneyOut
    service_level: int
    may_grant: bool
    needs_approval: bool
    approver_role: str | None
    rules: list[str]
    reasons: list[str]

    @classmethod
    def of(cls, offer: Offer) -> OfferOut:
        return cls(
            remedies=[
                RemedyOut(
                    id=o.remedy.id,
                    kind=o.remedy.kind.value,
                    label=o.remedy.label,
                    cost=o.cost,
                    params=dict(o.params),
                    rules=o.rules,
                    customer_note=o.customer_note,
                    why=dict(o.why),
                )
                for o in offer.remedies
            ],
            cost=offer.cost,
            retention=round(offer.retention, 4),
            expected_value=offer.expected_value,
            service_level=int(offer.service_level),
            may_grant=offer.decision.may_grant,
            needs_approval=offer.decision.needs_approval,
            approver_role=offer.decision.approver_role,
            rules=offer.rules,
            reasons=offer.reasons,
        )


class RefusalOut(BaseModel):
    rule: str
    code: str
    message: str


class PlanOut(BaseModel):
    case_id: int
    policy_version: str
    issue_type: str
    customer_value: MoneyOut
    value_at_stake: MoneyOut
    baseline_retention: float
    basis: dict[str, int] = Field(description="Send back with the grant to refuse stale plans.")
    offers: list[OfferOut]
    ineligible: dict[str, list[RefusalOut]]

    @classmethod
    def of(cls, case_id: int, result: Plan) -> PlanOut:
        p = result.ranking
        return cls(
            case_id=case_id,
            policy_version=result.policy_version,
            issue_type=p.issue_type,
            customer_value=result.customer_value,
            value_at_stake=p.value_at_stake,
            baseline_retention=round(p.baseline_retention, 4),
            basis=result.basis,
            offers=[OfferOut.of(o) for o in p.offers],
            ineligible={
                k: [RefusalOut(rule=r.rule_id, code=r.code, message=r.message) for r in v]
                for k, v in p.ineligible.items()
            },
        )


class GrantIn(Strict):
    remedies: list[str] = Field(min_length=1, max_length=5)
    params: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per remedy id, parameters overriding the plan's."
    )
    order_id: str | None = None
    basis: dict[str, int] | None = Field(
        default=None, description="The plan's basis; a grant on changed facts is refused."
    )


class LedgerEntryOut(OutOf[LedgerEntry]):
    account: str
    amount: MoneyOut
    memo: str


class GrantOut(OutOf[Grant]):
    id: int
    case_id: int | None
    customer_id: str
    order_id: str | None
    remedies: list[str]
    params: dict[str, Any]
    status: str
    cost: MoneyOut
    policy_version: str
    service_level: int
    rules: list[str]
    summary: str
    actor: str
    created_at: datetime
    executed_at: datetime | None
    reverses_grant_id: int | None
    approval_id: int | None = None
    ledger: list[LedgerEntryOut] = Field(default_factory=list)

    @classmethod
    def of(cls, source: Grant, **converted: Any) -> Self:
        status = source.status.value
        return super().of(source, remedies=source.remedy_ids, status=status, **converted)

    @classmethod
    def of_outcome(cls, outcome: GrantOutcome, **converted: Any) -> Self:
        """A grant just executed (with its ledger postings) or waiting for an approval."""
        found = {
            "ledger": [
                LedgerEntryOut(account=p.account, amount=p.amount, memo=p.memo)
                for p in outcome.postings
            ],
            "approval_id": outcome.approval.id if outcome.approval else None,
        }
        return cls.of(outcome.grant, **(found | converted))


class ApprovalOut(OutOf[Approval]):
    id: int
    grant_id: int
    case_id: int | None
    status: str
    requested_by: str
    requested_by_role: str
    # Clients written before the field was named after `requested_by` read `requester_role`
    # (docs/glossary.md, "Deprecated names").
    requester_role: str = Field(deprecated="Use `requested_by_role`: the same role.")
    approver_role: str
    reasons: list[str]
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    note: str

    @classmethod
    def of(cls, source: Approval, **converted: Any) -> Self:
        status = source.status.value
        role = source.requested_by_role
        return super().of(source, status=status, requester_role=role, **converted)


class DecisionIn(Strict):
    note: str = Field(default="", max_length=2000)


class ReverseIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class PolicyIn(Strict):
    text: str = Field(min_length=1, max_length=1_000_000, description="The policy file (YAML).")
    force: bool = Field(
        default=False,
        description="Put in a policy that grants nothing (no remedies, or nobody may grant "
        "them), otherwise refused with `policy_empty`. Audited; a second admin still confirms.",
    )


class DifferenceOut(OutOf[Difference]):
    path: str = Field(description="What changed, e.g. `authority.agent.per_grant`.")
    change: str = Field(description="added, removed or changed.")
    before: str | None
    after: str | None
    effect: str = Field(description="loosens, removes, unclear, tightens or wording.")


class PolicyOut(BaseModel):
    version: str
    name: str
    digest: str
    loaded_at: datetime | None = None
    loaded_by: str | None = None
    active: bool = True
    differences: list[DifferenceOut] = Field(
        default_factory=list, description="What it changed against the policy in force before."
    )


class PolicyChangeOut(OutOf[PolicyChange]):
    """A policy waiting for a second admin, and what it changes."""

    id: int
    version: str
    name: str
    digest: str
    base_version: str | None = Field(description="The policy in force it was compared with.")
    status: PolicyChangeStatus
    forced: bool
    proposed_by: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    note: str
    remedies_added: list[str]
    remedies_removed: list[str]
    differences: list[DifferenceOut]
    text: str

    @classmethod
    def of(cls, source: PolicyChange, **converted: Any) -> Self:
        diff = source.diff
        return super().of(
            source,
            remedies_added=diff.remedies("added"),
            remedies_removed=diff.remedies("removed"),
            differences=[DifferenceOut.of(d) for d in diff.differences],
            **converted,
        )
