"""reports: each case's facts, kept current by the unit of work that changes it

Revision ID: 0034_case_facts
Revises: 0033_report_indexes
Create Date: 2026-12-07

The reports read each case's first reply, reply count, whether its customer wrote again,
whether it was reopened, and its working hours to first reply and to resolution in its SLA
calendar, beside the case's own columns they select, group and filter by (copied, so that a
report reads this one narrow table). Worked out at read time they cost a million cases'
messages, trails and clocks, and the business hours a count per case in Python
(docs/benchmarks.md, *Reports*). This table keeps them, one row a case
(adapters/db/case_facts.py). The rows of a desk's existing cases are filled after the
migration by `caredesk migrate` (adapters/db/migrate.py), since working hours are counted by
the desk's calendar code, not in SQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caredesk.adapters.db.types

revision: str = "0034_case_facts"
down_revision: str | Sequence[str] | None = "0033_report_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = caredesk.adapters.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "case_facts",
        sa.Column("case_id", BigId, nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("solved_at", Time, nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("service_level", sa.Integer(), nullable=True),
        sa.Column("first_reply_at", Time, nullable=True),
        sa.Column("agent_replies", sa.Integer(), nullable=False),
        sa.Column("wrote_again", sa.Boolean(), nullable=False),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=True),
        sa.Column("first_reply_business_seconds", sa.Float(), nullable=True),
        sa.Column("resolution_business_seconds", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_facts_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_facts")),
    )
    op.create_index("ix_case_facts_created", "case_facts", ["created_at", "case_id"])


def downgrade() -> None:
    op.drop_index("ix_case_facts_created", table_name="case_facts")
    op.drop_table("case_facts")
