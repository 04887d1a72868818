"""The declarative base every table shares: its naming convention and common column types.

A column whose Python type says how it is stored needs no arguments: `Mapped[datetime]` is
an aware UTC timestamp, `Mapped[Decimal]` money, a list or a dict JSON, a `str` with no
length text. The aliases below name the columns that several tables declare alike. A column
named in `__mapper_args__` (an optimistic `version`) keeps its `= mapped_column()`: the class
body needs its name.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, MetaData, Numeric, String, Text
from sqlalchemy.orm import DeclarativeBase, mapped_column
from sqlalchemy.types import TypeEngine

from caredesk.adapters.db.types import JsonType, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(12, 2)
# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")

# The key of a table that stays small (staff, settings) and of one that grows with the desk.
IntPk = Annotated[int, mapped_column(primary_key=True)]
BigPk = Annotated[int, mapped_column(BigId, primary_key=True)]

# A value from a fixed set: a status, a kind, a role, a source.
Code = Annotated[str, "code"]
# An identifier, a key or a digest (a SHA-256 in hex is 64 characters).
Key = Annotated[str, "key"]
# Who did something, as the audit trail names them ("agent:3", "system").
Actor = Annotated[str, "actor"]
Email = Annotated[str, "email"]
# A BCP 47 language tag: 35 characters is the longest the standard asks to be kept.
Locale = Annotated[str, "locale"]

# A case's, a customer's or an order's own records go when it goes.
CaseOwned = Annotated[int, mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))]
CustomerOwned = Annotated[str, mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))]
OrderOwned = Annotated[str, mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)]

# The shapes of JSON the tables keep; SQLAlchemy looks a generic type up as it is written.
JSON_SHAPES: tuple[Any, ...] = (
    list[str],
    list[int],
    list[list[str]],
    list[dict[str, Any]],
    list[dict[str, str]],
    list[dict[str, int]],
    dict[str, Any],
    dict[str, str],
    dict[str, int],
    dict[str, list[str]],
)

COLUMN_TYPES: dict[Any, TypeEngine[Any]] = {
    datetime: UTCDateTime(),
    Decimal: Money,
    str: Text(),
    # FLOAT, as the migrations made it (SQLAlchemy 2.1 would map a float to DOUBLE).
    float: Float(),
    Code: String(20),
    Key: String(64),
    Actor: String(80),
    Email: String(320),
    Locale: String(35),
    **dict.fromkeys(JSON_SHAPES, JsonType),
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = COLUMN_TYPES
