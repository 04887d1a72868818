"""Approvals: a grant above the authority of the agent who asked for it, asked of a lead and
decided once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.errors import Forbidden, must_exist
from caredesk.domain.grants import Approval, ApprovalStatus, Grant, GrantStatus
from caredesk.domain.policy.authority import Decision, hard_limit_refusal, outranks
from caredesk.domain.policy.eligibility import PolicyRefused
from caredesk.domain.policy.loading import LoadedPolicy
from caredesk.services.core.changes import publish_change
from caredesk.services.core.commands import command
from caredesk.services.core.reads import read
from caredesk.services.engine.facts import Situation, load_situation
from caredesk.services.engine.grants.effects import GrantOutcome, commit_effects
from caredesk.services.engine.grants.preparation import Prepared, prepare
from caredesk.services.engine.grants.situation import AGENT, program_variants, situation_basis
from caredesk.services.engine.grants.usage import case_grants_of, lock_grant_scopes, measure_usage
from caredesk.services.engine.policy import active_policy
from caredesk.services.engine.unit import EngineUnit


def request_approval(
    uow: EngineUnit, actor: Actor, now: datetime, grant: Grant, decision: Decision
) -> Approval:
    assert grant.id is not None
    approval = Approval(
        id=None,
        grant_id=grant.id,
        requested_by=actor.ref,
        requested_by_role=actor.role.grants_as.value,
        approver_role=decision.approver_role or "admin",
        reasons=list(decision.reasons),
        created_at=now,
        case_id=grant.case_id,
    )
    uow.approvals.add(approval)
    publish_change(
        uow,
        actor,
        now,
        "approval.requested",
        "approval",
        approval.id,
        case_id=grant.case_id,
        after={
            "grant_id": grant.id,
            "approver_role": approval.approver_role,
            "reasons": approval.reasons,
        },
    )
    return approval


@command
def decide_approval(
    uow: EngineUnit,
    actor: Actor,
    now: datetime,
    approval_id: int,
    *,
    approve: bool,
    note: str = "",
) -> GrantOutcome:
    """Approve (the grant executes now, on current facts) or deny. A second decision is refused."""
    actor.require(Permission.APPROVE)
    loaded = active_policy(uow)
    with uow:
        approval, grant = _approval_to_decide(uow, actor, approval_id)
        if approve:
            approval.approve_as(actor.ref, actor.agent_id, grant.agent_id)
        lock_grant_scopes(
            uow,
            loaded.policy,
            agent_id=grant.agent_id,
            customer_id=grant.customer_id,
            case_id=grant.case_id,
            order_id=grant.order_id,
            team_id=grant.team_id,
        )
        approval.decide(
            ApprovalStatus.APPROVED if approve else ApprovalStatus.DENIED, actor.ref, now, note
        )
        uow.approvals.save(approval)
        if not approve:
            _deny(uow, actor, now, approval_id, grant, note)
            uow.commit()
            return GrantOutcome(grant, approval)
        outcome = _execute_approved(uow, loaded, actor, now, approval, grant, note)
        uow.commit()
        return GrantOutcome(grant, approval, outcome.postings, outcome.customer_note)


def _approval_to_decide(uow: EngineUnit, actor: Actor, approval_id: int) -> tuple[Approval, Grant]:
    """The approval and its grant, if the actor's role may decide it."""
    approval = must_exist(uow.approvals.get(approval_id), "approval", approval_id)
    if not outranks(actor.role.grants_as.value, approval.approver_role):
        raise Forbidden(
            f"this approval needs a {approval.approver_role}",
            details={"approver_role": approval.approver_role},
        )
    grant = uow.grants.get(approval.grant_id)
    assert grant is not None
    assert grant.id is not None
    return approval, grant


def _deny(
    uow: EngineUnit, actor: Actor, now: datetime, approval_id: int, grant: Grant, note: str
) -> None:
    grant.status = GrantStatus.DENIED
    uow.grants.save(grant)
    publish_change(
        uow,
        actor,
        now,
        "approval.denied",
        "approval",
        approval_id,
        case_id=grant.case_id,
        after={"grant_id": grant.id, "note": note},
    )


def _execute_approved(
    uow: EngineUnit,
    loaded: LoadedPolicy,
    actor: Actor,
    now: datetime,
    approval: Approval,
    grant: Grant,
    note: str,
) -> GrantOutcome:
    """The approved grant executed on today's facts, with what it costs today."""
    prepared, situation = _recheck(uow, loaded, now, approval, grant)
    grant.status = GrantStatus.EXECUTED
    grant.executed_at = now
    grant.cost, grant.refunded = prepared.cost, prepared.refunded
    grant.policy_version = loaded.version
    if situation_basis(situation) not in grant.bases:
        grant.bases.append(situation_basis(situation))
    uow.grants.save(grant)
    publish_change(
        uow,
        actor,
        now,
        "approval.approved",
        "approval",
        approval.id,
        case_id=grant.case_id,
        after={"grant_id": grant.id, "note": note},
    )
    return commit_effects(uow, actor, now, grant, prepared, situation)


def _recheck(
    uow: EngineUnit, loaded: LoadedPolicy, now: datetime, approval: Approval, grant: Grant
) -> tuple[Prepared, Situation]:
    """The eligibility on today's facts of the agent who asked; the approval lifts only the
    authority limits, never a rule or a guardrail."""
    customer = uow.customers.get(grant.customer_id)
    assert customer is not None
    case = uow.cases.get(grant.case_id) if grant.case_id else None
    asking = Actor(role=_role(approval.requested_by_role), agent_id=grant.agent_id)
    situation = load_situation(
        uow,
        loaded.policy,
        now,
        customer=customer,
        case=case,
        order_id=grant.order_id,
        agent_id=asking.agent_id,
        extra_variant_ids=program_variants(loaded.policy),
    )
    prepared = prepare(
        loaded.policy, situation, asking, AGENT, now, grant.remedy_ids, grant.params, True
    )
    usage = measure_usage(situation, case_grants_of(uow, situation))
    refusal = hard_limit_refusal(loaded.policy, prepared.cost, usage, prepared.refunded)
    if refusal is not None:
        raise PolicyRefused(refusal, grant.remedy_ids[0])
    return prepared, situation


def _role(value: str) -> Any:
    from caredesk.domain.agents import Role

    return Role(value)


def list_approvals(
    uow: EngineUnit, actor: Actor, status: ApprovalStatus | None, limit: int
) -> list[Approval]:
    return read(uow, actor, Permission.READ, lambda u: u.approvals.find(status, limit))
