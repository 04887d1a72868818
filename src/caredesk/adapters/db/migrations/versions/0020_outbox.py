"""outbox: outbound mail kept instead of sent

Revision ID: 0020_outbox
Revises: 0019_ledger_remedy
Create Date: 2026-12-08

A desk with CAREDESK_MAIL_TRANSPORT=outbox (the default in development without an SMTP
server) keeps each outbound message here, its bytes in blobs, for /admin/outbox.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caredesk.adapters.db.types

revision: str = "0020_outbox"
down_revision: str | Sequence[str] | None = "0019_ledger_remedy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "outbox_mail",
        sa.Column("id", BigId, nullable=False),
        sa.Column("mail_id", BigId, nullable=True),
        sa.Column("envelope_from", sa.String(length=320), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("raw_sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "caught_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["mail_id"],
            ["mail_messages.id"],
            name=op.f("fk_outbox_mail_mail_id_mail_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_mail")),
    )
    with op.batch_alter_table("outbox_mail", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_mail_mail_id"), ["mail_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox_mail", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_mail_mail_id"))
    op.drop_table("outbox_mail")
