"""import zendesk: the checkpoints and id mapping of `caredesk import zendesk`, ticket fields

Revision ID: 0029_import_zendesk
Revises: 0028_people_customers_updated
Create Date: 2026-12-23

An import from a Zendesk account stores each object in its own transaction with the row
saying what it became (`zendesk_import_ids`), and, per kind of object, how far the stream was
read (`zendesk_import_checkpoints`): a run stopped anywhere starts again where it was, and a
run over the same account stores nothing twice. Ticket fields keep the definitions of the
custom fields that cases name by number.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caredesk.adapters.db.types

revision: str = "0029_import_zendesk"
down_revision: str | Sequence[str] | None = "0028_people_customers_updated"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = caredesk.adapters.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "zendesk_import_checkpoints",
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("cursor", sa.String(length=1000), nullable=False),
        sa.Column("updated_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("source", "kind", name=op.f("pk_zendesk_import_checkpoints")),
    )
    op.create_table(
        "zendesk_import_ids",
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("local_id", sa.String(length=64), nullable=False),
        sa.Column("source_updated_at", Time, nullable=True),
        sa.PrimaryKeyConstraint("source", "kind", "source_id", name=op.f("pk_zendesk_import_ids")),
    )
    op.create_table(
        "ticket_fields",
        sa.Column("id", BigId, autoincrement=False, nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_fields")),
    )


def downgrade() -> None:
    op.drop_table("ticket_fields")
    op.drop_table("zendesk_import_ids")
    op.drop_table("zendesk_import_checkpoints")
