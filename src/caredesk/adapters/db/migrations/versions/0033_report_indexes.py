"""reports: the indexes that keep every report to the period's cases

Revision ID: 0033_report_indexes
Revises: 0032_weekly_summary
Create Date: 2026-12-07

Each report's per-case facts read a case's replies (the first, their count, and whether the
customer wrote after the first): on (case_id, kind, created_at) the database answers them
from the index alone. The retention report selects the cases solved in its period, and each
customer's orders before the case and after it: on cases (solved_at) and orders
(customer_id, placed_at) it reads those, not every case and every order
(docs/benchmarks.md, *Reports*).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0033_report_indexes"
down_revision: str | Sequence[str] | None = "0032_weekly_summary"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_messages_case_kind_created", "messages", ["case_id", "kind", "created_at"])
    op.create_index("ix_cases_solved", "cases", ["solved_at", "id"])
    op.create_index("ix_orders_customer_placed", "orders", ["customer_id", "placed_at"])


def downgrade() -> None:
    op.drop_index("ix_orders_customer_placed", table_name="orders")
    op.drop_index("ix_cases_solved", table_name="cases")
    op.drop_index("ix_messages_case_kind_created", table_name="messages")
