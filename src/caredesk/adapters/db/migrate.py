"""Alembic, configured in code so the package carries its migrations wherever it is installed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlalchemy.orm import Session

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


# One line of revisions since 0016_one_history joined the feature branches; "heads" still
# names its end, and reaches every branch of a database migrated before the join.
HEADS = "heads"


def upgrade(engine: Engine, revision: str = HEADS) -> None:
    """Migrate, then give every case that has none its report facts: those of a desk older
    than the table, worked out once, by the same code that keeps them current after."""
    command.upgrade(alembic_config(engine), revision)
    if current_heads(engine) == script_heads(engine):
        fill_case_facts(engine, only_missing=True)


def fill_case_facts(
    engine: Engine, *, only_missing: bool, done: Callable[[int], None] | None = None
) -> int:
    """Work out the report facts of every case (or of those without), in one transaction;
    returns how many cases' facts changed."""
    from caredesk.adapters.db import case_facts
    from caredesk.adapters.db.config_cache import ConfigCache, ConfigReads
    from caredesk.adapters.db.sla_repo import SqlSlaRepository

    with Session(engine) as session:
        calendars = SqlSlaRepository(session, ConfigReads(session, ConfigCache())).policy_calendar
        changed = case_facts.fill(session, calendars, only_missing=only_missing, done=done)
        session.commit()
    return changed


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def current_heads(engine: Engine) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


def script_heads(engine: Engine) -> tuple[str, ...]:
    from alembic.script import ScriptDirectory

    return tuple(sorted(ScriptDirectory.from_config(alembic_config(engine)).get_heads()))
