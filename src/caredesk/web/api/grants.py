"""The empowerment engine over HTTP: plans, grants, approvals, the policy in force."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status
from pydantic import BaseModel, Field

from caredesk.domain.grants import Approval, ApprovalStatus, Grant, LedgerEntry
from caredesk.domain.policy.planner import Offer
from caredesk.domain.policy.review import Difference, PolicyChange, PolicyChangeStatus
from caredesk.services.engine import grants, policy
from caredesk.web.api.common import IdPath, SmallIdPath
from caredesk.web.api.schemas import MoneyOut, Strict
from caredesk.web.deps import ActorDep, ContainerDep, NowDep
from caredesk.web.idempotency import HEADER as IDEMPOTENCY_HEADER
from caredesk.web.idempotency import IdempotentRoute

router = APIRouter(route_class=IdempotentRoute, tags=["grants"])


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


class GrantIn(Strict):
    remedies: list[str] = Field(min_length=1, max_length=5)
    params: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per remedy id, parameters overriding the plan's."
    )
    order_id: str | None = None
    basis: dict[str, int] | None = Field(
        default=None, description="The plan's basis; a grant on changed facts is refused."
    )


class LedgerEntryOut(BaseModel):
    account: str
    amount: MoneyOut
    memo: str

    @classmethod
    def of(cls, e: LedgerEntry) -> LedgerEntryOut:
        return cls(account=e.account, amount=e.amount, memo=e.memo)


class GrantOut(BaseModel):
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
    def of(
        cls, g: Grant, ledger: list[LedgerEntryOut] | None = None, approval_id: IdPath | None = None
    ) -> GrantOut:
        assert g.id is not None
        return cls(
            id=g.id,
            case_id=g.case_id,
            customer_id=g.customer_id,
            order_id=g.order_id,
            remedies=g.remedy_ids,
            params=g.params,
            status=g.status.value,
            cost=g.cost,
            policy_version=g.policy_version,
            service_level=g.service_level,
            rules=g.rules,
            summary=g.summary,
            actor=g.actor,
            created_at=g.created_at,
            executed_at=g.executed_at,
            reverses_grant_id=g.reverses_grant_id,
            approval_id=approval_id,
            ledger=ledger or [],
        )


class ApprovalOut(BaseModel):
    id: int
    grant_id: int
    case_id: int | None
    status: str
    requested_by: str
    requester_role: str
    approver_role: str
    reasons: list[str]
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    note: str

    @classmethod
    def of(cls, a: Approval) -> ApprovalOut:
        assert a.id is not None
        return cls(
            id=a.id,
            grant_id=a.grant_id,
            case_id=a.case_id,
            status=a.status.value,
            requested_by=a.requested_by,
            requester_role=a.requester_role,
            approver_role=a.approver_role,
            reasons=a.reasons,
            created_at=a.created_at,
            decided_by=a.decided_by,
            decided_at=a.decided_at,
            note=a.note,
        )


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


class DifferenceOut(BaseModel):
    path: str = Field(description="What changed, e.g. `authority.agent.per_grant`.")
    change: str = Field(description="added, removed or changed.")
    before: str | None
    after: str | None
    effect: str = Field(description="loosens, removes, unclear, tightens or wording.")

    @classmethod
    def of(cls, d: Difference) -> DifferenceOut:
        return cls(
            path=d.path, change=d.change, before=d.before, after=d.after, effect=d.effect.value
        )


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


class PolicyChangeOut(BaseModel):
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
    def of(cls, c: PolicyChange) -> PolicyChangeOut:
        assert c.id is not None
        return cls(
            id=c.id,
            version=c.version,
            name=c.name,
            digest=c.digest,
            base_version=c.base_version,
            status=c.status,
            forced=c.forced,
            proposed_by=c.proposed_by,
            proposed_at=c.proposed_at,
            decided_by=c.decided_by,
            decided_at=c.decided_at,
            note=c.note,
            remedies_added=c.diff.remedies("added"),
            remedies_removed=c.diff.remedies("removed"),
            differences=[DifferenceOut.of(d) for d in c.diff.differences],
            text=c.text,
        )


@router.get("/cases/{case_id}/plan")
def plan_case(case_id: IdPath, actor: ActorDep, container: ContainerDep, now: NowDep) -> PlanOut:
    result = grants.plan_case(container.uow.read_only(), actor, now, case_id)
    p = result.plan
    return PlanOut(
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


@router.post("/cases/{case_id}/grants", status_code=status.HTTP_201_CREATED)
def grant_on_case(
    case_id: IdPath,
    body: GrantIn,
    actor: ActorDep,
    container: ContainerDep,
    now: NowDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)] = None,
) -> GrantOut:
    outcome = grants.grant_on_case(
        container.uow(),
        actor,
        now,
        case_id,
        body.remedies,
        params=body.params,
        order_id=body.order_id,
        idempotency_key=idempotency_key,
        basis=body.basis,
    )
    if outcome.approval is not None:
        response.status_code = status.HTTP_202_ACCEPTED
    return GrantOut.of(
        outcome.grant,
        [LedgerEntryOut(account=p.account, amount=p.amount, memo=p.memo) for p in outcome.postings],
        outcome.approval.id if outcome.approval else None,
    )


@router.get("/cases/{case_id}/grants")
def case_grants(case_id: IdPath, actor: ActorDep, container: ContainerDep) -> list[GrantOut]:
    return [GrantOut.of(g) for g in grants.case_grants(container.uow.read_only(), actor, case_id)]


@router.get("/grants/{grant_id}")
def get_grant(grant_id: IdPath, actor: ActorDep, container: ContainerDep) -> GrantOut:
    grant, ledger = grants.get_grant(container.uow.read_only(), actor, grant_id)
    return GrantOut.of(grant, [LedgerEntryOut.of(e) for e in ledger])


@router.post("/grants/{grant_id}/reversal", status_code=status.HTTP_201_CREATED)
def reverse_grant(
    grant_id: IdPath, body: ReverseIn, actor: ActorDep, container: ContainerDep, now: NowDep
) -> GrantOut:
    return GrantOut.of(grants.reverse_grant(container.uow(), actor, now, grant_id, body.reason))


@router.get("/approvals", tags=["approvals"])
def list_approvals(
    actor: ActorDep,
    container: ContainerDep,
    status_: Annotated[ApprovalStatus | None, Query(alias="status")] = ApprovalStatus.PENDING,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ApprovalOut]:
    found = grants.list_approvals(container.uow.read_only(), actor, status_, limit)
    return [ApprovalOut.of(a) for a in found]


def _decide(
    approval_id: IdPath,
    approve: bool,
    body: DecisionIn,
    actor: ActorDep,
    container: ContainerDep,
    now: datetime,
) -> GrantOut:
    outcome = grants.decide_approval(
        container.uow(), actor, now, approval_id, approve=approve, note=body.note
    )
    return GrantOut.of(
        outcome.grant,
        [LedgerEntryOut(account=p.account, amount=p.amount, memo=p.memo) for p in outcome.postings],
        approval_id,
    )


@router.post("/approvals/{approval_id}/approve", tags=["approvals"])
def approve(
    approval_id: IdPath, body: DecisionIn, actor: ActorDep, container: ContainerDep, now: NowDep
) -> GrantOut:
    return _decide(approval_id, True, body, actor, container, now)


@router.post("/approvals/{approval_id}/deny", tags=["approvals"])
def deny(
    approval_id: IdPath, body: DecisionIn, actor: ActorDep, container: ContainerDep, now: NowDep
) -> GrantOut:
    return _decide(approval_id, False, body, actor, container, now)


@router.get("/policy", tags=["policy"])
def current_policy(actor: ActorDep, container: ContainerDep) -> PolicyOut:
    from caredesk.domain.agents import Permission

    actor.require(Permission.READ)
    loaded = policy.active_policy(container.uow.read_only())
    return PolicyOut(version=loaded.version, name=loaded.policy.name, digest=loaded.digest)


@router.get("/policy/versions", tags=["policy"])
def policy_versions(actor: ActorDep, container: ContainerDep) -> list[PolicyOut]:
    return [
        PolicyOut(
            version=v.version,
            name=v.name,
            digest=v.digest,
            loaded_at=v.loaded_at,
            loaded_by=v.loaded_by,
            active=v.active,
        )
        for v in policy.history(container.uow.read_only(), actor)
    ]


@router.put(
    "/policy",
    tags=["policy"],
    responses={202: {"model": PolicyChangeOut, "description": "Waiting for another admin."}},
)
def load_policy(
    body: PolicyIn, actor: ActorDep, container: ContainerDep, now: NowDep, response: Response
) -> PolicyOut | PolicyChangeOut:
    """Put a policy in force when it only tightens; otherwise (limits, caps or budgets
    raised, remedies added or removed, rules loosened, anything not comparable) answer 202
    with the pending change and its differences, for another admin to confirm."""
    proposal = policy.propose_policy(container.uow(), actor, now, body.text, force=body.force)
    if proposal.change is not None:
        response.status_code = status.HTTP_202_ACCEPTED
        return PolicyChangeOut.of(proposal.change)
    loaded = proposal.loaded
    return PolicyOut(
        version=loaded.version,
        name=loaded.policy.name,
        digest=loaded.digest,
        differences=[DifferenceOut.of(d) for d in proposal.diff.differences],
    )


@router.get("/policy/changes", tags=["policy"])
def policy_changes(
    actor: ActorDep,
    container: ContainerDep,
    status_: Annotated[PolicyChangeStatus | None, Query(alias="status")] = (
        PolicyChangeStatus.PENDING
    ),
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[PolicyChangeOut]:
    """Policy changes, newest first: pending by default (`status` omitted means pending)."""
    found = policy.list_policy_changes(container.uow.read_only(), actor, status_, limit)
    return [PolicyChangeOut.of(c) for c in found]


@router.get("/policy/changes/{change_id}", tags=["policy"])
def policy_change(
    change_id: SmallIdPath, actor: ActorDep, container: ContainerDep
) -> PolicyChangeOut:
    return PolicyChangeOut.of(policy.get_policy_change(container.uow.read_only(), actor, change_id))


@router.post("/policy/changes/{change_id}/confirm", tags=["policy"])
def confirm_policy_change(
    change_id: SmallIdPath, body: DecisionIn, actor: ActorDep, container: ContainerDep, now: NowDep
) -> PolicyChangeOut:
    """Another admin than the proposer (signed in, or with a token issued to their agent)
    puts the change in force, if the policy it was compared with is still in force."""
    change = policy.confirm_policy_change(container.uow(), actor, now, change_id, body.note)
    return PolicyChangeOut.of(change)


@router.post("/policy/changes/{change_id}/reject", tags=["policy"])
def reject_policy_change(
    change_id: SmallIdPath, body: DecisionIn, actor: ActorDep, container: ContainerDep, now: NowDep
) -> PolicyChangeOut:
    change = policy.reject_policy_change(container.uow(), actor, now, change_id, body.note)
    return PolicyChangeOut.of(change)
