"""The SQL a test's requests send, seen through the engine: how many statements a page costs,
and whether a read wrote anything."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

# Threads of the desk's own that share the engine: their work is not the request's.
BACKGROUND_THREADS = ("caredesk-embedder", "caredesk-token-uses")
WRITES = ("INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE")


@contextmanager
def statements_sent(engine: Engine) -> Iterator[list[str]]:
    """Every statement the engine sends meanwhile, but for the background threads'."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        if threading.current_thread().name not in BACKGROUND_THREADS:
            statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@contextmanager
def sent_with_parameters(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Like `statements_sent`, each statement with its parameters, to be explained."""
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if threading.current_thread().name not in BACKGROUND_THREADS:
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def query_plan(engine: Engine, statement: str, parameters: Any) -> str:
    """The database's plan for a statement that was sent. PostgreSQL is told to avoid
    sequential scans, which it rightly prefers on a test's few rows: the plan then shows
    whether an index can serve the statement at all."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return "\n".join(str(row[-1]) for row in rows)
        conn.exec_driver_sql("SET enable_seqscan = off")
        rows = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        return "\n".join(str(row[0]) for row in rows)


def reads(sent: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The statements that read (SELECT), with their parameters."""
    return [(s, p) for s, p in sent if s.lstrip().upper().startswith(("SELECT", "WITH"))]


def writes(statements: list[str]) -> list[str]:
    """The statements that write (or, on SQLite, take the write lock), by their first line."""
    return [s.split("\n")[0][:80] for s in statements if s.lstrip().upper().startswith(WRITES)]


@contextmanager
def commits_made(engine: Engine) -> Iterator[list[str]]:
    """The transactions the engine commits meanwhile, each by the name of its thread."""
    commits: list[str] = []

    def record(_connection: Any) -> None:
        commits.append(threading.current_thread().name)

    event.listen(engine, "commit", record)
    try:
        yield commits
    finally:
        event.remove(engine, "commit", record)


@contextmanager
def transactions_begun(engine: Engine) -> Iterator[list[int]]:
    """How many transactions the engine begins meanwhile (on every backend: PostgreSQL's BEGIN
    is not a statement the driver is handed), but for the background threads'."""
    begun = [0]

    def record(*_args: Any) -> None:
        if threading.current_thread().name not in BACKGROUND_THREADS:
            begun[0] += 1

    event.listen(engine, "begin", record)
    try:
        yield begun
    finally:
        event.remove(engine, "begin", record)
