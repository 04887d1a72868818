"""Alembic environment: runs against the engine the caller passes in config.attributes."""

from __future__ import annotations

from alembic import context

from caredesk.adapters.db.migrations.env_filters import include_object
from caredesk.adapters.db.models import Base


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_object=include_object,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


run_migrations_online()
