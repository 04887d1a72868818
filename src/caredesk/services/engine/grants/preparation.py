"""A bundle checked against every rule and run on copies, before anything is written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from caredesk.domain.agents import Actor
from caredesk.domain.errors import DomainError, ErrorCode, ValidationFailed
from caredesk.domain.ledger import check_balanced
from caredesk.domain.money import ZERO
from caredesk.domain.policy import remedies as ops
from caredesk.domain.policy.authority import REFUND_KINDS
from caredesk.domain.policy.eligibility import PolicyRefused, cited_rules, refusals
from caredesk.domain.policy.model import Policy, RemedyDef
from caredesk.services.engine.facts import Situation, default_params, request_facts, situation_facts


def chosen_remedies(policy: Policy, remedy_ids: list[str]) -> list[RemedyDef]:
    if not remedy_ids:
        raise ValidationFailed("name at least one remedy", details={"field": "remedies"})
    if len(set(remedy_ids)) != len(remedy_ids):
        raise ValidationFailed("a remedy appears twice", details={"field": "remedies"})
    chosen = []
    for remedy_id in remedy_ids:
        remedy = policy.remedy(remedy_id)
        if remedy is None:
            raise DomainError(
                f"the policy in force has no remedy {remedy_id!r}",
                code=ErrorCode.NOT_ELIGIBLE,
                details={"remedy": remedy_id, "rule": None},
            )
        chosen.append(remedy)
    ids = set(remedy_ids)
    for remedy in chosen:
        clash = ids & set(remedy.excludes)
        if clash:
            raise DomainError(
                f"{remedy.id} cannot be granted together with {', '.join(sorted(clash))}",
                code=ErrorCode.NOT_ELIGIBLE,
                details={"remedy": remedy.id, "rule": f"remedies.{remedy.id}.excludes"},
            )
    return chosen


@dataclass
class Prepared:
    remedies: list[RemedyDef]
    params: dict[str, dict[str, Any]]
    workspace: ops.Workspace
    effects: list[ops.Effect]
    rules: list[str]
    cost: Decimal
    refunded: Decimal


def prepare(
    policy: Policy,
    situation: Situation,
    actor: Actor,
    actor_kind: str,
    now: datetime,
    remedy_ids: list[str],
    overrides: dict[str, dict[str, Any]],
    confirmed: bool,
) -> Prepared:
    """Check every rule and run the remedies on copies. Raises on the first refusal."""
    chosen = chosen_remedies(policy, remedy_ids)
    facts = situation_facts(situation, policy, actor, actor_kind, now)
    defaults = default_params(situation, policy, facts)
    params: dict[str, dict[str, Any]] = {}
    rules: list[str] = []
    for remedy in chosen:
        merged = {**defaults.get(remedy.id, {}), **overrides.get(remedy.id, {})}
        merged["confirmed"] = confirmed
        params[remedy.id] = merged
        remedy_facts = {**facts, **request_facts(situation, policy, remedy, merged)}
        found = refusals(policy, remedy, remedy_facts)
        if found:
            raise PolicyRefused(found[0], remedy.id)
        rules += cited_rules(policy, remedy, remedy_facts)
    ws = ops.Workspace.of(situation.customer, situation.order, situation.variants, now)
    effects = [ops.apply(ws, remedy, params[remedy.id], policy) for remedy in chosen]
    cost = sum((e.cost for e in effects), ZERO)
    refunded = sum((e.cost for e in effects if e.kind in REFUND_KINDS), ZERO)
    postings = [p for e in effects for p in e.postings]
    check_balanced(postings)
    for p in params.values():
        p.pop("confirmed", None)
    return Prepared(chosen, params, ws, effects, sorted(set(rules)), cost, refunded)
