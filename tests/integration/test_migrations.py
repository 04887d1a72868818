"""The models and the Alembic migrations describe the same schema, on every backend."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, select

from caredesk.adapters.db.migrate import current_heads, downgrade, script_heads, upgrade
from caredesk.adapters.db.migrations import env_filters
from caredesk.adapters.db.models import Base, CustomerRow
from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM
from caredesk.services import customers


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


def test_customer_numbers_carry_on_after_the_upgrade_that_adds_their_sequence(
    container: Container,
) -> None:
    engine = container.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("the sequence is PostgreSQL's; SQLite numbers its one writer's customers")
    downgrade(engine, "0011_customer_numbers-1")
    try:
        with engine.begin() as conn:
            for seq in (1, 2, 7):
                conn.execute(
                    insert(CustomerRow).values(
                        id=f"before-{seq}", seq=seq, first_name="Old", last_name="Customer",
                        name_key="old customer", phones=[], addresses=[], tier="standard",
                        created_at=container.clock.now(), updated_at=container.clock.now(),
                        version=1,
                    )
                )  # fmt: skip
    finally:
        upgrade(engine)
    created = customers.create_customer(
        container.uow(), SYSTEM, container.clock.now(),
        first_name="New", last_name="Customer", emails=["new@example.com"],
    )  # fmt: skip
    with engine.connect() as conn:
        number = conn.execute(select(CustomerRow.seq).where(CustomerRow.id == created.id))
        assert number.scalar_one() == 8
