"""grant issue and bases

Revision ID: 0011
Revises: 0002
Create Date: 2026-12-08

Each grant records the case's issue when it was made and the facts (record versions) it was
decided on and left behind, so the same bundle asked twice is answered with the first grant
and compensation is counted per case and issue.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issue_type", sa.String(length=60), nullable=True))
        # Grants made before have no recorded basis: nothing asked later repeats them.
        batch_op.add_column(
            sa.Column("bases", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.alter_column("bases", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_column("bases")
        batch_op.drop_column("issue_type")
