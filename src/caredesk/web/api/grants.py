"""The empowerment engine over HTTP: plans, grants, approvals, the policy in force."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from caredesk.domain.grants import ApprovalStatus
from caredesk.domain.policy.review import PolicyChangeStatus
from caredesk.services.engine import grants, policy
from caredesk.web.api.common import IdPath, SmallIdPath
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
from caredesk.web.deps import ActorDep, ContainerDep, NowDep
from caredesk.web.idempotency import HEADER as IDEMPOTENCY_HEADER
from caredesk.web.idempotency import IdempotentRoute

router = APIRouter(route_class=IdempotentRoute, tags=["grants"])


@router.get("/cases/{case_id}/plan")
def plan_case(case_id: IdPath, actor: ActorDep, container: ContainerDep, now: NowDep) -> PlanOut:
    return PlanOut.of(case_id, grants.plan_case(container.uow.read_only(), actor, now, case_id))


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
    return GrantOut.of_outcome(outcome)


@router.get("/cases/{case_id}/grants")
def case_grants(case_id: IdPath, actor: ActorDep, container: ContainerDep) -> list[GrantOut]:
    return [GrantOut.of(g) for g in grants.case_grants(container.uow.read_only(), actor, case_id)]


@router.get("/grants/{grant_id}")
def get_grant(grant_id: IdPath, actor: ActorDep, container: ContainerDep) -> GrantOut:
    grant, ledger = grants.get_grant(container.uow.read_only(), actor, grant_id)
    return GrantOut.of(grant, ledger=[LedgerEntryOut.of(e) for e in ledger])


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
    return GrantOut.of_outcome(outcome, approval_id=approval_id)


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
