"""agents have their own time zone

Revision ID: 0017_agent_time_zone
Revises: 0016_one_history
Create Date: 2026-12-14

The console shows times in the agent's time zone. An agent without one (every agent when
this revision runs) reads times in the desk's time zone (`CAREDESK_DESK_TIMEZONE`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_agent_time_zone"
down_revision: str | None = "0016_one_history"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("time_zone", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("time_zone")
