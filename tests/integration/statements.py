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
