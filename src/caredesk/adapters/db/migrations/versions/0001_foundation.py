"""foundation

Revision ID: 0001
Revises:
Create Date: 2026-11-24

The core tables, plus full-text search kept by the database itself: FTS5 tables with
triggers on SQLite, expression GIN indexes on PostgreSQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caredesk.adapters.db.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("email", name=op.f("uq_agents_email")),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "before",
            sa.JSON(),
            nullable=True,
        ),
        sa.Column(
            "after",
            sa.JSON(),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_case", ["case_id", "id"], unique=False)
        batch_op.create_index(
            "ix_audit_events_entity", ["entity_type", "entity_id", "id"], unique=False
        )

    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_blobs")),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("first_name", sa.String(length=200), nullable=False),
        sa.Column("last_name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=401), nullable=False),
        sa.Column(
            "phones",
            sa.JSON(),
            nullable=False,
        ),
        sa.Column(
            "addresses",
            sa.JSON(),
            nullable=False,
        ),
        sa.Column("tier", sa.String(length=40), nullable=False),
        sa.Column("membership", sa.String(length=40), nullable=True),
        sa.Column(
            "created_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("seq", name=op.f("uq_customers_seq")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customers_name_key"), ["name_key"], unique=False)

    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("principal", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column(
            "response_headers",
            sa.JSON(),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("principal", "key", name="uq_idempotency_keys_principal_key"),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "products",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("seq", name=op.f("uq_products_seq")),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_products_name"), ["name"], unique=False)

    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    op.create_table(
        "agent_teams",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_teams_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_agent_teams_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("agent_id", "team_id", name=op.f("pk_agent_teams")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "expires_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "revoked_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "last_used_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_api_tokens_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column(
            "order_ids",
            sa.JSON(),
            nullable=False,
        ),
        sa.Column(
            "custom_fields",
            sa.JSON(),
            nullable=False,
        ),
        sa.Column(
            "created_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "solved_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "closed_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["agents.id"], name=op.f("fk_cases_assignee_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_cases_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_cases_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cases_assignee_updated", ["assignee_id", "updated_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_cases_customer_updated", ["customer_id", "updated_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_cases_status_updated", ["status", "updated_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_cases_team_updated", ["team_id", "updated_at", "id"], unique=False
        )
        batch_op.create_index("ix_cases_updated", ["updated_at", "id"], unique=False)

    op.create_table(
        "customer_emails",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_emails_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_customer_emails")),
    )
    with op.batch_alter_table("customer_emails", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_emails_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column(
            "address",
            sa.JSON(),
            nullable=False,
        ),
        sa.Column(
            "placed_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "details",
            sa.JSON(),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_orders_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("seq", name=op.f("uq_orders_seq")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_customer_seq", ["customer_id", "seq"], unique=False)

    op.create_table(
        "payment_methods",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("brand", sa.String(length=40), nullable=True),
        sa.Column("last_four", sa.String(length=4), nullable=True),
        sa.Column("balance", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_payment_methods_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_methods")),
    )
    with op.batch_alter_table("payment_methods", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_methods_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "sessions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "expires_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "revoked_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_sessions_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sessions_token_hash")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sessions_agent_id"), ["agent_id"], unique=False)

    op.create_table(
        "variants",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "options",
            sa.JSON(),
            nullable=False,
        ),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("cost", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_variants_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_variants")),
    )
    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_variants_product_id"), ["product_id"], unique=False)

    op.create_table(
        "case_tags",
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_tags_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", "tag", name=op.f("pk_case_tags")),
    )
    with op.batch_alter_table("case_tags", schema=None) as batch_op:
        batch_op.create_index("ix_case_tags_tag_case", ["tag", "case_id"], unique=False)

    op.create_table(
        "fulfilments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "tracking_ids",
            sa.JSON(),
            nullable=False,
        ),
        sa.Column(
            "variant_ids",
            sa.JSON(),
            nullable=False,
        ),
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
            name=op.f("fk_fulfilments_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fulfilments")),
    )
    with op.batch_alter_table("fulfilments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fulfilments_order_id"), ["order_id"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_agent_id", sa.Integer(), nullable=True),
        sa.Column("author_customer_id", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "attachments",
            sa.JSON(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["author_agent_id"], ["agents.id"], name=op.f("fk_messages_author_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_messages_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_case_id", ["case_id", "id"], unique=False)

    op.create_table(
        "order_lines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column(
            "options",
            sa.JSON(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_lines_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines")),
    )
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_lines_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_lines_variant_id"), ["variant_id"], unique=False)

    op.create_table(
        "payment_transactions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("transaction_type", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("payment_method_id", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", caredesk.adapters.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_payment_transactions_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_transactions")),
    )
    with op.batch_alter_table("payment_transactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_transactions_order_id"), ["order_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_payment_transactions_payment_method_id"),
            ["payment_method_id"],
            unique=False,
        )

    _create_search(op.get_bind().dialect.name)


SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE case_subject_fts USING fts5(subject, tokenize='porter unicode61')",
    "CREATE VIRTUAL TABLE message_fts USING fts5(body, case_id UNINDEXED, "
    "tokenize='porter unicode61')",
    "CREATE TRIGGER cases_fts_insert AFTER INSERT ON cases BEGIN "
    "INSERT INTO case_subject_fts(rowid, subject) VALUES (new.id, new.subject); END",
    "CREATE TRIGGER cases_fts_update AFTER UPDATE OF subject ON cases BEGIN "
    "DELETE FROM case_subject_fts WHERE rowid = old.id; "
    "INSERT INTO case_subject_fts(rowid, subject) VALUES (new.id, new.subject); END",
    "CREATE TRIGGER cases_fts_delete AFTER DELETE ON cases BEGIN "
    "DELETE FROM case_subject_fts WHERE rowid = old.id; END",
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
    "INSERT INTO message_fts(rowid, body, case_id) VALUES (new.id, new.body, new.case_id); END",
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF body, case_id ON messages BEGIN "
    "DELETE FROM message_fts WHERE rowid = old.id; "
    "INSERT INTO message_fts(rowid, body, case_id) VALUES (new.id, new.body, new.case_id); END",
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
    "DELETE FROM message_fts WHERE rowid = old.id; END",
]
SQLITE_TRIGGERS = [
    "cases_fts_insert",
    "cases_fts_update",
    "cases_fts_delete",
    "messages_fts_insert",
    "messages_fts_update",
    "messages_fts_delete",
]
POSTGRES_SEARCH = [
    "CREATE INDEX ix_cases_subject_tsv ON cases USING gin (to_tsvector('english', subject))",
    "CREATE INDEX ix_messages_body_tsv ON messages USING gin (to_tsvector('english', body))",
]


def _create_search(dialect: str) -> None:
    for statement in SQLITE_SEARCH if dialect == "sqlite" else POSTGRES_SEARCH:
        op.execute(statement)


def _drop_search(dialect: str) -> None:
    if dialect == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS case_subject_fts")
        op.execute("DROP TABLE IF EXISTS message_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_cases_subject_tsv")
        op.execute("DROP INDEX IF EXISTS ix_messages_body_tsv")


def downgrade() -> None:
    _drop_search(op.get_bind().dialect.name)
    with op.batch_alter_table("payment_transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_transactions_payment_method_id"))
        batch_op.drop_index(batch_op.f("ix_payment_transactions_order_id"))

    op.drop_table("payment_transactions")
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_lines_variant_id"))
        batch_op.drop_index(batch_op.f("ix_order_lines_order_id"))

    op.drop_table("order_lines")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_case_id")

    op.drop_table("messages")
    with op.batch_alter_table("fulfilments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fulfilments_order_id"))

    op.drop_table("fulfilments")
    with op.batch_alter_table("case_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_case_tags_tag_case")

    op.drop_table("case_tags")
    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_variants_product_id"))

    op.drop_table("variants")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_agent_id"))

    op.drop_table("sessions")
    with op.batch_alter_table("payment_methods", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_methods_customer_id"))

    op.drop_table("payment_methods")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_customer_seq")

    op.drop_table("orders")
    with op.batch_alter_table("customer_emails", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_emails_customer_id"))

    op.drop_table("customer_emails")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_updated")
        batch_op.drop_index("ix_cases_team_updated")
        batch_op.drop_index("ix_cases_status_updated")
        batch_op.drop_index("ix_cases_customer_updated")
        batch_op.drop_index("ix_cases_assignee_updated")

    op.drop_table("cases")
    op.drop_table("api_tokens")
    op.drop_table("agent_teams")
    op.drop_table("teams")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_name"))

    op.drop_table("products")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created_at"))

    op.drop_table("idempotency_keys")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_name_key"))

    op.drop_table("customers")
    op.drop_table("blobs")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_entity")
        batch_op.drop_index("ix_audit_events_case")

    op.drop_table("audit_events")
    op.drop_table("agents")
