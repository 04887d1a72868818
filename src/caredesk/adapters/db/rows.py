"""Copying between a domain object and its row, field by field, by name.

A domain dataclass and its table name a thing's fields alike. What differs (an enum read back
from its value, a parsed document, a renamed or shortened column, a relationship) is said
where the entity is mapped; every other field is copied here, so a field added to both sides
needs no line of mapping.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from enum import Enum
from functools import cache
from types import UnionType
from typing import (
    Any,
    ClassVar,
    Generic,
    Protocol,
    TypeVar,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

from sqlalchemy import inspect
from sqlalchemy.orm import Session


class Dataclass(Protocol):
    __dataclass_fields__: ClassVar[dict[str, Any]]


class Entity(Dataclass, Protocol):
    """A domain object whose key the database assigns when it is first written."""

    id: int | None


D = TypeVar("D", bound=Dataclass)
E = TypeVar("E", bound=Entity)
R = TypeVar("R")


def from_row(cls: type[D], row: Any, **converted: Any) -> D:
    """The `cls` whose fields are the row's same-named columns, but for those `converted` gives.

    A field typed as an enum (or as an optional one) is read back from the value stored.
    """
    enums = _enums(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.init and f.name not in converted:
            value = getattr(row, f.name)
            enum = enums.get(f.name)
            values[f.name] = enum(value) if enum and value is not None else _copied(value)
    return cls(**values, **converted)


def onto_row(obj: Dataclass, row: R, *, skip: Collection[str] = (), **converted: Any) -> R:
    """Write `obj` onto the row as `column_values` gives it; every name must be a column."""
    columns = inspect(type(row)).attrs
    for name, value in column_values(obj, skip=skip, **converted).items():
        if name not in columns:
            raise TypeError(f"{type(row).__name__} has no column for {name!r}")
        setattr(row, name, value)
    return row


def column_values(
    obj: Dataclass, *, skip: Collection[str] = (), **converted: Any
) -> dict[str, Any]:
    """`obj`'s fields by name as a row stores them (an enum as its value), for a row or a
    statement. `converted` gives the columns whose stored form differs; `skip` names the fields
    not written (a key the database assigns, a version it keeps, what lives in another table).
    """
    values = {
        f.name: _stored(getattr(obj, f.name))
        for f in dataclasses.fields(obj)
        if f.name not in skip and f.name not in converted
    }
    return values | converted


def columns_for(row_type: type[Any], cls: type[Dataclass]) -> list[Any]:
    """The row's columns named as `cls`'s fields, for a query that reads just what it needs."""
    return [getattr(row_type, f.name) for f in dataclasses.fields(cls) if f.init]


def insert(session: Session, row: R) -> R:
    """Add the row and flush, so the key and version the database gives it are known."""
    session.add(row)
    session.flush()
    return row


def add_row(
    session: Session, obj: Entity, row: R, *, skip: Collection[str] = (), **converted: Any
) -> R:
    """Insert `obj` as the new `row` (as `onto_row` writes it), and give it the row's key."""
    insert(session, onto_row(obj, row, skip=("id", *skip), **converted))
    key = inspect(row).identity
    assert key is not None
    obj.id = key[0]
    return row


class SqlRepository:
    """A repository over its unit of work's session."""

    def __init__(self, session: Session) -> None:
        self.session = session


class TableRepository(SqlRepository, Generic[E, R]):
    """One entity kept in one table: added as a new row, read back by its key."""

    entity: type[E]
    table: type[R]

    def add(self, obj: E) -> None:
        add_row(self.session, obj, self.table())

    def get(self, key: Any) -> E | None:
        return self.found(self.session.get(self.table, key))

    def found(self, row: R | None) -> E | None:
        return from_row(self.entity, row) if row is not None else None


@cache
def _enums(cls: type[Any]) -> dict[str, type[Enum]]:
    found: dict[str, type[Enum]] = {}
    for name, hint in get_type_hints(cls).items():
        optional = isinstance(hint, UnionType) or get_origin(hint) is Union
        for kind in get_args(hint) if optional else (hint,):
            if isinstance(kind, type) and issubclass(kind, Enum):
                found[name] = kind
    return found


def _copied(value: Any) -> Any:
    # A domain object never shares a list or a dict with its row: a change made in place on
    # one would go unseen by the other (and by the session, which compares on flush).
    if isinstance(value, list):
        return [_copied(v) for v in value]
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    return value


def _stored(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    return _copied(value)
