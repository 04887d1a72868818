"""zendesk ids: the integer user ids of the Zendesk-compatible API, and a case's external id

Revision ID: 0027_zendesk_ids
Revises: 0026_queue_counts_index
Create Date: 2026-12-22

/api/v2 speaks Zendesk's shapes, where customers and agents share one space of integer user
ids. Each person gets a row the first time the API shows them, and keeps its id. A case
keeps the id another system knows it by (Zendesk's `external_id`), and is found by it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caredesk.adapters.db.types

revision: str = "0027_zendesk_ids"
down_revision: str | Sequence[str] | None = "0026_queue_counts_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "zendesk_users",
        sa.Column("id", BigId, nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.CheckConstraint(
            "(customer_id IS NULL) <> (agent_id IS NULL)",
            name=op.f("ck_zendesk_users_one_person"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_zendesk_users_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_zendesk_users_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zendesk_users")),
        sa.UniqueConstraint("agent_id", name=op.f("uq_zendesk_users_agent_id")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_zendesk_users_customer_id")),
    )
    # Plain ALTER TABLE on both databases: a batch copy of `cases` on SQLite would drop the
    # table its search triggers and every case-owned table point at.
    op.add_column("cases", sa.Column("external_id", sa.String(length=255), nullable=True))
    op.create_index(op.f("ix_cases_external_id"), "cases", ["external_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_cases_external_id"), table_name="cases")
    op.drop_column("cases", "external_id")
    op.drop_table("zendesk_users")
