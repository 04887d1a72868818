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


def _comparable(value: Any) -> Any:
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
    a, b = _comparable(left), _comparable(right)
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
        return isinstance(left, list | tuple | set | frozenset) and any(r in left for r in right)
    if op is Op.SUBSET_OF:
        return isinstance(left, list | tuple | set | frozenset) and all(x in right for x in left)
    return _ordered(op, left, right)


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
