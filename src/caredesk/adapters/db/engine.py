"""Engine creation: SQLite tuned for a small embedded desk, PostgreSQL pooled for many processes."""

from __future__ import annotations

import threading
import weakref
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

READ_ONLY_OPTION = "caredesk_read_only"
POOL_RECYCLE_SECONDS = 1800
# How long a SQLite writer waits for the write lock before the request fails as a conflict.
BUSY_TIMEOUT_SECONDS = 30
# Marks, in a connection's info, that it holds this process's SQLite writer turn.
_WRITER_TURN = "caredesk_writer_turn"


def build_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> Engine:
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS}
        engine = create_engine(url, **kwargs)
        _tune_sqlite(engine, in_memory=parsed.database in (None, "", ":memory:"))
        return engine
    # No ping before each checkout (a round trip on every request): connections are renewed
    # after POOL_RECYCLE_SECONDS instead, and one the server dropped fails its request once
    # and invalidates the pool, as SQLAlchemy does on a disconnect.
    kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_recycle=POOL_RECYCLE_SECONDS)
    if "options" not in parsed.query:
        # No JIT compilation: the desk's statements run in milliseconds, but a report's
        # per-case subqueries raise the planner's estimate over jit_above_cost, and compiling
        # then took a second and more of every report (docs/benchmarks.md, *Reports*).
        kwargs["connect_args"] = {"options": "-c jit=off"}
    return create_engine(url, **kwargs)


def _tune_sqlite(engine: Engine, *, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own BEGIN handling would defer locks until the first write; take control
        # so that every transaction starts with BEGIN (writers of other processes queue on
        # busy_timeout).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        # Deleted and overwritten content is zeroed on disk, not left in free pages where a
        # copy of the file would still show an erased customer's words (docs/privacy.md).
        cursor.execute("PRAGMA secure_delete=ON")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    turn = _TURNS[engine] = WriterTurn(engine)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A writer takes the lock up front (IMMEDIATE), so two writers queue instead of
        # failing on a read-to-write upgrade; readers stay concurrent under WAL.
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN")
            return
        turn.take(connection.info)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            turn.end(connection.info)
            raise


class WriterTurn:
    """Writers of this process wait their turn here, woken as soon as the last one ends,
    rather than in SQLite's busy handler, which sleeps and retries: with a dozen writers some
    slept through many turns (p99 in seconds). The busy timeout still orders this process's
    writers with other processes'."""

    def __init__(self, engine: Engine) -> None:
        self._lock = threading.Lock()
        event.listen(engine, "commit", lambda connection: self.end(connection.info))
        event.listen(engine, "rollback", lambda connection: self.end(connection.info))
        # A connection given back to the pool (or thrown away) in a transaction never
        # committed nor rolled back through the engine still ends its turn.
        event.listen(engine.pool, "checkin", self._on_checkin)
        event.listen(engine.pool, "invalidate", lambda _c, record, _e: self.end(record.info))

    def take(self, info: dict[Any, Any]) -> None:
        # Bounded like the busy timeout: past it (a thread that already holds the turn and
        # opens a second writer, say) SQLite's own waiting decides, as it did before.
        if self._lock.acquire(timeout=BUSY_TIMEOUT_SECONDS):
            info[_WRITER_TURN] = True

    def end(self, info: dict[Any, Any]) -> None:
        if info.pop(_WRITER_TURN, False):
            self._lock.release()

    @property
    def held(self) -> bool:
        return self._lock.locked()

    def _on_checkin(self, _dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            self.end(record.info)


_TURNS: weakref.WeakKeyDictionary[Engine, WriterTurn] = weakref.WeakKeyDictionary()


def writer_turn(engine: Engine) -> WriterTurn | None:
    """The writer turn of a SQLite engine's process (None on PostgreSQL)."""
    return _TURNS.get(engine)
