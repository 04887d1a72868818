"""Which database objects autogenerate compares: dialect-only search objects are hand-managed."""

from __future__ import annotations

from typing import Any

# Created by hand-written migration code on one dialect only (see 0001_foundation and
# 0025_search_lexemes).
DIALECT_ONLY_TABLES = ("case_subject_fts", "message_fts", "search_fts")
DIALECT_ONLY_INDEXES = frozenset(
    {"ix_cases_lexemes", "ix_messages_lexemes", "ix_search_entries_lexemes"}
)
DIALECT_ONLY_COLUMNS = frozenset(
    {("cases", "lexemes"), ("messages", "lexemes"), ("search_entries", "lexemes")}
)


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    if type_ == "table" and name is not None and name.startswith(DIALECT_ONLY_TABLES):
        return False
    if type_ == "column" and (obj.table.name, name) in DIALECT_ONLY_COLUMNS:
        return False
    return not (type_ == "index" and name in DIALECT_ONLY_INDEXES)
