"""email in and out

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-01

Email threading headers for mail in and out, mail that could not be parsed (kept raw for
an admin), and edited email templates.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caredesk.adapters.db.types

revision: str = "0009"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mail_messages",
        sa.Column("id", BigId, nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("case_id", BigId, nullable=True),
        sa.Column("case_message_id", BigId, nullable=True),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("from_address", sa.String(length=320), nullable=True),
        sa.Column("to_addresses", sa.JSON(), nullable=False),
        sa.Column("cc_addresses", sa.JSON(), nullable=False),
        sa.Column("in_reply_to", sa.JSON(), nullable=False),
        sa.Column("reference_ids", sa.JSON(), nullable=False),
        sa.Column("auto_kind", sa.String(length=20), nullable=True),
        sa.Column("raw_sha256", sa.String(length=64), nullable=True),
        sa.Column("body_text", sa.Text(), nullable=True),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("template", sa.String(length=100), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("sent_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_mail_messages_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_message_id"],
            ["messages.id"],
            name=op.f("fk_mail_messages_case_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_messages")),
        sa.UniqueConstraint("message_id", name=op.f("uq_mail_messages_message_id")),
    )
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.create_index("ix_mail_messages_case", ["case_id", "id"], unique=False)
        batch_op.create_index(
            "ix_mail_messages_sender", ["from_address", "created_at"], unique=False
        )
        batch_op.create_index("ix_mail_messages_status", ["status", "id"], unique=False)

    op.create_table(
        "mail_failures",
        sa.Column("id", BigId, nullable=False),
        sa.Column(
            "received_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("raw_sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("envelope_from", sa.String(length=320), nullable=True),
        sa.Column("envelope_to", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_failures")),
    )
    with op.batch_alter_table("mail_failures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mail_failures_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "mail_templates",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column(
            "updated_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_mail_templates")),
    )


def downgrade() -> None:
    op.drop_table("mail_templates")
    with op.batch_alter_table("mail_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_failures_received_at"))
    op.drop_table("mail_failures")
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_mail_messages_status")
        batch_op.drop_index("ix_mail_messages_sender")
        batch_op.drop_index("ix_mail_messages_case")
    op.drop_table("mail_messages")
