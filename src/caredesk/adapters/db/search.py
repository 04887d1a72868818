"""Full-text search on cases: SQLite FTS5 tables, PostgreSQL stored tsvector columns.

Both are maintained by the database itself (triggers on SQLite, generated columns on
PostgreSQL, see the migrations), so no code path can forget to index a message.
"""

from __future__ import annotations

import re

from sqlalchemy import (
    ColumnElement,
    Integer,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
    union,
)
from sqlalchemy.dialects.postgresql import TSVECTOR

from caredesk.adapters.db import models as m

_WORD = re.compile(r"\w+", re.UNICODE)
TS_CONFIG = "english"
# The stored tsvector columns are PostgreSQL's alone, so the shared models leave them out.
_SUBJECTS = table("cases", column("id", Integer), column("lexemes", TSVECTOR))
_MESSAGES = table("messages", column("case_id", Integer), column("lexemes", TSVECTOR))
_MESSAGE_FTS = table("message_fts", column("rowid", Integer))


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
    # One set of case ids from both GIN indexes: an OR of the subject and the messages made
    # the planner walk every case by its update time when a word was rare.
    tsquery = func.plainto_tsquery(TS_CONFIG, raw)
    by_subject = _SUBJECTS.alias("by_subject")
    by_message = _MESSAGES.alias("by_message")
    return m.CaseRow.id.in_(
        union(
            select(by_subject.c.id).where(by_subject.c.lexemes.op("@@")(tsquery)),
            select(by_message.c.case_id).where(by_message.c.lexemes.op("@@")(tsquery)),
        )
    )


def case_text_on_row(dialect: str, raw: str) -> ColumnElement[bool]:
    """The case row at hand has the words in its subject or in one of its messages, checked
    case by case: on SQLite by looking each of its texts up in the FTS5 tables by rowid, on
    PostgreSQL by reading its stored tsvectors through the messages' case index. Cheap over
    the few cases of a walk in list order, where a common word soon fills a page; over
    every case, `case_text_condition` is the one that reads the full-text indexes."""
    if dialect == "sqlite":
        query = fts5_query(raw)
        if query is None:
            return literal_column("1") == literal_column("0")
        subject = text(
            "EXISTS (SELECT 1 FROM case_subject_fts WHERE case_subject_fts MATCH :q "
            "AND case_subject_fts.rowid = cases.id)"
        ).bindparams(q=query)
        message = text(
            "EXISTS (SELECT 1 FROM messages AS message "
            "JOIN message_fts ON message_fts.rowid = message.id "
            "WHERE message.case_id = cases.id AND message_fts MATCH :q)"
        ).bindparams(q=query)
        return or_(subject, message)
    tsquery = func.plainto_tsquery(TS_CONFIG, raw)
    own_subject = literal_column(f"{m.CaseRow.__tablename__}.lexemes", TSVECTOR)
    message_row = _MESSAGES.alias("message")
    in_a_message = (
        select(literal_column("1"))
        .where(message_row.c.case_id == m.CaseRow.id, message_row.c.lexemes.op("@@")(tsquery))
        .exists()
    )
    return or_(own_subject.op("@@")(tsquery), in_a_message)


# SQLite: of the newest messages, how many (LATELY) and what share of them must hold the
# words before the case list checks the newest cases one by one for them.
LATELY, OFTEN_LATELY = 100, 25


def case_text_common_lately(raw: str) -> ColumnElement[bool]:
    """SQLite: the words are in a quarter or more of the newest messages, a sign that the
    newest cases hold them often enough to fill a page. FTS5 reads only those messages; a
    check of each case costs it a cursor per text, too dear to spend on a rare word."""
    query = fts5_query(raw)
    if query is None:
        return literal_column("1") == literal_column("0")
    newest = select(func.max(m.MessageRow.id)).scalar_subquery() - LATELY
    lately = (
        select(func.count())
        .select_from(_MESSAGE_FTS)
        .where(literal_column("message_fts").op("MATCH")(query), _MESSAGE_FTS.c.rowid > newest)
        .scalar_subquery()
    )
    return lately >= OFTEN_LATELY
