"""satisfaction surveys: the table, the survey mail template and its timer by the glossary's name

Revision ID: 0023_satisfaction_surveys
Revises: 0022_approval_requested_by_role
Create Date: 2026-12-14

The rows stay as they are. PostgreSQL renames the table, its constraints, index and id
sequence in place; SQLite cannot rename a constraint, so it copies the rows into a table
created with the new names and drops the old one. An admin's edit of the survey mail
template, the mail queued from it and the survey timer's schedule follow the new names, so
queued mail keeps its headers and the timer keeps its period.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caredesk.adapters.db.types

revision: str = "0023_satisfaction_surveys"
down_revision: str | Sequence[str] | None = "0022_approval_requested_by_role"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = caredesk.adapters.db.types.UTCDateTime
COLUMNS = (
    "id",
    "case_id",
    "customer_id",
    "token_hash",
    "sent_at",
    "expires_at",
    "score",
    "comment",
    "answered_at",
)
# (old, new) of the survey mail template and of the timer that sends the surveys.
TEMPLATE = ("csat_survey", "satisfaction_survey")
TIMER = ("csat.surveys", "satisfaction.surveys")


def _rename_in_place(old: str, new: str) -> None:
    """PostgreSQL: the table, its keys and unique constraints, its index and id sequence."""
    op.rename_table(old, new)
    for constraint in (
        "pk_{}",
        "fk_{}_case_id_cases",
        "fk_{}_customer_id_customers",
        "uq_{}_case_id",
        "uq_{}_token_hash",
    ):
        op.execute(
            f"ALTER TABLE {new} RENAME CONSTRAINT {constraint.format(old)} "
            f"TO {constraint.format(new)}"
        )
    op.execute(f"ALTER INDEX ix_{old}_answered_at RENAME TO ix_{new}_answered_at")
    sequence = (
        op.get_bind()
        .execute(sa.text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": new})
        .scalar()
    )
    if sequence is not None:
        op.execute(f"ALTER SEQUENCE {sequence} RENAME TO {new}_id_seq")


def _copy(old: str, new: str) -> None:
    """SQLite: a table made with the new names, the rows copied, the old table dropped."""
    op.create_table(
        new,
        sa.Column("id", BigId, nullable=False),
        sa.Column("case_id", BigId, nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("sent_at", UTC(timezone=True), nullable=False),
        sa.Column("expires_at", UTC(timezone=True), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("answered_at", UTC(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f(f"fk_{new}_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f(f"fk_{new}_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{new}")),
        sa.UniqueConstraint("case_id", name=op.f(f"uq_{new}_case_id")),
        sa.UniqueConstraint("token_hash", name=op.f(f"uq_{new}_token_hash")),
    )
    source = sa.table(old, *(sa.column(c) for c in COLUMNS))
    target = sa.table(new, *(sa.column(c) for c in COLUMNS))
    op.execute(sa.insert(target).from_select(list(COLUMNS), sa.select(*source.c)))
    with op.batch_alter_table(old, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f(f"ix_{old}_answered_at"))
    op.drop_table(old)
    with op.batch_alter_table(new, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{new}_answered_at"), ["answered_at"], unique=False)


def _rename_rows(template: tuple[str, str], timer: tuple[str, str]) -> None:
    templates = sa.table("mail_templates", sa.column("name", sa.String()))
    mail = sa.table("mail_messages", sa.column("template", sa.String()))
    timers = sa.table("job_timers", sa.column("name", sa.String()))
    old, new = template
    op.execute(sa.update(templates).where(templates.c.name == old).values(name=new))
    op.execute(sa.update(mail).where(mail.c.template == old).values(template=new))
    old, new = timer
    op.execute(sa.update(timers).where(timers.c.name == old).values(name=new))


def _rename(old: str, new: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        _rename_in_place(old, new)
    else:
        _copy(old, new)


def upgrade() -> None:
    _rename("csat_surveys", "satisfaction_surveys")
    _rename_rows(TEMPLATE, TIMER)


def downgrade() -> None:
    _rename("satisfaction_surveys", "csat_surveys")
    _rename_rows(TEMPLATE[::-1], TIMER[::-1])
