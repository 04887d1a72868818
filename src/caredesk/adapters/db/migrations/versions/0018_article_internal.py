"""articles keep their internal notes apart from the public body

Revision ID: 0018_article_internal
Revises: 0017_agent_time_zone
Create Date: 2026-12-12

An article's body is shown to customers and inserted into replies; what the desk does about
it now lives in `internal_notes`, which only agents read. Articles and versions written
before have no internal notes: their bodies stay as they were, and an editor moves any
internal text over.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_article_internal"
down_revision: str | Sequence[str] | None = "0017_agent_time_zone"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("kb_articles", "kb_article_versions")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("internal_notes", sa.Text(), nullable=False, server_default="")
            )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("internal_notes", server_default=None)


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("internal_notes")
