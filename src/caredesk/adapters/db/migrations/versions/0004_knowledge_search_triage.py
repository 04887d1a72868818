"""knowledge base, search index and triage

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-24

Articles with their versions, known issues, one search index over articles, macros and
solved cases (with stored embeddings), routing rules, intent labels and models, and each
case's latest triage. Full-text search is kept by the database itself: an FTS5 table with
triggers on SQLite, an expression GIN index on PostgreSQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caredesk.adapters.db.types

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intent_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=60), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("artifact", sa.LargeBinary(), nullable=False),
        sa.Column(
            "trained_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("trained_by", sa.String(length=80), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intent_models")),
        sa.UniqueConstraint("version", name=op.f("uq_intent_models_version")),
    )
    with op.batch_alter_table("intent_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intent_models_active"), ["active"], unique=False)

    op.create_table(
        "kb_articles",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("product_ids", sa.JSON(), nullable=False),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("visibility", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("author", sa.String(length=80), nullable=False),
        sa.Column(
            "created_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_articles")),
        sa.UniqueConstraint("slug", name=op.f("uq_kb_articles_slug")),
    )
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.create_index("ix_kb_articles_updated", ["updated_at", "id"], unique=False)

    op.create_table(
        "routing_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column(
            "updated_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rules")),
    )
    op.create_table(
        "search_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ref_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "updated_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("embedding_model", sa.String(length=120), nullable=True),
        sa.Column(
            "embedded_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("needs_embedding", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_entries")),
        sa.UniqueConstraint("kind", "ref_id", name="uq_search_entries_kind_ref"),
    )
    with op.batch_alter_table("search_entries", schema=None) as batch_op:
        batch_op.create_index("ix_search_entries_embedded", ["embedded_at"], unique=False)
        batch_op.create_index("ix_search_entries_pending", ["needs_embedding", "id"], unique=False)

    op.create_table(
        "kb_article_versions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("product_ids", sa.JSON(), nullable=False),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("visibility", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("author", sa.String(length=80), nullable=False),
        sa.Column(
            "created_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_article_versions_article_id_kb_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_article_versions")),
        sa.UniqueConstraint("article_id", "version", name="uq_kb_article_versions_article_version"),
    )
    op.create_table(
        "known_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("product_ids", sa.JSON(), nullable=False),
        sa.Column("variant_ids", sa.JSON(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column(
            "article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("program_id", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_known_issues_article_id_kb_articles"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_issues")),
        sa.UniqueConstraint("key", name=op.f("uq_known_issues_key")),
    )
    with op.batch_alter_table("known_issues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_known_issues_active"), ["active"], unique=False)

    op.create_table(
        "case_triage",
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("intent_confidence", sa.Float(), nullable=False),
        sa.Column("intent_source", sa.String(length=20), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("sentiment", sa.Float(), nullable=False),
        sa.Column("public_risk", sa.Boolean(), nullable=False),
        sa.Column("public_risk_confidence", sa.Float(), nullable=False),
        sa.Column("risk_signals", sa.JSON(), nullable=False),
        sa.Column("moments", sa.JSON(), nullable=False),
        sa.Column("known_issues", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("suggestions", sa.JSON(), nullable=False),
        sa.Column(
            "triaged_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_triage_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_triage")),
    )
    op.create_table(
        "intent_labels",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column(
            "created_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_intent_labels_case_id_cases"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intent_labels")),
    )
    with op.batch_alter_table("intent_labels", schema=None) as batch_op:
        batch_op.create_index("ix_intent_labels_case", ["case_id", "id"], unique=False)

    _create_search(op.get_bind().dialect.name)


SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, body, content='search_entries', "
    "content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER search_entries_fts_insert AFTER INSERT ON search_entries BEGIN "
    "INSERT INTO search_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER search_entries_fts_update AFTER UPDATE OF title, body ON search_entries "
    "BEGIN INSERT INTO search_fts(search_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO search_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER search_entries_fts_delete AFTER DELETE ON search_entries BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); END",
]
SQLITE_TRIGGERS = [
    "search_entries_fts_insert",
    "search_entries_fts_update",
    "search_entries_fts_delete",
]
POSTGRES_SEARCH = [
    "CREATE INDEX ix_search_entries_tsv ON search_entries "
    "USING gin (to_tsvector('english', title || ' ' || body))",
]


def _create_search(dialect: str) -> None:
    for statement in SQLITE_SEARCH if dialect == "sqlite" else POSTGRES_SEARCH:
        op.execute(statement)


def _drop_search(dialect: str) -> None:
    if dialect == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_search_entries_tsv")


def downgrade() -> None:
    _drop_search(op.get_bind().dialect.name)
    with op.batch_alter_table("intent_labels", schema=None) as batch_op:
        batch_op.drop_index("ix_intent_labels_case")

    op.drop_table("intent_labels")
    op.drop_table("case_triage")
    with op.batch_alter_table("known_issues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_known_issues_active"))

    op.drop_table("known_issues")
    op.drop_table("kb_article_versions")
    with op.batch_alter_table("search_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_search_entries_pending")
        batch_op.drop_index("ix_search_entries_embedded")

    op.drop_table("search_entries")
    op.drop_table("routing_rules")
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_articles_updated")

    op.drop_table("kb_articles")
    with op.batch_alter_table("intent_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intent_models_active"))

    op.drop_table("intent_models")
