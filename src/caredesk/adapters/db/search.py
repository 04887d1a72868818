"""Full-text search on cases: SQLite FTS5 tables, PostgreSQL tsvector expressions.

Both are maintained by the database itself (triggers on SQLite, expression indexes on
PostgreSQL, see the migrations), so no code path can forget to index a message.
"""

from __future__ import annotations

import re

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    column,
    func,
    literal_column,
    or_,
    select,
    text,
)

from caredesk.adapters.db import models as m

_WORD = re.compile(r"\w+", re.UNICODE)
TS_CONFIG = "english"


def escape_like(value: str) -> str:
    """`value` matched literally by LIKE … ESCAPE '\\': its wildcards are not the caller's."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def fts5_query(raw: str) -> str | None:
    """Quote each word so a search can never be read as FTS5 syntax; words are ANDed."""
    words = _WORD.findall(raw)
    if not words:
        return None
    return " ".join(f'"{w}"' for w in words[:32])


def case_text_condition(dialect: str, raw: str) -> ColumnElement[bool]:
    if dialect == "sqlite":
        query = fts5_query(raw)
        if query is None:
            return literal_column("1") == literal_column("0")
        subject_hits = (
            text("SELECT rowid AS case_id FROM case_subject_fts WHERE case_subject_fts MATCH :q")
            .bindparams(q=query)
            .columns(column("case_id", Integer))
        )
        message_hits = (
            text("SELECT case_id FROM message_fts WHERE message_fts MATCH :q")
            .bindparams(q=query)
            .columns(column("case_id", Integer))
        )
        return or_(m.CaseRow.id.in_(subject_hits), m.CaseRow.id.in_(message_hits))
    tsquery = func.plainto_tsquery(TS_CONFIG, raw)
    subject_match = func.to_tsvector(TS_CONFIG, m.CaseRow.subject).op("@@")(tsquery)
    message_cases = select(m.MessageRow.case_id).where(
        and_(func.to_tsvector(TS_CONFIG, m.MessageRow.body).op("@@")(tsquery))
    )
    return or_(subject_match, m.CaseRow.id.in_(message_cases))
