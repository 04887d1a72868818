"""config stamps: one change stamp per kind of configuration the processes keep in memory

Revision ID: 0024_config_stamps
Revises: 0023_satisfaction_surveys
Create Date: 2026-12-15

Each serving process keeps SLA policies and calendars, routing rules, known issues, webhook
subscriptions and teams in memory, and reads these stamps to know whether its copy is still
the database's (docs/scaling.md). The table starts empty: a kind with no row has not changed
since, and its first change writes the row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_config_stamps"
down_revision: str | Sequence[str] | None = "0023_satisfaction_surveys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "config_stamps",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("stamp", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_config_stamps")),
    )


def downgrade() -> None:
    op.drop_table("config_stamps")
