"""grants ledger approvals policies

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

The empowerment engine's records: policy versions, grants, approvals, ledger entries.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caredesk.adapters.db.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "loaded_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("loaded_by", sa.String(length=80), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_versions")),
        sa.UniqueConstraint("version", name=op.f("uq_policy_versions_version")),
    )
    with op.batch_alter_table("policy_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_versions_active"), ["active"], unique=False)

    op.create_table(
        "grants",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column(
            "remedy_ids",
            sa.JSON(),
            nullable=False,
        ),
        sa.Column(
            "params",
            sa.JSON(),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("cost", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("refunded", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("service_level", sa.Integer(), nullable=False),
        sa.Column(
            "rules",
            sa.JSON(),
            nullable=False,
        ),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column(
            "reverses_grant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "created_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "executed_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_grants_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_grants_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_grants_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_grant_id"], ["grants.id"], name=op.f("fk_grants_reverses_grant_id_grants")
        ),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_grants_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
        sa.UniqueConstraint("actor", "idempotency_key", name="uq_grants_actor_idempotency_key"),
    )
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.create_index("ix_grants_agent_executed", ["agent_id", "executed_at"], unique=False)
        batch_op.create_index("ix_grants_case", ["case_id", "id"], unique=False)
        batch_op.create_index(
            "ix_grants_customer_executed", ["customer_id", "executed_at"], unique=False
        )
        batch_op.create_index("ix_grants_team_executed", ["team_id", "executed_at"], unique=False)

    op.create_table(
        "approvals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("grant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("requested_by", sa.String(length=80), nullable=False),
        sa.Column("requester_role", sa.String(length=20), nullable=False),
        sa.Column("approver_role", sa.String(length=20), nullable=False),
        sa.Column(
            "reasons",
            sa.JSON(),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column(
            "decided_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column(
            "created_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["grants.id"], name=op.f("fk_approvals_grant_id_grants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
        sa.UniqueConstraint("grant_id", name=op.f("uq_approvals_grant_id")),
    )
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approvals_status"), ["status"], unique=False)

    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("grant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account", sa.String(length=120), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("memo", sa.String(length=300), nullable=False),
        sa.Column(
            "created_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["grants.id"], name=op.f("fk_ledger_entries_grant_id_grants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_entries_account"), ["account"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_entries_grant_id"), ["grant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entries_grant_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_account"))

    op.drop_table("ledger_entries")
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approvals_status"))

    op.drop_table("approvals")
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_index("ix_grants_team_executed")
        batch_op.drop_index("ix_grants_customer_executed")
        batch_op.drop_index("ix_grants_case")
        batch_op.drop_index("ix_grants_agent_executed")

    op.drop_table("grants")
    with op.batch_alter_table("policy_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_versions_active"))

    op.drop_table("policy_versions")
