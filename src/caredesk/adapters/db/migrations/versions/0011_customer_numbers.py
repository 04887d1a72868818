"""customer numbers from a sequence on PostgreSQL

Revision ID: 0011_customer_numbers
Revises: 0010
Create Date: 2026-12-06

Customers created at once took the same "highest + 1" number and all but one failed.
PostgreSQL now draws each number from a sequence owned by customers.seq (so it is dropped
and restarted with the column's table); SQLite, with one writer at a time, keeps "highest
+ 1".
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_customer_numbers"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    if not _postgresql():
        return
    op.execute("CREATE SEQUENCE customer_numbers AS BIGINT OWNED BY customers.seq")
    op.execute(
        "SELECT setval('customer_numbers', COALESCE((SELECT MAX(seq) FROM customers), 0) + 1, "
        "false)"
    )


def downgrade() -> None:
    if _postgresql():
        op.execute("DROP SEQUENCE customer_numbers")
