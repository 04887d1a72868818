"""A cited rule reads as a sentence with the case's own figures, not as a rule id."""

from __future__ import annotations

from caredesk.adapters.yaml_files import parse_policy
from caredesk.domain.policy.explain import explain
from caredesk.domain.policy.planner import plan
from caredesk.services.engine.policy import packaged_policy_text
from tests.unit.policy.test_authority_and_planner import _late_order_context

POLICY = parse_policy(packaged_policy_text("default")).policy


def test_a_comparison_of_two_amounts_shows_both_in_the_currency() -> None:
    facts = {"request.return_cost": "12.40", "request.recoverable_value": "6.00"}
    text = explain(POLICY.rule("keep.cheaper_than_return"), POLICY, facts)
    assert text == (
        "Keep the item when taking it back costs at least what it would recover: "
        "return cost $12.40 is at least recoverable value $6.00"
    )


def test_a_table_limit_names_the_row_the_case_chose() -> None:
    facts = {"order.days_since_delivery": 12, "customer.membership": "member"}
    text = explain(POLICY.rule("returns.within_window"), POLICY, facts)
    assert text.endswith("days since delivery 12 is at most the return window days for member: 90")
    anyone = explain(POLICY.rule("returns.within_window"), POLICY, {"order.days_since_delivery": 3})
    assert anyone.endswith("days since delivery 3 is at most the return window days: 30")


def test_equalities_and_unknown_figures_keep_the_plain_sentence() -> None:
    rule = POLICY.rule("order.belongs_to_case_customer")
    assert explain(rule, POLICY, {"order.customer_id": "c1", "customer.id": "c1"}) == (
        "A remedy acts only on the case customer's own orders"
    )
    keep = POLICY.rule("keep.cheaper_than_return")
    assert explain(keep, POLICY, {}) == (
        "Keep the item when taking it back costs at least what it would recover"
    )


def test_every_offer_explains_each_rule_it_cites() -> None:
    for offer in plan(_late_order_context("agent")).offers:
        assert offer.rules and set(offer.why) == set(offer.rules)
        assert all(text and text != rule for rule, text in offer.why.items())
