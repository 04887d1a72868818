"""Which rules allow or refuse a remedy, for the facts of one case and one request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.domain.policy.model import Policy, RemedyDef, RuleCheck


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


def _applies(check: RuleCheck, facts: Mapping[str, Any]) -> bool:
    return check.applies is None or check.applies(facts)


def _refused(check: RuleCheck) -> Refusal:
    return Refusal(check.rule.id, check.rule.code, check.rule.message)


def refusals(policy: Policy, remedy: RemedyDef, facts: Mapping[str, Any]) -> list[Refusal]:
    """Every rule the remedy fails, hard rules first; empty when the remedy is eligible."""
    found, checks = [], policy.checks()
    for rule_id in [*policy.guardrails.hard_rules, *remedy.rules]:
        check = checks[rule_id]
        if _applies(check, facts) and not check.holds(facts):
            found.append(_refused(check))
    return found


def cited_rules(policy: Policy, remedy: RemedyDef, facts: Mapping[str, Any]) -> list[str]:
    """The rules that actually applied (their `when` held) and allowed the remedy."""
    checks = policy.checks()
    return [rule_id for rule_id in remedy.rules if _applies(checks[rule_id], facts)]


class CaseVerdicts:
    """What the rules decide on one case's facts, for each remedy a plan tries on them.

    A remedy adds the facts of its own request to the case's. A rule that reads none of
    those decides for it as on the case's facts alone, so the plan decides it once rather
    than once for each remedy (the hard rules, the case's issue, the order's status).
    """

    def __init__(self, policy: Policy, case_facts: Mapping[str, Any]) -> None:
        self._hard_rules = tuple(policy.guardrails.hard_rules)
        self._checks = policy.checks()
        self._case_facts = case_facts
        self._applies: dict[str, bool] = {}
        self._holds: dict[str, bool] = {}

    def refusals(
        self, remedy: RemedyDef, facts: Mapping[str, Any], request: Mapping[str, Any]
    ) -> list[Refusal]:
        """As `refusals` for `facts`, the case's facts with the request's over them."""
        found = []
        for rule_id in [*self._hard_rules, *remedy.rules]:
            check = self._checks[rule_id]
            if check.reads.isdisjoint(request):
                fails = self._applies_to_case(check) and not self._holds_for_case(check)
            else:
                fails = _applies(check, facts) and not check.holds(facts)
            if fails:
                found.append(_refused(check))
        return found

    def cited(
        self, remedy: RemedyDef, facts: Mapping[str, Any], request: Mapping[str, Any]
    ) -> list[str]:
        """As `cited_rules` for `facts`, the case's facts with the request's over them."""
        cited = []
        for rule_id in remedy.rules:
            check = self._checks[rule_id]
            if check.reads.isdisjoint(request):
                applies = self._applies_to_case(check)
            else:
                applies = _applies(check, facts)
            if applies:
                cited.append(rule_id)
        return cited

    def _applies_to_case(self, check: RuleCheck) -> bool:
        known = self._applies.get(check.rule.id)
        if known is None:
            known = self._applies[check.rule.id] = _applies(check, self._case_facts)
        return known

    def _holds_for_case(self, check: RuleCheck) -> bool:
        known = self._holds.get(check.rule.id)
        if known is None:
            known = self._holds[check.rule.id] = check.holds(self._case_facts)
        return known
