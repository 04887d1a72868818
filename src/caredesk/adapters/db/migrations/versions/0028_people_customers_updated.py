"""customers: an index on the time each changed, for the users' incremental export

Revision ID: 0028_people_customers_updated
Revises: 0027_zendesk_ids
Create Date: 2026-12-07

/api/v2/incremental/users/cursor.json reads the customers changed after a cursor's time, in
the order they changed, a page at a time. Without an index on updated_at every page sorted
the whole customers table; with it, a page reads only the rows it shows.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0028_people_customers_updated"
down_revision: str | Sequence[str] | None = "0027_zendesk_ids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_customers_updated", "customers", ["updated_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_customers_updated", table_name="customers")
