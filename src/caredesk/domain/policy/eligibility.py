"""Which rules allow or refuse a remedy, for the facts of one case and one request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.domain.policy.conditions import evaluate
from caredesk.domain.policy.model import Policy, RemedyDef, Rule


@dataclass(frozen=True, slots=True)
class Refusal:
    rule_id: str
    code: str
    message: str


class PolicyRefused(DomainError):
    """A rule refused the grant; the refusal names it."""

    def __init__(self, refusal: Refusal, remedy_id: str) -> None:
        try:
            code = ErrorCode(refusal.code)
        except ValueError:
            code = ErrorCode.POLICY_REFUSED
        super().__init__(
            refusal.message,
            code=code,
            details={"rule": refusal.rule_id, "remedy": remedy_id, "reason": refusal.code},
        )
        self.refusal = refusal


def check_rule(rule: Rule, policy: Policy, facts: Mapping[str, Any]) -> Refusal | None:
    if rule.when is not None and not evaluate(rule.when, facts, policy.tables):
        return None
    if evaluate(rule.require, facts, policy.tables):
        return None
    return Refusal(rule.id, rule.code, rule.message)


def refusals(policy: Policy, remedy: RemedyDef, facts: Mapping[str, Any]) -> list[Refusal]:
    """Every rule the remedy fails, hard rules first; empty when the remedy is eligible."""
    found = []
    for rule_id in [*policy.guardrails.hard_rules, *remedy.rules]:
        refusal = check_rule(policy.rule(rule_id), policy, facts)
        if refusal is not None:
            found.append(refusal)
    return found


def cited_rules(policy: Policy, remedy: RemedyDef, facts: Mapping[str, Any]) -> list[str]:
    """The rules that actually applied (their `when` held) and allowed the remedy."""
    cited = []
    for rule_id in remedy.rules:
        rule = policy.rule(rule_id)
        if rule.when is None or evaluate(rule.when, facts, policy.tables):
            cited.append(rule_id)
    return cited
