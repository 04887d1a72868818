"""The empowerment engine over HTTP: plans, grants, approvals, the policy in force."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, status

from caredesk.domain.grants import ApprovalStatus
from caredesk.domain.policy.review import PolicyChangeStatus
from caredesk.services.engine import grants, policy
from caredesk.web.api.common import ApiCall, Call, IdPath, SmallIdPath
from caredesk.web.api.schemas.grants import (
    ApprovalOut,
    DecisionIn,
    DifferenceOut,
    GrantIn,
    GrantOut,
    LedgerEntryOut,
    PlanOut,
    PolicyChangeOut,
    PolicyIn,
    PolicyOut,
    ReverseIn,
)
from caredesk.web.idempotency import HEADER as IDEMPOTENCY_HEADER
from caredesk.web.idempotency import IdempotentRoute

router = APIRouter(route_class=IdempotentRoute, tags=["grants"])


@router.get("/cases/{case_id}/plan")
def plan_case(case_id: IdPath, call: Call) -> PlanOut:
    return PlanOut.of(case_id, call.read(grants.plan_case, call.now(), case_id))


@router.post("/cases/{case_id}/grants", status_code=status.HTTP_201_CREATED)
def grant_on_case(
    case_id: IdPath,
    body: GrantIn,
    call: Call,
    idempotency_key: Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)] = None,
) -> GrantOut:
    outcome = call.run(
        grants.grant_on_case,
        case_id,
        body.remedies,
        params=body.params,
        order_id=body.order_id,
        idempotency_key=idempotency_key,
        basis=body.basis,
    )
    if outcome.approval is not None:
        call.response.status_code = status.HTTP_202_ACCEPTED
    return GrantOut.of_outcome(outcome)


@router.get("/cases/{case_id}/grants")
def case_grants(case_id: IdPath, call: Call) -> list[GrantOut]:
    return [GrantOut.of(g) for g in call.read(grants.case_grants, case_id)]


@router.get("/grants/{grant_id}")
def get_grant(grant_id: IdPath, call: Call) -> GrantOut:
    grant, ledger = call.read(grants.get_grant, grant_id)
    return GrantOut.of(grant, ledger=[LedgerEntryOut.of(e) for e in ledger])


@router.post("/grants/{grant_id}/reversal", status_code=status.HTTP_201_CREATED)
def reverse_grant(grant_id: IdPath, body: ReverseIn, call: Call) -> GrantOut:
    return GrantOut.of(call.run(grants.reverse_grant, grant_id, body.reason))


@router.get("/approvals", tags=["approvals"])
def list_approvals(
    call: Call,
    status_: Annotated[ApprovalStatus | None, Query(alias="status")] = ApprovalStatus.PENDING,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ApprovalOut]:
    found = call.read(grants.list_approvals, status_, limit)
    return [ApprovalOut.of(a) for a in found]


def _decide(approval_id: int, approve: bool, body: DecisionIn, call: ApiCall) -> GrantOut:
    outcome = call.run(grants.decide_approval, approval_id, approve=approve, note=body.note)
    return GrantOut.of_outcome(outcome, approval_id=approval_id)


@router.post("/approvals/{approval_id}/approve", tags=["approvals"])
def approve(approval_id: IdPath, body: DecisionIn, call: Call) -> GrantOut:
    return _decide(approval_id, True, body, call)


@router.post("/approvals/{approval_id}/deny", tags=["approvals"])
def deny(approval_id: IdPath, body: DecisionIn, call: Call) -> GrantOut:
    return _decide(approval_id, False, body, call)


@router.get("/policy", tags=["policy"])
def current_policy(call: Call) -> PolicyOut:
    from caredesk.domain.agents import Permission

    call.actor.require(Permission.READ)
    loaded = policy.active_policy(call.container.uow.read_only())
    return PolicyOut(version=loaded.version, name=loaded.policy.name, digest=loaded.digest)


@router.get("/policy/versions", tags=["policy"])
def policy_versions(call: Call) -> list[PolicyOut]:
    return [
        PolicyOut(
            version=v.version,
            name=v.name,
            digest=v.digest,
            loaded_at=v.loaded_at,
            loaded_by=v.loaded_by,
            active=v.active,
        )
        for v in call.read(policy.history)
    ]


@router.put(
    "/policy",
    tags=["policy"],
    responses={202: {"model": PolicyChangeOut, "description": "Waiting for another admin."}},
)
def load_policy(body: PolicyIn, call: Call) -> PolicyOut | PolicyChangeOut:
    """Put a policy in force when it only tightens; otherwise (limits, caps or budgets
    raised, remedies added or removed, rules loosened, anything not comparable) answer 202
    with the pending change and its differences, for another admin to confirm."""
    proposal = call.run(policy.propose_policy, body.text, force=body.force)
    if proposal.change is not None:
        call.response.status_code = status.HTTP_202_ACCEPTED
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
    call: Call,
    status_: Annotated[
        PolicyChangeStatus | None, Query(alias="status")
    ] = PolicyChangeStatus.PENDING,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[PolicyChangeOut]:
    """Policy changes, newest first: pending by default (`status` omitted means pending)."""
    found = call.read(policy.list_policy_changes, status_, limit)
    return [PolicyChangeOut.of(c) for c in found]


@router.get("/policy/changes/{change_id}", tags=["policy"])
def policy_change(change_id: SmallIdPath, call: Call) -> PolicyChangeOut:
    return PolicyChangeOut.of(call.read(policy.get_policy_change, change_id))


@router.post("/policy/changes/{change_id}/confirm", tags=["policy"])
def confirm_policy_change(change_id: SmallIdPath, body: DecisionIn, call: Call) -> PolicyChangeOut:
    """Another admin than the proposer (signed in, or with a token issued to their agent)
    puts the change in force, if the policy it was compared with is still in force."""
    change = call.run(policy.confirm_policy_change, change_id, body.note)
    return PolicyChangeOut.of(change)


@router.post("/policy/changes/{change_id}/reject", tags=["policy"])
def reject_policy_change(change_id: SmallIdPath, body: DecisionIn, call: Call) -> PolicyChangeOut:
    change = call.run(policy.reject_policy_change, change_id, body.note)
    return PolicyChangeOut.of(change)
