"""sign-in throttles and token rate limits

Revision ID: 0012_sign_in_throttles
Revises: 0011
Create Date: 2026-12-09

Failed credentials counted per account and per client address (delays, locks), kept in the
database so that every process sees them; and a token's own request rate, when it has one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caredesk.adapters.db.types

revision: str = "0012_sign_in_throttles"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = caredesk.adapters.db.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "auth_throttles",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", _UTC(timezone=True), nullable=True),
        sa.Column("next_attempt_at", _UTC(timezone=True), nullable=True),
        sa.Column("locked_until", _UTC(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_auth_throttles")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rate_limit", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("rate_limit")
    op.drop_table("auth_throttles")
