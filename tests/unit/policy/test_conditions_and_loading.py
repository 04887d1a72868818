"""The policy language: conditions over facts, and loading with precise errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from caredesk.adapters.yaml_files import parse_policy
from caredesk.domain.policy.conditions import (
    AllOf,
    AnyOf,
    Compare,
    Condition,
    NotOf,
    Op,
    TableDef,
    compile_condition,
    evaluate,
)
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


# Facts and literals of every kind a policy compares: numbers as numbers and as text, words,
# flags, dates, lists, and nothing.
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 400),
    st.floats(-3, 400, allow_nan=False),
    st.decimals(-3, 400, places=2),
    st.sampled_from(["pending", "plus", "12", "12.00", "0.5", "", "abc", "Infinity"]),
    st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 1, 3)),
    st.lists(st.sampled_from(["new_baby", "wedding", "12", "plus"]), max_size=3),
)
_FACTS = ("a", "b", "customer.membership")


def _compare(fact: str, op: Op, operand: dict[str, object]) -> Compare | None:
    """The comparison, or None where the policy language refuses it (a list op on a scalar)."""
    try:
        return Compare.model_validate({"fact": fact, "op": op, **operand})
    except ValidationError:
        return None


_COMPARES = st.builds(
    _compare,
    st.sampled_from(_FACTS),
    st.sampled_from(list(Op)),
    st.one_of(
        st.builds(lambda v: {"value": v}, _VALUES),
        st.builds(lambda v: {"value": v}, st.lists(_VALUES, max_size=3)),
        st.builds(lambda f: {"fact_ref": f}, st.sampled_from(_FACTS)),
        st.just({"table": "window"}),
    ),
).filter(lambda c: c is not None)
_CONDITIONS = st.recursive(
    _COMPARES,
    lambda inner: st.one_of(
        st.builds(lambda cs: AllOf(all=cs), st.lists(inner, max_size=3)),
        st.builds(lambda cs: AnyOf(any=cs), st.lists(inner, max_size=3)),
        st.builds(lambda c: NotOf.model_validate({"not": c}), inner),
    ),
    max_leaves=6,
)


def _outcome(decide: Callable[[], bool]) -> object:
    try:
        return decide()
    except Exception as exc:  # what fails must fail the same way
        return type(exc)


@settings(max_examples=600, deadline=None)
@given(
    condition=_CONDITIONS,
    facts=st.dictionaries(st.sampled_from([*_FACTS, "unknown"]), _VALUES, max_size=4),
)
def test_a_compiled_condition_decides_as_the_condition_does(
    condition: Condition, facts: dict[str, object]
) -> None:
    compiled = compile_condition(condition, TABLES)
    assert _outcome(lambda: compiled(facts)) == _outcome(lambda: evaluate(condition, facts, TABLES))
