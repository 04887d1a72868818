"""zendesk uploads: files sent to /api/v2/uploads.json ahead of the comment that takes them

Revision ID: 0030_write_uploads
Revises: 0029_import_zendesk
Create Date: 2026-12-23

Zendesk's clients upload a file first and name its token in a later comment. The file goes
to `blobs` as every message's file does; this row keeps its name, type and size, who sent it,
until when its token may be used, and when it was.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caredesk.adapters.db.types

revision: str = "0030_write_uploads"
down_revision: str | Sequence[str] | None = "0029_import_zendesk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    moment = caredesk.adapters.db.types.UTCDateTime(timezone=True)
    op.create_table(
        "zendesk_uploads",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=80), nullable=False),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("expires_at", moment, nullable=False),
        sa.Column("used_at", moment, nullable=True),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_zendesk_uploads")),
    )
    op.create_index(
        op.f("ix_zendesk_uploads_expires_at"), "zendesk_uploads", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_zendesk_uploads_expires_at"), table_name="zendesk_uploads")
    op.drop_table("zendesk_uploads")
