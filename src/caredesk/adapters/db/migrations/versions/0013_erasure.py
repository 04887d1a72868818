"""erasure and retention

Revision ID: 0013_erasure
Revises: 0012_sign_in_throttles
Create Date: 2026-12-16

When a customer was erased, and when a case was anonymised (by that erasure or by the
retention of closed cases): a second erasure is then a no-op, and retention counts each
case once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caredesk.adapters.db.types

revision: str = "0013_erasure"
down_revision: str | None = "0012_sign_in_throttles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = caredesk.adapters.db.types.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", _UTC(timezone=True), nullable=True))
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", _UTC(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
