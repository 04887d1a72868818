"""case lifecycle

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-01

Escalation handoffs, repeat asks, commitments, links between cases (merge, split,
follow-up) and the proactive scan's findings.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caredesk.adapters.db.types

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = caredesk.adapters.db.types.UTCDateTime
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "case_handoffs",
        sa.Column("id", _ID, nullable=False),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("from_agent_id", sa.Integer(), nullable=True),
        sa.Column("to_team_id", sa.Integer(), nullable=True),
        sa.Column("to_agent_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("drafted", sa.Boolean(), nullable=False),
        sa.Column("open_question", sa.Text(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_handoffs_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_agent_id"], ["agents.id"], name=op.f("fk_case_handoffs_to_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["to_team_id"], ["teams.id"], name=op.f("fk_case_handoffs_to_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_handoffs")),
    )  # fmt: skip
    with op.batch_alter_table("case_handoffs", schema=None) as batch_op:
        batch_op.create_index("ix_case_handoffs_case", ["case_id", "id"], unique=False)

    op.create_table(
        "repeat_asks",
        sa.Column("id", _ID, nullable=False),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_repeat_asks_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repeat_asks")),
    )  # fmt: skip
    with op.batch_alter_table("repeat_asks", schema=None) as batch_op:
        batch_op.create_index("ix_repeat_asks_case", ["case_id", "id"], unique=False)
        batch_op.create_index("ix_repeat_asks_agent", ["agent_id", "created_at"], unique=False)

    op.create_table(
        "commitments",
        sa.Column("id", _ID, nullable=False),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("due_at", _UTC(timezone=True), nullable=False),
        sa.Column("owner_agent_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("alerted_at", _UTC(timezone=True), nullable=True),
        sa.Column("resolved_at", _UTC(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_commitments_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_agent_id"], ["agents.id"],
            name=op.f("fk_commitments_owner_agent_id_agents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitments")),
    )  # fmt: skip
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.create_index("ix_commitments_status_due", ["status", "due_at"], unique=False)
        batch_op.create_index("ix_commitments_case", ["case_id", "id"], unique=False)
        batch_op.create_index("ix_commitments_owner", ["owner_agent_id", "status"], unique=False)

    op.create_table(
        "case_links",
        sa.Column("id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("other_case_id", _ID, nullable=False),
        sa.Column("message_ids", sa.JSON(), nullable=False),
        sa.Column("grant_ids", sa.JSON(), nullable=False),
        sa.Column("prior", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.Column("undone_by", sa.String(length=80), nullable=True),
        sa.Column("undone_at", _UTC(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_links_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["other_case_id"], ["cases.id"], name=op.f("fk_case_links_other_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_links")),
    )  # fmt: skip
    with op.batch_alter_table("case_links", schema=None) as batch_op:
        batch_op.create_index("ix_case_links_case", ["case_id", "id"], unique=False)
        batch_op.create_index("ix_case_links_other", ["other_case_id", "id"], unique=False)

    op.create_table(
        "proactive_findings",
        sa.Column("id", _ID, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("case_id", _ID, nullable=True),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("recommendation", sa.JSON(), nullable=True),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_proactive_findings_case_id_cases"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proactive_findings")),
        sa.UniqueConstraint("key", name=op.f("uq_proactive_findings_key")),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("proactive_findings")
    with op.batch_alter_table("case_links", schema=None) as batch_op:
        batch_op.drop_index("ix_case_links_other")
        batch_op.drop_index("ix_case_links_case")
    op.drop_table("case_links")
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.drop_index("ix_commitments_owner")
        batch_op.drop_index("ix_commitments_case")
        batch_op.drop_index("ix_commitments_status_due")
    op.drop_table("commitments")
    with op.batch_alter_table("repeat_asks", schema=None) as batch_op:
        batch_op.drop_index("ix_repeat_asks_agent")
        batch_op.drop_index("ix_repeat_asks_case")
    op.drop_table("repeat_asks")
    with op.batch_alter_table("case_handoffs", schema=None) as batch_op:
        batch_op.drop_index("ix_case_handoffs_case")
    op.drop_table("case_handoffs")
