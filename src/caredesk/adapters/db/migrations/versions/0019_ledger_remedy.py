"""ledger entries name the remedy that posted them

Revision ID: 0019_ledger_remedy
Revises: 0018_article_internal
Create Date: 2026-12-12

The dashboard's cost by remedy was the bundle's cost split evenly over its remedies, so a
keep-the-item worth nothing showed half a refund. Each ledger entry now records its remedy
and the cost of a remedy is what it posted. Entries of grants with one remedy are filled in
here; those of older bundles of several remedies cannot be told apart and stay empty (the
dashboard shows them as not recorded by remedy).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_ledger_remedy"
down_revision: str | Sequence[str] | None = "0018_article_internal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHUNK = 500


def upgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remedy_id", sa.String(length=64), nullable=True))
    grants = sa.table(
        "grants", sa.column("id", sa.BigInteger()), sa.column("remedy_ids", sa.JSON())
    )
    ledger = sa.table(
        "ledger_entries",
        sa.column("grant_id", sa.BigInteger()),
        sa.column("remedy_id", sa.String(length=64)),
    )
    bind = op.get_bind()
    by_remedy: dict[str, list[int]] = {}
    for grant_id, remedy_ids in bind.execute(sa.select(grants.c.id, grants.c.remedy_ids)):
        if isinstance(remedy_ids, list) and len(remedy_ids) == 1:
            by_remedy.setdefault(str(remedy_ids[0]), []).append(grant_id)
    for remedy_id, grant_ids in by_remedy.items():
        for start in range(0, len(grant_ids), _CHUNK):
            bind.execute(
                sa.update(ledger)
                .where(ledger.c.grant_id.in_(grant_ids[start : start + _CHUNK]))
                .values(remedy_id=remedy_id)
            )


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_column("remedy_id")
