"""Caps on compensation per order and per case issue: no role, no approval goes above them."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
import yaml

from caredesk.adapters.yaml_files import parse_policy
from caredesk.domain.policy.authority import CapUsage, Usage, decide
from caredesk.domain.policy.loading import PolicyInvalid
from caredesk.domain.policy.planner import plan
from caredesk.services.engine.policy import packaged_policy_text
from tests.unit.policy.test_authority_and_planner import POLICY, _late_order_context

D = Decimal


def _order(granted: str, value: str = "300") -> CapUsage:
    return CapUsage("order", "order o1", D(value), D(granted))


def test_the_default_cap_is_what_was_paid_plus_a_bounded_extra() -> None:
    assert POLICY.caps.per_order.allowance(D("300")) == D("350.00")
    assert POLICY.caps.per_case_issue.allowance(D("0")) == D("50.00")


@pytest.mark.parametrize("role", ["agent", "admin"])
def test_a_grant_above_the_order_cap_is_refused_whatever_the_role(role: str) -> None:
    credit = [POLICY.remedy("store-credit")]
    within = decide(POLICY, role, credit, D("15"), Usage(caps=(_order("335"),)))  # type: ignore[arg-type]
    assert within.refusal is None
    above = decide(POLICY, role, credit, D("15"), Usage(caps=(_order("335.01"),)))  # type: ignore[arg-type]
    assert above.refusal is not None
    assert (above.refusal.rule_id, above.refusal.code) == ("caps.per_order", "guardrail")
    assert "order o1" in above.refusal.message


def test_the_case_issue_cap_counts_grants_without_an_order_too() -> None:
    credit = [POLICY.remedy("store-credit")]
    issue = CapUsage("case_issue", "case 7 (complaint)", D("0"), D("40"))
    refusal = decide(POLICY, "lead", credit, D("15"), Usage(caps=(issue,))).refusal  # type: ignore[arg-type]
    assert refusal is not None and refusal.rule_id == "caps.per_case_issue"


def test_a_cost_free_change_is_never_capped() -> None:
    cancel = [POLICY.remedy("cancel")]
    assert decide(POLICY, "agent", cancel, D("0"), Usage(caps=(_order("999"),))).may_grant  # type: ignore[arg-type]


def test_the_planner_offers_nothing_above_what_the_cap_leaves() -> None:
    context = _late_order_context("lead")
    room = D("20")
    capped = replace(context, usage=Usage(caps=(_order(str(D("350") - room)),)))

    result = plan(capped)

    assert result.offers
    assert all(offer.cost <= room for offer in result.offers)
    assert [r.rule_id for r in result.ineligible["refund-full"]] == ["caps.per_order"]
    assert max(o.cost for o in plan(context).offers) > room


def test_caps_are_data_and_validated() -> None:
    data = yaml.safe_load(packaged_policy_text("default"))
    data["caps"] = {"per_order": {"value_share": 0, "extra": 25}}
    loaded = parse_policy(yaml.safe_dump(data)).policy
    assert loaded.caps.per_order.allowance(D("300")) == D("25.00")
    assert loaded.caps.per_case_issue == POLICY.caps.per_case_issue
    data["caps"] = {"per_order": {"value_share": -1}}
    with pytest.raises(PolicyInvalid) as invalid:
        parse_policy(yaml.safe_dump(data))
    assert [p.field for p in invalid.value.problems] == ["caps.per_order.value_share"]
