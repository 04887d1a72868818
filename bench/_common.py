"""What the benchmarks share: a throw-away database per backend, the machine's conditions
during a run, and their docs section."""

from __future__ import annotations

import argparse
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
HEADER = (
    "# Benchmarks\n\nFigures printed by the scripts in `bench/`, "
    "with the commands that produced them.\n"
)


# Above this one-minute load average the two cores are shared with other work: figures taken
# then say more about the other work than about the desk.
QUIET_LOAD = 1.0
# The load average trails the last minutes: right after a benchmark that kept both cores busy
# it stays above 1.0 for two or three minutes although nothing runs any more. The cores' idle
# share over a few seconds says what runs now: at least this much idle, and a high load
# average is the trail of work that has ended (the previous script of `make bench`).
QUIET_IDLE = 0.9
IDLE_WINDOW_SECONDS = 5.0


def _cpu_times() -> tuple[int, int]:
    """(idle, total) jiffies of all cores since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return idle, sum(fields[:8])


def idle_share(seconds: float = IDLE_WINDOW_SECONDS) -> float:
    """The share of the cores' time spent idle over the next `seconds` (1.0 where /proc/stat
    is not there to say)."""
    try:
        idle_before, total_before = _cpu_times()
        time.sleep(seconds)
        idle_after, total_after = _cpu_times()
    except (OSError, ValueError, IndexError):
        return 1.0
    total = total_after - total_before
    return (idle_after - idle_before) / total if total > 0 else 1.0


ROOT = Path(__file__).resolve().parent.parent


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """--write-docs and --force, the same in every benchmark."""
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="rewrite this benchmark's section of docs/benchmarks.md (a quiet machine only)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="write the section even when the machine is busy, marked as taken under load",
    )


def _commit() -> str:
    try:
        found = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    dirty = subprocess.run(
        # The page the benchmarks write is their output, not a change to what they measure.
        [
            "git",
            "-C",
            str(ROOT),
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            ".",
            ":!docs/benchmarks.md",
        ],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"{found} with uncommitted changes" if dirty else found


@dataclass(frozen=True)
class Conditions:
    """What the machine was doing when a run began, recorded beside its figures."""

    commit: str
    cpus: int
    load_before: tuple[float, float, float]
    started: datetime
    forced: bool
    # The cores' idle share just before the run, measured when the load average was high.
    idle_before: float | None = None

    @classmethod
    def begin(cls, args: argparse.Namespace) -> Conditions:
        """Record the machine now; refuse to go on towards the docs when it is busy."""
        load = os.getloadavg()
        cpus = os.cpu_count() or 1
        write_docs = bool(getattr(args, "write_docs", False))
        force = bool(getattr(args, "force", False))
        print(f"bench: {cpus} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        idle = None
        if load[0] > QUIET_LOAD:
            idle = idle_share()
            print(f"bench: the cores were {idle:.0%} idle over the last {IDLE_WINDOW_SECONDS:g} s")
        busy = idle is not None and idle < QUIET_IDLE
        if write_docs and busy and not force:
            sys.exit(
                f"bench: the machine is busy (load average {load[0]:.2f} over the last minute "
                f"on {cpus} cores, {idle:.0%} idle now): figures taken now are neither "
                "comparable nor repeatable, so docs/benchmarks.md is left as it is. Run it again "
                "when the machine is quiet, or pass --force to write the figures marked as "
                "taken under load."
            )
        return cls(_commit(), cpus, load, datetime.now(UTC), force and busy, idle)

    def describe(self) -> str:
        """One paragraph for the docs: the machine, the commit, the load before and after."""
        after = os.getloadavg()
        before = " ".join(f"{x:.2f}" for x in self.load_before)
        text = (
            f"Conditions: {machine()}; commit {self.commit}; load average (1, 5, 15 min) "
            f"{before} at the start and {' '.join(f'{x:.2f}' for x in after)} at the end; "
            f"{self.started:%Y-%m-%d %H:%M} UTC."
        )
        if self.idle_before is not None and not self.forced:
            text += (
                f" The load average at the start trailed work that had ended: the cores were "
                f"{self.idle_before:.0%} idle over the {IDLE_WINDOW_SECONDS:g} s before it."
            )
        if self.forced:
            text = "**Taken under load (`--force`): not comparable with the others.** " + text
        return text


def machine() -> str:
    """The cores, memory, kernel and Python a run measured."""
    ram = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
    ram_gib = int(ram.group(1)) / 1024**2 if ram else 0.0
    model = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    return (
        f"{os.cpu_count()} cores{f' ({model.group(1).strip()})' if model else ''}, "
        f"{ram_gib:.0f} GiB RAM, Linux {platform.release()}, "
        f"Python {platform.python_version()}"
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


def write_section(name: str, body: str, conditions: Conditions) -> None:
    """Replace this benchmark's section of docs/benchmarks.md, leaving the others alone; the
    conditions of the run close it."""
    body = f"{body}\n\n{conditions.describe()}"
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


# The tables the benchmarks fill with explicit ids, and the sequence that numbers customers.
SEEDED_ID_TABLES = ("teams", "agents", "cases", "messages")
MOVE_SEQUENCES = [
    *(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        for table in SEEDED_ID_TABLES
    ),
    "SELECT setval('customer_numbers', (SELECT max(seq) FROM customers))",
]
"""PostgreSQL statements that move each sequence past the rows a benchmark inserted with
explicit ids and customer numbers, so that what the desk creates next does not collide."""
