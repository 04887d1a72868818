"""The models and the Alembic migrations describe the same schema, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from caredesk.adapters.db.migrate import current_heads, script_heads
from caredesk.adapters.db.migrations import env_filters
from caredesk.adapters.db.models import Base


def test_models_and_migrations_agree(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"include_object": env_filters.include_object, "compare_type": True},
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_database_is_at_every_head_revision(migrated_engine: Engine) -> None:
    assert current_heads(migrated_engine) == script_heads(migrated_engine)


def test_every_model_table_exists(migrated_engine: Engine) -> None:
    existing = set(inspect(migrated_engine).get_table_names())
    assert set(Base.metadata.tables) <= existing


def test_the_comparison_notices_a_model_change(migrated_engine: Engine) -> None:
    from sqlalchemy import Column, Integer, MetaData

    changed = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["cases"].append_column(Column("not_migrated", Integer))
    with migrated_engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": env_filters.include_object}
        )
        differences = compare_metadata(context, changed)
    assert [d[0] for d in differences] == ["add_column"]
