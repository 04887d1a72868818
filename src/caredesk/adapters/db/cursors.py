"""Keyset pagination: opaque cursors for the API, and walks over a table in key order."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm import Session as OrmSession

from caredesk.domain.errors import DomainError, ErrorCode

R = TypeVar("R")
WALK_CHUNK = 500


def encode_cursor(*values: Any) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DomainError(
            "cursor is not one this API issued", code=ErrorCode.INVALID_CURSOR
        ) from exc
    if not isinstance(values, list) or len(values) != arity:
        raise DomainError("cursor is not one this API issued", code=ErrorCode.INVALID_CURSOR)
    return values


_INT64 = 2**63 - 1


def _foreign(exc: Exception | None = None) -> DomainError:
    error = DomainError("cursor is not one this API issued", code=ErrorCode.INVALID_CURSOR)
    if exc is not None:
        error.__cause__ = exc
    return error


def cursor_int(value: Any) -> int:
    """A key from a cursor, checked: the database would otherwise reject it with a 500."""
    if isinstance(value, bool) or not isinstance(value, int) or not -_INT64 <= value <= _INT64:
        raise _foreign()
    return value


def cursor_time(value: Any) -> datetime:
    """A timestamp from a cursor; only aware ones are issued."""
    if not isinstance(value, str):
        raise _foreign()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise _foreign(exc) from exc
    if moment.tzinfo is None:
        raise _foreign()
    return moment


def walk(
    session: OrmSession,
    query: Select[R],
    key: InstrumentedAttribute[int],
    *,
    after: int = 0,
    chunk: int = WALK_CHUNK,
) -> Iterator[R]:
    """The rows `query` selects, by ascending `key` from `after` on, read a chunk at a time:
    a walk over a large table never holds it all, and a caller that stops early reads no more."""
    while True:
        rows = list(session.scalars(query.where(key > after).order_by(key).limit(chunk)))
        yield from rows
        if len(rows) < chunk:
            # A short chunk is the last: asking again would only read nothing.
            return
        after = getattr(rows[-1], key.key)


def page_by_key(
    session: OrmSession,
    query: Select[R],
    key: InstrumentedAttribute[int],
    limit: int,
    cursor: str | None,
) -> tuple[list[R], str | None]:
    """A page of what `query` selects by ascending `key`, after the one `cursor` ended, and
    the cursor for the page after it (None on the last page)."""
    query = query.order_by(key)
    if cursor:
        (after,) = decode_cursor(cursor, 1)
        query = query.where(key > cursor_int(after))
    rows = list(session.scalars(query.limit(limit + 1)))
    next_cursor = encode_cursor(getattr(rows[limit - 1], key.key)) if len(rows) > limit else None
    return rows[:limit], next_cursor
