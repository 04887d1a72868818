"""an order's parcels are shipments: the table takes the glossary's name

Revision ID: 0021_shipments
Revises: 0020_outbox
Create Date: 2026-12-14

The rows stay as they are. PostgreSQL renames the table, its constraints, index and id
sequence in place; SQLite cannot rename a constraint, so it copies the rows into a table
created with the new names and drops the old one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caredesk.adapters.db.types

revision: str = "0021_shipments"
down_revision: str | Sequence[str] | None = "0020_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
COLUMNS = (
    "id",
    "order_id",
    "position",
    "tracking_ids",
    "variant_ids",
    "carrier",
    "shipped_at",
    "promised_date",
    "delivered_at",
)


def _rename_in_place(old: str, new: str) -> None:
    """PostgreSQL: the table, its primary and foreign key, its index and its id sequence."""
    bind = op.get_bind()
    op.rename_table(old, new)
    op.execute(f"ALTER TABLE {new} RENAME CONSTRAINT pk_{old} TO pk_{new}")
    op.execute(
        f"ALTER TABLE {new} RENAME CONSTRAINT fk_{old}_order_id_orders TO fk_{new}_order_id_orders"
    )
    op.execute(f"ALTER INDEX ix_{old}_order_id RENAME TO ix_{new}_order_id")
    sequence = bind.execute(
        sa.text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": new}
    ).scalar()
    if sequence is not None:
        op.execute(f"ALTER SEQUENCE {sequence} RENAME TO {new}_id_seq")


def _copy(old: str, new: str) -> None:
    """SQLite: a table made with the new names, the rows copied, the old table dropped."""
    op.create_table(
        new,
        sa.Column("id", BigId, nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("tracking_ids", sa.JSON(), nullable=False),
        sa.Column("variant_ids", sa.JSON(), nullable=False),
        sa.Column("carrier", sa.String(length=60), nullable=True),
        sa.Column(
            "shipped_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("promised_date", sa.Date(), nullable=True),
        sa.Column(
            "delivered_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f(f"fk_{new}_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{new}")),
    )
    source = sa.table(old, *(sa.column(c) for c in COLUMNS))
    target = sa.table(new, *(sa.column(c) for c in COLUMNS))
    op.execute(sa.insert(target).from_select(list(COLUMNS), sa.select(*source.c)))
    with op.batch_alter_table(old, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f(f"ix_{old}_order_id"))
    op.drop_table(old)
    with op.batch_alter_table(new, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{new}_order_id"), ["order_id"], unique=False)


def _rename(old: str, new: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        _rename_in_place(old, new)
    else:
        _copy(old, new)


def upgrade() -> None:
    _rename("fulfilments", "shipments")


def downgrade() -> None:
    _rename("shipments", "fulfilments")
