"""A small condition language over facts, so eligibility lives in the policy file, not code.

A condition is one of:
    {all: [cond, ...]}   {any: [cond, ...]}   {not: cond}
    {fact: NAME, op: OP, value: X}        compare a fact with a literal
    {fact: NAME, op: OP, fact_ref: NAME}  compare two facts
    {fact: NAME, op: OP, table: TABLE}    compare with a policy table looked up by a fact
Facts are a flat mapping of dotted names (`order.status`, `customer.tier`) to plain values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    LT = "lt"
    LTE = "lte"
    GT = "gt"
    GTE = "gte"
    EXISTS = "exists"
    MISSING = "missing"
    CONTAINS = "contains"
    CONTAINS_ANY = "contains_any"
    SUBSET_OF = "subset_of"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TableDef(_Strict):
    """A value chosen by a fact: e.g. the return window by membership."""

    by: str = Field(description="The fact whose value picks the row.")
    values: dict[str, Any] = Field(default_factory=dict)
    default: Any = None

    def lookup(self, facts: Mapping[str, Any]) -> Any:
        key = facts.get(self.by)
        return self.values.get(str(key), self.default) if key is not None else self.default


class Compare(_Strict):
    fact: str
    op: Op = Op.EQ
    value: Any = None
    fact_ref: str | None = None
    table: str | None = None

    @model_validator(mode="after")
    def _one_operand(self) -> Compare:
        given = sum(x is not None for x in (self.fact_ref, self.table))
        if given > 1:
            raise ValueError("use at most one of fact_ref and table")
        listy = (Op.IN, Op.NOT_IN, Op.CONTAINS_ANY, Op.SUBSET_OF)
        if self.op in listy and not given and not isinstance(self.value, list):
            raise ValueError(f"op {self.op.value} needs a list value")
        return self


class AllOf(_Strict):
    all: list[Condition]


class AnyOf(_Strict):
    any: list[Condition]


class NotOf(_Strict):
    not_: Condition = Field(alias="not")


Condition = Union[AllOf, AnyOf, NotOf, Compare]  # noqa: UP007 (a recursive alias needs Union)
AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()

_MISSING = object()


@lru_cache(maxsize=4096)
def _text_comparable(text: str) -> Any:
    try:
        return Decimal(text)
    except ArithmeticError:
        return text


def _comparable(value: Any) -> Any:
    # Text is the usual fact and literal, and parsing it is dear where it is not a number
    # (a raised and caught error each time): a text is parsed once per process.
    if type(value) is str:
        return _text_comparable(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    return value


def _ordered(op: Op, left: Any, right: Any) -> bool:
    return _ordered_comparable(op, _comparable(left), _comparable(right))


def _ordered_comparable(op: Op, a: Any, b: Any) -> bool:
    try:
        if op is Op.LT:
            return bool(a < b)
        if op is Op.LTE:
            return bool(a <= b)
        if op is Op.GT:
            return bool(a > b)
        return bool(a >= b)
    except TypeError:
        return False


def evaluate(
    condition: Condition, facts: Mapping[str, Any], tables: Mapping[str, TableDef]
) -> bool:
    if isinstance(condition, AllOf):
        return all(evaluate(c, facts, tables) for c in condition.all)
    if isinstance(condition, AnyOf):
        return any(evaluate(c, facts, tables) for c in condition.any)
    if isinstance(condition, NotOf):
        return not evaluate(condition.not_, facts, tables)
    left = facts.get(condition.fact, _MISSING)
    if condition.op is Op.EXISTS:
        return left is not _MISSING and left is not None
    if condition.op is Op.MISSING:
        return left is _MISSING or left is None
    if left is _MISSING or left is None:
        return False
    if condition.fact_ref is not None:
        right = facts.get(condition.fact_ref)
    elif condition.table is not None:
        right = tables[condition.table].lookup(facts)
    else:
        right = condition.value
    op = condition.op
    if right is None:
        return (op is Op.EQ and left is None) or (op is Op.NE and left is not None)
    return _test(op, left, right)


Check = Callable[[Mapping[str, Any]], bool]
_COLLECTIONS = (list, tuple, set, frozenset)


def compile_condition(condition: Condition, tables: Mapping[str, TableDef]) -> Check:
    """The condition as one function of the facts that decides exactly as `evaluate` does.

    The tree is walked and each literal made comparable once, when the policy is compiled,
    instead of at every evaluation: a plan evaluates the same rules for every remedy it tries.
    """
    if isinstance(condition, AllOf):
        parts = tuple(compile_condition(c, tables) for c in condition.all)
        return lambda facts: all(part(facts) for part in parts)
    if isinstance(condition, AnyOf):
        parts = tuple(compile_condition(c, tables) for c in condition.any)
        return lambda facts: any(part(facts) for part in parts)
    if isinstance(condition, NotOf):
        inner = compile_condition(condition.not_, tables)
        return lambda facts: not inner(facts)
    return _compile_compare(condition, tables)


def _compile_compare(condition: Compare, tables: Mapping[str, TableDef]) -> Check:
    fact, op = condition.fact, condition.op
    if op is Op.EXISTS:
        return lambda facts: facts.get(fact) is not None
    if op is Op.MISSING:
        return lambda facts: facts.get(fact) is None
    if condition.fact_ref is None and condition.table is None:
        return _against_literal(fact, op, condition.value)
    read_right: Callable[[Mapping[str, Any]], Any]
    if condition.fact_ref is not None:
        ref = condition.fact_ref
        read_right = lambda facts: facts.get(ref)  # noqa: E731
    else:
        name = str(condition.table)
        # Looked up at each evaluation, as `evaluate` does: a table the policy lacks fails
        # only when a comparison reaches it.
        read_right = lambda facts: tables[name].lookup(facts)  # noqa: E731
    ne = op is Op.NE

    def check(facts: Mapping[str, Any]) -> bool:
        left = facts.get(fact)
        if left is None:
            return False
        right = read_right(facts)
        if right is None:
            return ne
        return _test(op, left, right)

    return check


def _against_literal(fact: str, op: Op, value: Any) -> Check:
    if value is None:
        # Any fact that is there differs from nothing and equals it never.
        ne = op is Op.NE
        return lambda facts: facts.get(fact) is not None and ne
    test = _literal_test(op, value)

    def check(facts: Mapping[str, Any]) -> bool:
        left = facts.get(fact)
        return left is not None and test(left)

    return check


def _literal_test(op: Op, value: Any) -> Callable[[Any], bool]:
    """A comparison with a literal, the literal made comparable beforehand."""
    if op is Op.EQ or op is Op.NE:
        right = _comparable(value)
        if op is Op.EQ:
            return lambda left: bool(_comparable(left) == right)
        return lambda left: bool(_comparable(left) != right)
    if op is Op.IN or op is Op.NOT_IN:
        rights = tuple(_comparable(r) for r in value)
        if op is Op.IN:
            return lambda left: any(_comparable(left) == r for r in rights)
        return lambda left: all(_comparable(left) != r for r in rights)
    if op in (Op.LT, Op.LTE, Op.GT, Op.GTE):
        bound = _comparable(value)
        return lambda left: _ordered_comparable(op, _comparable(left), bound)
    return lambda left: _test(op, left, value)


def _test(op: Op, left: Any, right: Any) -> bool:
    """`evaluate`'s comparison of a fact that is there with an operand that is there."""
    if op is Op.EQ:
        return bool(_comparable(left) == _comparable(right))
    if op is Op.NE:
        return bool(_comparable(left) != _comparable(right))
    if op is Op.IN:
        return any(_comparable(left) == _comparable(r) for r in right)
    if op is Op.NOT_IN:
        return all(_comparable(left) != _comparable(r) for r in right)
    if op is Op.CONTAINS:
        return isinstance(left, list | tuple | set | frozenset | str) and right in left
    if op is Op.CONTAINS_ANY:
        return isinstance(left, _COLLECTIONS) and any(r in left for r in right)
    if op is Op.SUBSET_OF:
        return isinstance(left, _COLLECTIONS) and all(x in right for x in left)
    return _ordered(op, left, right)


def reads(condition: Condition, tables: Mapping[str, TableDef]) -> frozenset[str]:
    """Every fact whose value can change what the condition decides: the facts it compares
    and those that pick a row of the tables it uses."""
    picks = {tables[t].by for t in tables_used(condition) if t in tables}
    return frozenset(facts_used(condition) | picks)


def facts_used(condition: Condition) -> set[str]:
    """Every fact a condition reads, so a policy can be checked against the facts we know."""
    return _read_in(condition, lambda c: {c.fact, c.fact_ref} if c.fact_ref else {c.fact})


def tables_used(condition: Condition) -> set[str]:
    return _read_in(condition, lambda c: {c.table} if c.table else set())


def _read_in(condition: Condition, read: Callable[[Compare], set[str]]) -> set[str]:
    """What `read` finds in every comparison of a condition, through all, any and not."""
    if isinstance(condition, AllOf | AnyOf):
        parts = condition.all if isinstance(condition, AllOf) else condition.any
        return set[str]().union(*(_read_in(c, read) for c in parts))
    if isinstance(condition, NotOf):
        return _read_in(condition.not_, read)
    return read(condition)
