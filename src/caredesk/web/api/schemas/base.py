"""What every request and response body shares. Requests forbid unknown fields; money is a
decimal string."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Annotated, Any, Generic, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)

SmallId = Annotated[int, Field(ge=1, le=2**31 - 1)]  # agents and teams
MoneyOut = Annotated[Decimal, PlainSerializer(lambda d: f"{d:.2f}", return_type=str)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=200_000)]
T = TypeVar("T")
S = TypeVar("S")


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


class Strict(BaseModel):
    """A request body: unknown fields are refused, and so are NaN and infinities anywhere
    (JSON has no such numbers, and the database's JSON columns cannot hold them)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_non_finite_numbers(cls, data: Any) -> Any:
        if not _finite(data):
            raise ValueError("numbers must be finite: NaN and Infinity are not JSON")
        return data


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page; null on the last."
    )


class OutOf(BaseModel, Generic[S]):
    """A response body that says what a domain object says under the same names: `of` reads
    each field from the attribute of its name (a nested body from its object in turn).

    A field the object says otherwise (a link, an enum's value, a sorted list) is given
    to `of` by name, and only those are spelt out."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, source: S, **converted: Any) -> Self:
        if not converted:
            return cls.model_validate(source)
        values = {
            name: getattr(source, name)
            for name in cls.model_fields
            if name not in converted and hasattr(source, name)
        }
        return cls.model_validate(values | converted)
