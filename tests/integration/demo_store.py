"""The demo store for tests that start from it: generated once per test process, database and
arguments, then copied row for row into each later test's emptied database.

Generating the store runs every command it is made of, seconds on SQLite and more on
PostgreSQL; copying its rows takes milliseconds. The copy is exact: every row as the driver
reads it (PostgreSQL's COPY text, SQLite's stored values) and, on PostgreSQL, each sequence
where generating left it, so that a test draws the ids it would draw after generating. What
the desk derives from rows on SQLite (the full-text tables) its triggers derive again.

Tests about generating the store (tests/integration/test_demo.py's loading tests, the CLI's)
call demo.load_demo themselves, and so does a test that changes the container before loading
(another intent model, say): what the copy is keyed on is the settings, the clock and the
arguments, nothing else. Each test's desk has a model folder of its own (tests/conftest.py):
the key names what that folder holds, not where it is, or no test would ever find a copy.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from caredesk import demo
from caredesk.bootstrap import Container
from caredesk.services.cases.ports import CaseFilter
from caredesk.settings import Settings
from tests.conftest import TABLES, tables_with_rows

# Parents before their children, so that every row finds what it points at.
_PARENTS_FIRST = list(reversed(TABLES))
_SEQUENCES = text(
    "SELECT format('%I.%I', schemaname, sequencename), last_value FROM pg_sequences "
    "WHERE last_value IS NOT NULL"
)


@dataclass(frozen=True, slots=True)
class _Copy:
    summary: demo.DemoSummary
    # (table, its rows): COPY text on PostgreSQL, a list of row tuples on SQLite.
    tables: list[tuple[str, Any]]
    sequences: list[tuple[str, int]]


_COPIES: dict[tuple[object, ...], _Copy] = {}


def load_demo_store(
    container: Container, *, seed: int, customers: int, admin_email: str, admin_password: str
) -> demo.DemoSummary:
    """demo.load_demo on the container's empty database, at the container's clock."""
    now = container.clock.now()
    key = (_settings_key(container.settings), now, seed, customers, admin_email, admin_password)
    with container.engine.connect() as conn:
        assert not tables_with_rows(conn), "the demo store is copied into an empty database"
    taken = _COPIES.get(key)
    if taken is None:
        summary = demo.load_demo(
            container.uow,
            container.hasher,
            now,
            seed=seed,
            customers=customers,
            admin_email=admin_email,
            admin_password=admin_password,
        )
        _COPIES[key] = _take(container.engine, summary)
        return summary
    _restore(container.engine, taken)
    return copy.deepcopy(taken.summary)


def _settings_key(settings: Settings) -> tuple[str, tuple[tuple[str, int], ...]]:
    """The settings the store is generated under, with the model folder told by its files:
    a prepared encoder there embeds the store's articles, an empty folder changes nothing."""
    folder = settings.model_dir
    prepared = tuple(
        sorted(
            (str(path.relative_to(folder)), path.stat().st_size)
            for path in folder.rglob("*")
            if path.is_file()
        )
    )
    anywhere = settings.model_copy(update={"model_dir": Path()})
    return anywhere.model_dump_json(), prepared


def _take(engine: Engine, summary: demo.DemoSummary) -> _Copy:
    with engine.connect() as conn:
        full = tables_with_rows(conn)
        if engine.dialect.name == "postgresql":
            tables = [(t, _copy_out(conn, t)) for t in _PARENTS_FIRST if t in full]
            sequences = [(str(name), int(value)) for name, value in conn.execute(_SEQUENCES)]
        else:
            tables = [
                (t, conn.exec_driver_sql(f"SELECT * FROM {t}").fetchall())
                for t in _PARENTS_FIRST
                if t in full
            ]
            sequences = []
    return _Copy(copy.deepcopy(summary), tables, sequences)


def _restore(engine: Engine, taken: _Copy) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table, data in taken.tables:
                _copy_in(conn, table, data)
            for name, value in taken.sequences:
                conn.execute(text("SELECT setval(:name, :value)"), {"name": name, "value": value})
            return
        # Rows go in as they were read, not necessarily before the rows of their own table
        # that point at them (a grant and its reversal): keys are checked at the commit.
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        for table, rows in taken.tables:
            marks = ", ".join("?" * len(rows[0]))
            conn.exec_driver_sql(f"INSERT INTO {table} VALUES ({marks})", [tuple(r) for r in rows])


def _copy_out(conn: Connection, table: str) -> bytes:
    with _psycopg(conn).cursor() as cursor, cursor.copy(f"COPY {table} TO STDOUT") as source:
        return b"".join(bytes(block) for block in source)


def _copy_in(conn: Connection, table: str, data: bytes) -> None:
    with _psycopg(conn).cursor() as cursor, cursor.copy(f"COPY {table} FROM STDIN") as target:
        target.write(data)


def _psycopg(conn: Connection) -> Any:
    """The psycopg connection under this one, in its transaction: COPY is psycopg's."""
    raw = conn.connection.driver_connection
    assert raw is not None
    return raw


def story_cases(container: Container) -> dict[str, int]:
    """The demo's seed-story cases by story name ("escalated-script", …)."""
    with container.uow() as uow:
        page = uow.cases.find(CaseFilter(tag=demo.STORY_TAG), 50, None)
    found = {}
    for case in page.items:
        story = next(t for t in case.tags if t.startswith("story:"))
        assert case.id is not None
        found[story.removeprefix("story:")] = case.id
    return found
