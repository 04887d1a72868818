"""token scope

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

Tokens limited to one verified customer and to a list of tools.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("tools", sa.JSON(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_api_tokens_customer_id_customers"), "customers", ["customer_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_api_tokens_customer_id_customers"), type_="foreignkey"
        )
        batch_op.drop_column("tools")
        batch_op.drop_column("customer_id")
