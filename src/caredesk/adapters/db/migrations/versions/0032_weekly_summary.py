"""agents: the weekly summary by mail, asked for by each lead

Revision ID: 0032_weekly_summary
Revises: 0031_measures_cases_created
Create Date: 2026-12-07

A lead (or an admin) may ask for the weekly summary of the reports by mail; nobody has asked
when this revision runs, so every agent starts without it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032_weekly_summary"
down_revision: str | Sequence[str] | None = "0031_measures_cases_created"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(
            sa.Column("weekly_summary", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("weekly_summary")
