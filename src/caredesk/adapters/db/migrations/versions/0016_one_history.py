"""one history: the feature branches meet

Revision ID: 0016_one_history
Revises: 0004, 0007, 0008, 0009, 0011_customer_numbers, 0015_macro_templates
Create Date: 2026-12-06

Features once added their tables on branches from the core schema, so a database stood at
six revisions at once. This revision joins them; every later one follows it in one line.
It changes no table.
"""

from collections.abc import Sequence

revision: str = "0016_one_history"
down_revision: str | Sequence[str] | None = (
    "0004",
    "0007",
    "0008",
    "0009",
    "0011_customer_numbers",
    "0015_macro_templates",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
