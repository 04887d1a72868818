"""an approval's requested_by_role: the role of whoever it was requested_by

Revision ID: 0022_approval_requested_by_role
Revises: 0021_shipments
Create Date: 2026-12-14

The column is renamed in place (ALTER TABLE … RENAME COLUMN on both backends); its values
stay as they are.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022_approval_requested_by_role"
down_revision: str | Sequence[str] | None = "0021_shipments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("approvals", "requester_role", new_column_name="requested_by_role")


def downgrade() -> None:
    op.alter_column("approvals", "requested_by_role", new_column_name="requester_role")
