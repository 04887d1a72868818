"""The policy language: conditions over facts, and loading with precise errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from caredesk.adapters.yaml_files import parse_policy
from caredesk.domain.policy.conditions import AllOf, AnyOf, Compare, NotOf, Op, TableDef, evaluate
from caredesk.domain.policy.loading import PolicyInvalid
from caredesk.services.engine.policy import packaged_policy_text

TABLES = {"window": TableDef(by="customer.membership", values={"plus": 365}, default=30)}


@pytest.mark.parametrize(
    ("condition", "facts", "expected"),
    [
        (Compare(fact="order.status", value="pending"), {"order.status": "pending"}, True),
        (
            Compare(fact="order.status", op=Op.NE, value="pending"),
            {"order.status": "pending"},
            False,
        ),
        (Compare(fact="x", op=Op.IN, value=[1, 2]), {"x": 2}, True),
        (Compare(fact="x", op=Op.NOT_IN, value=[1, 2]), {"x": 3}, True),
        (Compare(fact="x", op=Op.LT, value=10), {"x": Decimal("9.99")}, True),
        (Compare(fact="x", op=Op.GTE, fact_ref="y"), {"x": 5, "y": 5.0}, True),
        (
            Compare(fact="x", op=Op.LTE, table="window"),
            {"x": 200, "customer.membership": "plus"},
            True,
        ),
        (Compare(fact="x", op=Op.LTE, table="window"), {"x": 200}, False),
        (Compare(fact="x", op=Op.EXISTS), {}, False),
        (Compare(fact="x", op=Op.MISSING), {"x": None}, True),
        (Compare(fact="tags", op=Op.CONTAINS, value="vip"), {"tags": ["vip"]}, True),
        (Compare(fact="m", op=Op.CONTAINS_ANY, value=["new_baby"]), {"m": ["wedding"]}, False),
        (Compare(fact="x", op=Op.LT, value=1), {}, False),
        (Compare(fact="x", op=Op.LT, value=1), {"x": "text"}, False),
    ],
)
def test_compare(condition: Compare, facts: dict[str, object], expected: bool) -> None:
    assert evaluate(condition, facts, TABLES) is expected


def test_combinators() -> None:
    yes, no = Compare(fact="a", value=1), Compare(fact="a", value=2)
    facts = {"a": 1}
    assert evaluate(AllOf(all=[yes, yes]), facts, {})
    assert not evaluate(AllOf(all=[yes, no]), facts, {})
    assert evaluate(AnyOf(any=[no, yes]), facts, {})
    assert evaluate(NotOf.model_validate({"not": no}), facts, {})


def test_the_packaged_policies_are_valid() -> None:
    loaded = parse_policy(packaged_policy_text("default"))
    assert loaded.policy.remedy("keep-item") is not None


def test_an_invalid_policy_names_line_and_field() -> None:
    text = packaged_policy_text("default").replace("per_grant: 100", "per_grant: -5", 1)
    with pytest.raises(PolicyInvalid) as caught:
        parse_policy(text)
    problem = caught.value.problems[0]
    expected_line = next(
        i for i, line in enumerate(text.splitlines(), 1) if "per_grant: -5" in line
    )
    assert problem.field == "authority.agent.per_grant"
    assert problem.line == expected_line


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("version: [unclosed", "not valid YAML"),
        ("- a\n- b\n", "mapping at the top level"),
        (
            "version: v1\nrules: [{id: r1, require: {fact: a}, message: m},"
            " {id: r1, require: {fact: a}, message: m}]",
            "duplicate rule ids",
        ),
        (
            "version: v1\nremedies: [{id: x, kind: refund, label: X, rules: [nope]}]",
            "unknown rule nope",
        ),
        (
            "version: v1\nauthority: {chief: {per_grant: 1, per_case: 1, per_day: 1}}",
            "unknown role",
        ),
        ("version: v1\nremedies: [{id: x, kind: gesture, label: X, surprise: 1}]", "Extra inputs"),
    ],
)
def test_invalid_policies_are_refused_whole(text: str, fragment: str) -> None:
    with pytest.raises(PolicyInvalid) as caught:
        parse_policy(text)
    assert fragment in caught.value.message
