"""search entries, case subjects and messages keep their words as a stored tsvector on
PostgreSQL, each with its GIN index

Revision ID: 0025_search_lexemes
Revises: 0024_config_stamps
Create Date: 2026-12-20

PostgreSQL only; SQLite keeps its FTS5 tables. The expression indexes on to_tsvector(...)
found the matching rows, but whatever read a row's words again recomputed its tsvector
from the text: ranking the search index's matches, and the planner's choice for a common
word in the case list, a sequential scan that parsed every message (seconds at 100,000
cases). A generated column `lexemes` holds the tsvector once per row: for a search entry
its title weighted A and body B, so titles can weigh more; for a case its subject; for a
message its body. Adding the columns computes them for every row, with the tables locked:
about a minute per 100,000 cases or texts.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025_search_lexemes"
down_revision: str | Sequence[str] | None = "0024_config_stamps"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# (table, the tsvector it stores, the expression index it replaces and that index's expression)
STORED = [
    (
        "search_entries",
        "setweight(to_tsvector('english', title), 'A') || "
        "setweight(to_tsvector('english', body), 'B')",
        "ix_search_entries_tsv",
        "to_tsvector('english', title || ' ' || body)",
    ),
    (
        "cases",
        "to_tsvector('english', subject)",
        "ix_cases_subject_tsv",
        "to_tsvector('english', subject)",
    ),
    (
        "messages",
        "to_tsvector('english', body)",
        "ix_messages_body_tsv",
        "to_tsvector('english', body)",
    ),
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, lexemes, old_index, _ in STORED:
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN lexemes tsvector "
            f"GENERATED ALWAYS AS ({lexemes}) STORED"
        )
        op.execute(f"CREATE INDEX ix_{table}_lexemes ON {table} USING gin (lexemes)")
        op.execute(f"DROP INDEX {old_index}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, _, old_index, expression in STORED:
        op.execute(f"CREATE INDEX {old_index} ON {table} USING gin ({expression})")
        op.execute(f"DROP INDEX ix_{table}_lexemes")
        op.execute(f"ALTER TABLE {table} DROP COLUMN lexemes")
