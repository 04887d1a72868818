"""search entries keep their words as a stored tsvector on PostgreSQL, with its GIN index

Revision ID: 0024_search_lexemes
Revises: 0023_satisfaction_surveys
Create Date: 2026-12-20

PostgreSQL only; SQLite keeps its FTS5 table. The expression index on
to_tsvector(title || ' ' || body) found the matching texts, but ranking them recomputed
each text's tsvector from its words, for every match of a query. The generated column
`lexemes` holds it once, the title weighted A and the body B, so that ranking reads it and
titles can weigh more. Adding the column computes it for every row, under a lock on the
table: about a minute per 100,000 texts.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024_search_lexemes"
down_revision: str | Sequence[str] | None = "0023_satisfaction_surveys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE search_entries ADD COLUMN lexemes tsvector GENERATED ALWAYS AS "
        "(setweight(to_tsvector('english', title), 'A') || "
        "setweight(to_tsvector('english', body), 'B')) STORED"
    )
    op.execute("CREATE INDEX ix_search_entries_lexemes ON search_entries USING gin (lexemes)")
    op.execute("DROP INDEX ix_search_entries_tsv")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX ix_search_entries_tsv ON search_entries "
        "USING gin (to_tsvector('english', title || ' ' || body))"
    )
    op.execute("DROP INDEX ix_search_entries_lexemes")
    op.execute("ALTER TABLE search_entries DROP COLUMN lexemes")
