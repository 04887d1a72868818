"""cases: an index on the moment a case was opened, for the reports' periods

Revision ID: 0031_measures_cases_created
Revises: 0030_write_uploads
Create Date: 2026-12-07

Every report selects the cases opened in its period (docs/reporting.md): without an index on
created_at, each report read every case of the desk to find a month of them.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0031_measures_cases_created"
down_revision: str | Sequence[str] | None = "0030_write_uploads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_cases_created", "cases", ["created_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_cases_created", table_name="cases")
