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

from sqlalchemy import Select, inspect, select, update
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


def found(cls: type[D], row: Any | None) -> D | None:
    """The `cls` the row reads as, or None where no row was found."""
    return from_row(cls, row) if row is not None else None


def got(session: Session, cls: type[D], table: type[Any], key: Any) -> D | None:
    """The `cls` kept in `table` under `key`, if there is one."""
    return found(cls, session.get(table, key))


def first(session: Session, cls: type[D], table: type[Any], *where: Any) -> D | None:
    """The `cls` of the one row of `table` that meets `where` (a unique column's value)."""
    return found(cls, session.scalar(select(table).where(*where)))


def listed(
    session: Session, cls: type[D], table: type[Any], *where: Any, order_by: Any = None
) -> list[D]:
    """The rows of `table` that meet `where`, as `cls`, in `order_by`'s order (by key unless
    told)."""
    stmt = ordered(table, *where, order_by=order_by)
    return [from_row(cls, row) for row in session.scalars(stmt)]


def ordered(table: type[Any], *where: Any, order_by: Any = None) -> Select[Any]:
    """The rows of `table` that meet `where`, in `order_by`'s order (by key unless told)."""
    order = (order_by,) if order_by is not None else inspect(table).primary_key
    return select(table).where(*where).order_by(*order)


def save_row(
    session: Session, obj: Entity, table: type[R], *, skip: Collection[str] = (), **converted: Any
) -> R:
    """Write `obj` onto its row (as `onto_row` does; its key is never written) and flush."""
    row = session.get(table, obj.id)
    assert row is not None
    onto_row(obj, row, skip=("id", *skip), **converted)
    session.flush()
    return row


def update_fields(session: Session, obj: Entity, table: type[Any], *names: str) -> None:
    """Write only the fields `names` of `obj` onto its row, in one statement that reads nothing
    first: what a save may change, said where it is saved."""
    values = {name: _stored(getattr(obj, name)) for name in names}
    key = inspect(table).primary_key[0]
    session.execute(update(table).where(key == obj.id).values(values))


class SqlRepository:
    """A repository over its unit of work's session."""

    def __init__(self, session: Session) -> None:
        self.session = session


class TableReader(SqlRepository, Generic[D, R]):
    """One kind of record kept in one table, read back by its key, by a unique column's value
    or as a list. A record whose row differs from it by more than names says how it is read
    (`read`)."""

    entity: type[D]
    table: type[R]

    def get(self, key: Any) -> D | None:
        return self.found(self.session.get(self.table, key))

    def first(self, *where: Any) -> D | None:
        return self.found(self.session.scalar(select(self.table).where(*where)))

    def listed(self, *where: Any, order_by: Any = None) -> list[D]:
        stmt = ordered(self.table, *where, order_by=order_by)
        return [self.read(row) for row in self.session.scalars(stmt)]

    def many(self, keys: Collection[Any]) -> list[D]:
        """The records kept under these keys (those that exist), in key order, in one query."""
        if not keys:
            return []
        return self.listed(inspect(self.table).primary_key[0].in_(keys))

    def found(self, row: R | None) -> D | None:
        return self.read(row) if row is not None else None

    def read(self, row: R) -> D:
        return from_row(self.entity, row)


class TableRepository(TableReader[E, R]):
    """A `TableReader` of an entity whose key the database assigns: added as a new row."""

    def add(self, obj: E) -> None:
        add_row(self.session, obj, self.table())


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
