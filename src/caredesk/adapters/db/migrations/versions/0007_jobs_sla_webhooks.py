"""durable jobs and timers

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

The job queue (an outbox the workers claim with SKIP LOCKED) and the periodic timers.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caredesk.adapters.db.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = caredesk.adapters.db.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_at", _UTC(timezone=True), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("locked_by", sa.String(length=200), nullable=True),
        sa.Column("locked_until", _UTC(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.Column("updated_at", _UTC(timezone=True), nullable=False),
        sa.Column("finished_at", _UTC(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("key", name=op.f("uq_jobs_key")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_due", ["state", "run_at"], unique=False)

    op.create_table(
        "job_timers",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("next_run_at", _UTC(timezone=True), nullable=False),
        sa.Column("last_run_at", _UTC(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_timers")),
    )


def downgrade() -> None:
    op.drop_table("job_timers")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_due")
    op.drop_table("jobs")
