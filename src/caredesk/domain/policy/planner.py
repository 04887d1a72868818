"""The planner: eligible remedies, combined into bundles, ranked by expected value.

expected value = chance of keeping the customer with the bundle × value at stake − cost.
Each remedy is tried once on copies of the case's order and customer, so a plan's costs and
feasibility are exactly what granting it would do.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from caredesk.domain.errors import DomainError
from caredesk.domain.money import ZERO, format_money
from caredesk.domain.policy import remedies as ops
from caredesk.domain.policy.authority import REFUND_KINDS, Decision, Usage, cap_refusal, decide
from caredesk.domain.policy.eligibility import CaseVerdicts, Refusal
from caredesk.domain.policy.explain import explain
from caredesk.domain.policy.model import Policy, RemedyDef, ServiceLevel
from caredesk.domain.policy.value import base_retention, retention_with


@dataclass(frozen=True, slots=True)
class PlanContext:
    """Everything the planner reads; gathered by the service layer, no I/O here."""

    policy: Policy
    facts: Mapping[str, Any]
    workspace: ops.Workspace
    params: Mapping[str, Mapping[str, Any]]  # default parameters per remedy id
    request_facts: Mapping[str, Mapping[str, Any]]  # facts about those parameters, per remedy
    role: str
    usage: Usage
    team: str | None = None
    customer_value: Decimal = ZERO
    # Remedies already granted (or awaiting approval) on this case for its issue: each yes
    # is given once, so they are not proposed again.
    already_granted: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class RemedyOption:
    remedy: RemedyDef
    params: Mapping[str, Any]
    cost: Decimal
    rules: list[str]
    customer_note: str
    # Each cited rule as a sentence with this case's numbers, by rule id.
    why: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Offer:
    remedies: list[RemedyOption]
    cost: Decimal
    retention: float
    expected_value: Decimal
    decision: Decision
    reasons: list[str]
    service_level: ServiceLevel

    @property
    def remedy_ids(self) -> list[str]:
        return [o.remedy.id for o in self.remedies]

    @property
    def rules(self) -> list[str]:
        return sorted({rule for o in self.remedies for rule in o.rules})

    @property
    def why(self) -> dict[str, str]:
        """Every cited rule of the bundle as a sentence with the figures behind it."""
        return {rule: text for o in self.remedies for rule, text in o.why.items()}


@dataclass(frozen=True, slots=True)
class Ranking:
    """The planner's answer for one situation: the best offers first, and what it left out."""

    offers: list[Offer]
    baseline_retention: float
    value_at_stake: Decimal
    issue_type: str
    ineligible: dict[str, list[Refusal]] = field(default_factory=dict)


def _try(
    context: PlanContext, verdicts: CaseVerdicts, remedy: RemedyDef
) -> RemedyOption | list[Refusal]:
    request = context.request_facts.get(remedy.id, {})
    facts = {**context.facts, **request}
    found = verdicts.refusals(remedy, facts, request)
    if found:
        return found
    params = context.params.get(remedy.id, {})
    ws = ops.Workspace.of(
        context.workspace.customer,
        context.workspace.order,
        context.workspace.variants,
        context.workspace.now,
    )
    try:
        effect = ops.apply(ws, remedy, params, context.policy)
    except DomainError as exc:
        rule = exc.details.get("rule") or f"invariant.{exc.code.value}"
        return [Refusal(str(rule), exc.code.value, exc.message)]
    cited = verdicts.cited(remedy, facts, request)
    return RemedyOption(
        remedy,
        params,
        effect.cost,
        cited,
        effect.customer_note,
        {rule: explain(context.policy.rule(rule), context.policy, facts) for rule in cited},
    )


def _compatible(bundle: tuple[RemedyOption, ...]) -> bool:
    """Policy decides what combines: `excludes` keeps pairs apart, `requires_any` ties."""
    ids = {o.remedy.id for o in bundle}
    for option in bundle:
        if ids & set(option.remedy.excludes):
            return False
        if option.remedy.requires_any and not ids & set(option.remedy.requires_any):
            return False
    return True


def plan(context: PlanContext) -> Ranking:
    policy, facts = context.policy, context.facts
    issue = str(facts.get("case.issue_type") or "*")
    base = base_retention(
        policy,
        issue,
        negative_sentiment=bool(facts.get("case.negative_sentiment")),
        public_risk=bool(facts.get("case.public_risk")),
        first_order=bool(facts.get("customer.first_order")),
    )
    at_stake = context.customer_value
    if facts.get("case.public_risk"):
        at_stake = (at_stake * policy.value.public_risk_factor).quantize(Decimal("0.01"))
    options, ineligible = _options(context, issue)
    baseline = Decimal(str(round(base, 4))) * at_stake
    ranked: list[_Priced] = []
    for size in range(1, policy.planner.max_bundle_size + 1):
        for bundle in itertools.combinations(options, size):
            if not _compatible(bundle):
                continue
            priced = _priced(context, bundle, issue, base, at_stake)
            if priced is not None:
                ranked.append(priced)
    ranked.sort(key=_Priced.rank)
    # Only the offers returned are worded: a plan prices dozens of bundles.
    offers = [_offer(policy, p, base, at_stake, baseline) for p in ranked[: policy.planner.offers]]
    return Ranking(offers, base, at_stake, issue, ineligible)


def _options(
    context: PlanContext, issue: str
) -> tuple[list[RemedyOption], dict[str, list[Refusal]]]:
    """Each remedy the policy offers, tried alone: those that may go in a bundle, and why
    each of the others may not."""
    options: list[RemedyOption] = []
    ineligible: dict[str, list[Refusal]] = {}
    verdicts = CaseVerdicts(context.policy, context.facts)
    for remedy in context.policy.remedies:
        if not remedy.offer:
            continue
        if remedy.id in context.already_granted:
            ineligible[remedy.id] = [
                Refusal(
                    "grants.once_per_issue",
                    "not_eligible",
                    f"already granted on this case for {issue}",
                )
            ]
            continue
        outcome = _try(context, verdicts, remedy)
        if not isinstance(outcome, RemedyOption):
            ineligible[remedy.id] = outcome
            continue
        # A remedy that alone goes above a cap is shown with the cap's rule; bundles are
        # checked whole by decide() in _offer.
        capped = cap_refusal(context.policy, outcome.cost, context.usage.caps)
        if capped is None:
            options.append(outcome)
        else:
            ineligible[remedy.id] = [capped]
    return options, ineligible


@dataclass(frozen=True, slots=True)
class _Priced:
    """A bundle authority does not refuse, with what ranking needs."""

    bundle: tuple[RemedyOption, ...]
    cost: Decimal
    retention: float
    expected_value: Decimal
    decision: Decision

    def rank(self) -> tuple[Decimal, Decimal, int, list[str]]:
        # Highest expected value first; among equals the cheaper, then the simpler bundle.
        ids = [o.remedy.id for o in self.bundle]
        return (-self.expected_value, self.cost, len(self.bundle), ids)


def _priced(
    context: PlanContext,
    bundle: tuple[RemedyOption, ...],
    issue: str,
    base: float,
    at_stake: Decimal,
) -> _Priced | None:
    """The bundle with its expected value, or None when authority refuses it."""
    policy = context.policy
    chosen = [o.remedy for o in bundle]
    cost = sum((o.cost for o in bundle), ZERO)
    retention = retention_with(policy, base, issue, chosen)
    ev = (Decimal(str(round(retention, 4))) * at_stake - cost).quantize(Decimal("0.01"))
    refunded = sum((o.cost for o in bundle if o.remedy.kind in REFUND_KINDS), ZERO)
    decision = decide(policy, context.role, chosen, cost, context.usage, context.team, refunded)
    if decision.refusal is not None:
        return None
    return _Priced(bundle, cost, retention, ev, decision)


def _offer(
    policy: Policy, priced: _Priced, base: float, at_stake: Decimal, baseline: Decimal
) -> Offer:
    """The priced bundle as an offer, with its reasons."""
    gain = (priced.expected_value - baseline).quantize(Decimal("0.01"))
    reasons = [
        f"keeps the customer with {priced.retention:.0%} chance (vs {base:.0%} doing nothing)",
        f"worth {format_money(at_stake, policy.currency)} to the store; costs "
        f"{format_money(priced.cost, policy.currency)}; expected gain "
        f"{format_money(gain, policy.currency)}",
        *priced.decision.reasons,
    ]
    return Offer(
        remedies=list(priced.bundle),
        cost=priced.cost,
        retention=priced.retention,
        expected_value=priced.expected_value,
        decision=priced.decision,
        reasons=reasons,
        service_level=max(o.remedy.service_level for o in priced.bundle),
    )
