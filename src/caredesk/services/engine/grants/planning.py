"""Plans: the best few bundles an agent could grant on a case, with their reasons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.cases import Case
from caredesk.domain.policy import remedies as ops
from caredesk.domain.policy.planner import PlanContext, Ranking, plan
from caredesk.services.engine.facts import default_params, request_facts, situation_facts
from caredesk.services.engine.grants.situation import (
    AGENT,
    issue_of,
    load_case,
    situation_basis,
    situation_for_case,
)
from caredesk.services.engine.grants.usage import measure_usage, standing_for_issue
from caredesk.services.engine.policy import policy_in_force
from caredesk.services.engine.unit import EngineUnit


@dataclass(frozen=True, slots=True)
class Plan:
    """The ranked offers for one case at one moment, and the basis granting quotes so a stale
    plan is refused."""

    case: Case
    ranking: Ranking
    policy_version: str
    basis: dict[str, int]
    customer_value: Decimal


def plan_case(uow: EngineUnit, actor: Actor, now: datetime, case_id: int) -> Plan:
    """The best few bundles the acting agent could grant on this case, with their reasons."""
    actor.require(Permission.READ)
    with uow:
        loaded = policy_in_force(uow)
        policy = loaded.policy
        case = load_case(uow, actor, case_id)
        situation = situation_for_case(uow, policy, now, case, None, actor.agent_id)
        facts = situation_facts(situation, policy, actor, AGENT, now)
        params = default_params(situation, policy, facts)
        case_grants = uow.grants.for_case(case_id)
        standing = standing_for_issue(case_grants, issue_of(situation))
        context = PlanContext(
            policy=policy,
            facts=facts,
            workspace=ops.Workspace(situation.customer, situation.order, situation.variants, now),
            params=params,
            request_facts={
                r.id: request_facts(situation, policy, r, params.get(r.id, {}))
                for r in policy.remedies
            },
            role=actor.role.grants_as.value,
            usage=measure_usage(situation, case_grants),
            team=situation.figures.team,
            customer_value=situation.value.lifetime_value,
            already_granted=frozenset(r for g in standing for r in g.remedy_ids),
        )
        return Plan(
            case,
            plan(context),
            loaded.version,
            situation_basis(situation),
            situation.value.lifetime_value,
        )
