"""Whether the acting role may grant a bundle now, must ask for approval, or must not at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from caredesk.domain.money import ZERO
from caredesk.domain.policy.eligibility import Refusal
from caredesk.domain.policy.model import ROLES, Budget, Policy, RemedyDef, RemedyKind

# Kinds that hand money back to the customer, for the refund-ratio guardrail.
REFUND_KINDS = frozenset({RemedyKind.REFUND})


@dataclass(frozen=True, slots=True)
class CapUsage:
    """One order, or one issue of a case: what its goods are worth and what grants gave."""

    scope: Literal["order", "case_issue"]
    name: str  # how the refusal names it: "order W1", "case 7 (late_delivery)"
    value: Decimal
    granted: Decimal

    @property
    def rule(self) -> str:
        return f"caps.per_{self.scope}"


@dataclass(frozen=True, slots=True)
class Usage:
    """What has already been granted, for the limits a new grant adds to."""

    case_spent: Decimal = ZERO
    agent_spent_today: Decimal = ZERO
    budget_spent: dict[int, Decimal] = field(default_factory=dict)  # by index in policy.budgets
    customer_grants_90d: int = 0
    customer_refunds_365d: Decimal = ZERO
    customer_spend_365d: Decimal = ZERO
    caps: tuple[CapUsage, ...] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    may_grant: bool
    approver_role: str | None = None
    reasons: tuple[str, ...] = ()
    refusal: Refusal | None = None

    @property
    def needs_approval(self) -> bool:
        return self.refusal is None and not self.may_grant


def _budgets_for(policy: Policy, team: str | None) -> list[tuple[int, Budget]]:
    return [
        (i, b) for i, b in enumerate(policy.budgets) if b.team == "*" or (team and b.team == team)
    ]


def _over_limits(
    policy: Policy,
    role: str,
    remedies: list[RemedyDef],
    cost: Decimal,
    usage: Usage,
    team: str | None,
) -> list[str]:
    limit = policy.authority.get(role)
    if limit is None:
        return [f"role {role} has no authority to grant"]
    reasons = []
    if limit.remedies is not None:
        outside = [r.id for r in remedies if r.id not in limit.remedies]
        if outside:
            reasons.append(f"role {role} may not grant {', '.join(outside)}")
    if cost > limit.per_grant:
        reasons.append(f"cost {cost} is above {role}'s limit per grant ({limit.per_grant})")
    if usage.case_spent + cost > limit.per_case:
        reasons.append(
            f"the case would reach {usage.case_spent + cost}, "
            f"above {role}'s limit per case ({limit.per_case})"
        )
    if usage.agent_spent_today + cost > limit.per_day:
        reasons.append(
            f"today's grants would reach {usage.agent_spent_today + cost}, "
            f"above {role}'s daily limit ({limit.per_day})"
        )
    for index, budget in _budgets_for(policy, team):
        spent = usage.budget_spent.get(index, ZERO)
        if spent + cost > budget.amount:
            reasons.append(
                f"the {budget.team} budget for this {budget.period} "
                f"would reach {spent + cost} of {budget.amount}"
            )
    return reasons


def cap_refusal(policy: Policy, cost: Decimal, caps: tuple[CapUsage, ...]) -> Refusal | None:
    """The first cap a grant of `cost` would go above, if any."""
    if cost <= ZERO:
        return None
    for cap in caps:
        limit = policy.caps.per_order if cap.scope == "order" else policy.caps.per_case_issue
        allowance = limit.allowance(cap.value)
        if cap.granted + cost > allowance:
            return Refusal(
                cap.rule,
                "guardrail",
                f"compensation on {cap.name} would reach {cap.granted + cost}, above its cap "
                f"of {allowance} ({cap.granted} granted already)",
            )
    return None


def hard_limit_refusal(
    policy: Policy, cost: Decimal, usage: Usage, refund_amount: Decimal = ZERO
) -> Refusal | None:
    """What no role and no approval overrides: the guardrails and the caps."""
    guard = policy.guardrails
    if cost > ZERO and usage.customer_grants_90d >= guard.max_grants_per_customer_90d:
        return Refusal(
            "guardrails.max_grants_per_customer_90d",
            "guardrail",
            f"the customer already had {usage.customer_grants_90d} grants in 90 days "
            f"(limit {guard.max_grants_per_customer_90d})",
        )
    # The ratio watches for serial refunds: a customer's first refund of the year never trips it.
    if refund_amount > ZERO and usage.customer_refunds_365d > ZERO and usage.customer_spend_365d:
        ratio = (usage.customer_refunds_365d + refund_amount) / usage.customer_spend_365d
        if ratio > guard.max_refund_ratio:
            return Refusal(
                "guardrails.max_refund_ratio",
                "guardrail",
                f"refunds would reach {ratio:.0%} of the customer's spend this year "
                f"(limit {guard.max_refund_ratio:.0%})",
            )
    return cap_refusal(policy, cost, usage.caps)


def decide(
    policy: Policy,
    role: str,
    remedies: list[RemedyDef],
    cost: Decimal,
    usage: Usage,
    team: str | None = None,
    refund_amount: Decimal = ZERO,
) -> Decision:
    refusal = hard_limit_refusal(policy, cost, usage, refund_amount)
    if refusal is not None:
        return Decision(False, refusal=refusal)
    reasons = _over_limits(policy, role, remedies, cost, usage, team)
    if not reasons:
        return Decision(True)
    # The approver is the first role up the chain whose own limits cover the grant.
    approver, seen = policy.approvers.get(role), {role}
    while approver and approver not in seen:
        if not _over_limits(
            policy, approver, remedies, cost, Usage(case_spent=usage.case_spent), None
        ):
            return Decision(False, approver_role=approver, reasons=tuple(reasons))
        seen.add(approver)
        approver = policy.approvers.get(approver)
    return Decision(False, approver_role="admin", reasons=tuple(reasons))


def outranks(role: str, other: str) -> bool:
    """admin > lead > agent > viewer."""
    return ROLES.index(role) <= ROLES.index(other)
