"""Shared fixtures: a migrated database per backend (SQLite always, PostgreSQL when
CAREDESK_TEST_DATABASE_URL is set), emptied before each test, and an app wired to it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import profiles
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url

from caredesk.adapters.db.engine import build_engine
from caredesk.adapters.db.migrate import upgrade
from caredesk.adapters.db.models import Base
from caredesk.adapters.security import Argon2PasswordHasher
from caredesk.bootstrap import Container, bootstrap
from caredesk.settings import Settings

PG_ENV = "CAREDESK_TEST_DATABASE_URL"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get(PG_ENV) else [])
# Argon2 at its cheapest for the throwaway passwords of tests: at the recommended strength each
# hash costs tens of milliseconds, and the suite makes thousands. What is hashed and checked
# is the same; test_production_mode.py checks that the desk itself keeps the strong parameters.
CHEAP_HASHER = Argon2PasswordHasher(profiles.CHEAPEST)


class ManualClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


def new_database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of its own: a fresh SQLite file, or a PostgreSQL database dropped after."""
    if backend == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "caredesk.db"
        yield f"sqlite:///{path}"
        return
    server_url = make_url(os.environ[PG_ENV])
    name = f"caredesk_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        # A test database need not outlive a crash, so its commits need not wait for the
        # disk. The database's own setting: the desk's code runs as it does in production.
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    try:
        yield server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def migrated(database_url: str) -> Iterator[Engine]:
    engine = build_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    yield from new_database(request.param, tmp_path_factory)


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    yield from migrated(database_url)


# Children before their parents, so that a DELETE never leaves a row pointing at nothing.
TABLES = [t.name for t in reversed(Base.metadata.sorted_tables)]
# One query names the tables that hold a row: a test writes to a handful of the tables, and
# emptying only those is what makes emptying cheap.
_TABLES_WITH_ROWS = text(
    " UNION ALL ".join(f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM {name})" for name in TABLES)
)
# Each sequence the tests drew from starts again, as in a new database (TRUNCATE ... RESTART
# IDENTITY did that, at a second or more per test on PostgreSQL, against a few milliseconds for
# DELETE on tables this small). Every sequence here is owned by a column of these tables.
_RESTART_SEQUENCES = text(
    "SELECT setval(format('%I.%I', schemaname, sequencename), start_value, false) "
    "FROM pg_sequences WHERE last_value IS NOT NULL"
)


def tables_with_rows(conn: Connection) -> set[str]:
    return set(conn.execute(_TABLES_WITH_ROWS).scalars())


def _empty(engine: Engine) -> None:
    """Every table as a new database has it: no rows and, on PostgreSQL, ids from 1."""
    with engine.begin() as conn:
        full = tables_with_rows(conn)
        for table in TABLES:
            if table in full:
                conn.execute(text(f"DELETE FROM {table}"))
        if engine.dialect.name == "postgresql":
            conn.execute(_RESTART_SEQUENCES)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(
    database_url: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    # No background worker in tests: a test runs the jobs it needs, when it needs them.
    # The embedding model only where a test is about it (`@pytest.mark.semantic`): the rest
    # of the desk must work without it, and each test process then skips loading it.
    return Settings(
        database_url=database_url,
        log_json=True,
        log_level="warning",
        embedded_worker=False,
        semantic_search=request.node.get_closest_marker("semantic") is not None,
        # Rate limits count on the real clock: tests/integration/test_rate_limits.py turns
        # them on where they are the subject, so that no other test depends on its speed.
        rate_limits=False,
        # Prepared model files only where a test prepares them, never in the working tree.
        model_dir=tmp_path_factory.mktemp("models"),
    )


@pytest.fixture
def container(
    migrated_engine: Engine, settings: Settings, clock: ManualClock, request: pytest.FixtureRequest
) -> Iterator[Container]:
    if (
        request.node.get_closest_marker("postgres_only") is not None
        and migrated_engine.dialect.name != "postgresql"
    ):
        pytest.skip(f"needs PostgreSQL: set {PG_ENV}")
    _empty(migrated_engine)
    built = bootstrap(settings, clock=clock, hasher=CHEAP_HASHER)
    yield built
    built.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked `one_backend` runs on SQLite only: what it checks (an answer's shape,
    who may call what, input refused before any statement) does not depend on the database,
    and running it twice would only cost the suite's time (docs/development.md)."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("database_url") if callspec is not None else None
        if backend == "postgresql" and item.get_closest_marker("one_backend") is not None:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
