"""A rule as a sentence with the case's own numbers, so an agent reads why, not a rule id.

"Keep the item when taking it back costs at least what it would recover: return cost $12.40
is at least recoverable value $6.00". The sentence is the rule's description (or its
message); the figures are the comparisons of its `require` that order two quantities, each
with the value this case gave it. Equalities ("the order is the customer's") add nothing a
reader needs, so they are left to the description.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from caredesk.domain.money import format_money
from caredesk.domain.policy.conditions import AllOf, AnyOf, Compare, Condition, NotOf, Op
from caredesk.domain.policy.model import Policy, Rule

_ORDERED = {Op.LT: "below", Op.LTE: "at most", Op.GT: "above", Op.GTE: "at least"}
# Facts named like these are amounts of money in the policy's currency.
_MONEY_WORDS = ("cost", "value", "amount", "price", "total", "paid", "refund", "spend")


def _label(fact: str) -> str:
    return fact.rsplit(".", 1)[-1].replace("_", " ")


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _shown(fact: str, value: Any, currency: str) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    number = _number(value)
    if number is None:
        return str(value)
    if any(word in fact for word in _MONEY_WORDS):
        return format_money(number, currency)
    return f"{number.normalize():f}"


def _leaves(condition: Condition) -> list[Compare]:
    if isinstance(condition, AllOf):
        return [leaf for c in condition.all for leaf in _leaves(c)]
    if isinstance(condition, AnyOf):
        return [leaf for c in condition.any for leaf in _leaves(c)]
    if isinstance(condition, NotOf):
        return []  # a negated comparison reads backwards; the description carries it
    return [condition]


def _figure(leaf: Compare, policy: Policy, facts: Mapping[str, Any]) -> str | None:
    word = _ORDERED.get(leaf.op)
    left = facts.get(leaf.fact)
    if word is None or left is None:
        return None
    if leaf.fact_ref is not None:
        right, right_name = facts.get(leaf.fact_ref), leaf.fact_ref
        right_label = f"{_label(leaf.fact_ref)} "
    elif leaf.table is not None:
        table = policy.tables[leaf.table]
        right, right_name = table.lookup(facts), leaf.table
        key = facts.get(table.by)
        chosen = f" for {key}" if key is not None and str(key) in table.values else ""
        right_label = f"the {_label(leaf.table)}{chosen}: "
    else:
        right, right_name, right_label = leaf.value, leaf.fact, ""
    if right is None:
        return None
    currency = policy.currency
    return (
        f"{_label(leaf.fact)} {_shown(leaf.fact, left, currency)} is {word} "
        f"{right_label}{_shown(right_name, right, currency)}"
    )


def explain(rule: Rule, policy: Policy, facts: Mapping[str, Any]) -> str:
    """The rule's sentence followed by the figures that decided it for these facts."""
    sentence = (rule.description or rule.message).strip().rstrip(".")
    figures = [f for leaf in _leaves(rule.require) if (f := _figure(leaf, policy, facts))]
    return f"{sentence}: {'; '.join(figures)}" if figures else sentence
