"""What the benchmarks share: a throw-away database per backend and their docs section."""

from __future__ import annotations

import socket
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
HEADER = (
    "# Benchmarks\n\nFigures printed by the scripts in `bench/`, "
    "with the commands that produced them.\n"
)


def pg_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def database(backend: str, pg_url: str = PG_DEFAULT) -> Iterator[str]:
    """A fresh SQLite file or PostgreSQL database, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="caredesk-bench-") as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    server = make_url(pg_url)
    name = f"caredesk_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def write_section(name: str, body: str) -> None:
    """Replace this benchmark's section of docs/benchmarks.md, leaving the others alone."""
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    current = DOCS.read_text() if DOCS.exists() else HEADER
    section = f"{start}\n{body}\n{end}"
    if start in current and end in current:
        head, rest = current.split(start, 1)
        current = head + section + rest.split(end, 1)[1]
    else:
        current = current.rstrip() + "\n\n" + section + "\n"
    DOCS.write_text(current)
