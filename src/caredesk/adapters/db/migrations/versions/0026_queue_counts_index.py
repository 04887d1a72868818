"""cases: a covering index for the queues' counts

Revision ID: 0026_queue_counts_index
Revises: 0025_search_lexemes
Create Date: 2026-12-21

The queues count every open case once per page and per live update, each count a FILTER on
the assignee or the team. With only (status, updated_at, id) to go by, SQLite found the open
cases in that index and then read each one's row for its assignee and team: at 100,000 open
cases, 100,000 row lookups a count. (status, assignee_id, team_id) holds all the statement
reads, so SQLite walks the index alone and PostgreSQL can answer with an index-only scan.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026_queue_counts_index"
down_revision: str | Sequence[str] | None = "0025_search_lexemes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_cases_queue_counts", "cases", ["status", "assignee_id", "team_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_cases_queue_counts", table_name="cases")
