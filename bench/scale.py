"""Scale-out on PostgreSQL: the same load at 10,000 and at 1,000,000 cases, with 1, 2 and 4
API processes, two job workers beside them.

For each size: a fresh PostgreSQL database, `caredesk db upgrade`, then the cases with their
messages and tags loaded with `COPY` (the secondary indexes of the three big tables dropped
for the load and built again after it, as a restore does; the migrations' own definitions,
read back from the catalogue). Two `caredesk worker` processes start, and for each API
process count `caredesk serve --workers N` answers on loopback while 16 clients drive, in a
closed loop for a fixed time each: create a case, get a case by id, the first page of a
filtered list, add a reply and a one-word full-text search. Prints requests, errors, req/s
and p50/p99 for every size and process count, then how the largest size compares with the
smallest (the ratio of p50 and of p99 for each operation and process count). Everything stops
and cleans up by itself.

    python bench/scale.py [--cases 10000 --cases 1000000] [--processes 1 --processes 2 ...]
                          [--clients N] [--seconds S] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import create_engine, make_url, text

from _common import (
    MOVE_SEQUENCES,
    PG_DEFAULT,
    Conditions,
    add_run_arguments,
    database,
    percentile,
    write_section,
)
from api import (
    BATCH,
    CAREDESK,
    Outcome,
    Seeded,
    admin_headers,
    caredesk,
    case_batch,
    check_search,
    command_line,
    console,
    drive,
    log_findings,
    operations,
    peak_rss_mb,
    seed_people,
    serve,
    server_env,
)

# The operations the scale-out run compares across sizes, by their names in bench/api.py.
OPERATIONS = (
    "create case",
    "get case",
    "list status=open&team_id",
    "add message",
    "full-text search (1 word)",
)
# The tables COPY fills; their secondary indexes are built after the load.
BIG_TABLES = ("cases", "case_tags", "messages")
JOB_WORKERS = 2


def _copy_value(value: Any) -> Any:
    # JSON columns take their text form; COPY parses it with the column's input function.
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def _copy(cursor: psycopg.Cursor[Any], table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([_copy_value(row[c]) for c in columns])


def _secondary_indexes(cursor: psycopg.Cursor[Any]) -> list[tuple[str, str]]:
    """Every index of the big tables that backs no constraint: (name, its CREATE statement)."""
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes "
        "WHERE schemaname = current_schema() AND tablename = ANY(%s) "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint) ORDER BY indexname",
        (list(BIG_TABLES),),
    )
    return [(name, definition) for name, definition in cursor.fetchall()]


def seed_with_copy(url: str, cases: int, rng: random.Random) -> Seeded:
    """People by INSERT, then cases, tags and messages by COPY in batches, indexes after."""
    seeded = Seeded(subject_mark_case=cases // 2 + 1, body_mark_case=cases // 3 + 1)
    now = datetime.now(UTC)
    started = time.perf_counter()
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            seeded.server_version = "PostgreSQL " + str(
                conn.execute(text("SHOW server_version")).scalar()
            )
            seed_people(conn, now)
    finally:
        engine.dispose()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn, conn.cursor() as cursor:
        indexes = _secondary_indexes(cursor)
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        columns = [
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("cases, {task.fields[messages]:,} messages"),
            TimeElapsedColumn(),
        ]
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("COPY", total=cases, messages=0)
            for first in range(1, cases + 1, BATCH):
                last = min(first + BATCH - 1, cases)
                case_rows, tag_rows, message_rows = case_batch(rng, first, last, now, seeded)
                _copy(cursor, "cases", case_rows)
                _copy(cursor, "case_tags", tag_rows)
                _copy(cursor, "messages", message_rows)
                progress.update(task, completed=last, messages=seeded.messages)
        console.print(f"building {len(indexes)} indexes")
        cursor.execute("SET maintenance_work_mem = '1GB'")
        for _, definition in indexes:
            cursor.execute(definition)
        for statement in MOVE_SEQUENCES:
            cursor.execute(statement)
        conn.commit()
        conn.autocommit = True
        cursor.execute("VACUUM ANALYZE")
    seeded.cases = cases
    seeded.seconds = time.perf_counter() - started
    return seeded


@contextmanager
def job_workers(env: dict[str, str], log: Path) -> Iterator[None]:
    """Two `caredesk worker` processes taking the jobs the load queues (mail, SLA, webhooks)."""
    processes = []
    with log.open("wb") as sink:
        for _ in range(JOB_WORKERS):
            processes.append(
                subprocess.Popen(
                    [*CAREDESK, "worker"],
                    env=env,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    try:
        yield
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@dataclass
class Size:
    seeded: Seeded
    # API process count -> the outcomes of the operations, in OPERATIONS order.
    runs: dict[int, list[Outcome]] = field(default_factory=dict)
    peak_rss_mb: dict[int, float] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    queued_left: int = 0


def run_size(cases: int, args: argparse.Namespace) -> Size:
    rng = random.Random(args.seed)
    with (
        database("postgresql", args.pg_url) as url,
        tempfile.TemporaryDirectory(prefix="caredesk-bench-scale-") as tmp,
    ):
        env = server_env(url)
        console.print(f"[bold]{cases:,} cases[/bold]: migrating")
        caredesk(env, "db", "upgrade")
        seeded = seed_with_copy(url, cases, rng)
        console.print(
            f"{cases:,} cases: loaded {seeded.messages:,} messages and {seeded.tags:,} tags "
            f"with COPY in {seeded.seconds:.1f} s"
        )
        headers = admin_headers(env)
        calls = dict(operations(seeded))
        size = Size(seeded)
        with job_workers(env, Path(tmp) / "workers.log"):
            for processes in args.processes:
                log = Path(tmp) / f"server-{processes}.log"
                with serve(env, log, processes) as server:
                    check_search(server, headers, seeded)
                    outcomes = []
                    for name in OPERATIONS:
                        console.print(
                            f"{cases:,} cases, {processes} API process(es): {name} "
                            f"({args.clients} clients, {args.seconds:g} s)"
                        )
                        outcomes.append(drive(name, calls[name], server, headers, args))
                    size.runs[processes] = outcomes
                    size.peak_rss_mb[processes] = peak_rss_mb(server.process.pid)
                size.findings += [f"{processes} API process(es): {f}" for f in log_findings(log)]
            size.findings += [f"job workers: {f}" for f in log_findings(Path(tmp) / "workers.log")]
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                size.queued_left = int(
                    conn.execute(text("SELECT count(*) FROM jobs WHERE state = 'queued'")).scalar()
                    or 0
                )
        finally:
            engine.dispose()
    return size


def table(sizes: list[Size]) -> str:
    lines = [
        "| cases | API processes | operation | requests | errors | req/s | p50 (ms) | p99 (ms) |",
        "|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        for processes, outcomes in size.runs.items():
            for o in outcomes:
                lines.append(f"| {size.seeded.cases:,} | {processes} | {o.name} | {o.cells()} |")
    return "\n".join(lines)


def ratios(small: Size, large: Size) -> str:
    """The largest size against the smallest, per operation and process count."""
    lines = [
        f"{large.seeded.cases:,} cases against {small.seeded.cases:,} (1.0 = no slower; the "
        "goal is at most 1.5):",
        "",
        "| API processes | operation | p50 ratio | p99 ratio | req/s ratio |",
        "|---:|---|---:|---:|---:|",
    ]
    for processes, outcomes in large.runs.items():
        for big, base in zip(outcomes, small.runs.get(processes, []), strict=False):

            def ratio(a: float, b: float) -> str:
                return f"{a / b:.2f}" if b else "-"

            lines.append(
                f"| {processes} | {big.name} | "
                f"{ratio(percentile(big.latencies_ms, 50), percentile(base.latencies_ms, 50))} | "
                f"{ratio(percentile(big.latencies_ms, 99), percentile(base.latencies_ms, 99))} | "
                f"{ratio(big.requests / big.seconds, base.requests / base.seconds)} |"
            )
    return "\n".join(lines)


def notes(sizes: list[Size]) -> str:
    out = []
    for size in sizes:
        s = size.seeded
        rss = ", ".join(f"{p}: {mb:.0f} MB" for p, mb in size.peak_rss_mb.items())
        out.append(
            f"- {s.cases:,} cases ({s.server_version}): {s.messages:,} messages and "
            f"{s.tags:,} tags loaded with COPY, indexes built, analysed in {s.seconds:.0f} s; "
            f"server peak RSS by API processes (the largest process) {rss}; jobs still queued "
            f"at the end {size.queued_left:,}"
        )
        for outcomes in size.runs.values():
            for o in outcomes:
                out.extend(o.failure_notes())
        out.extend(f"  - {finding}" for finding in size.findings)
    return "\n".join(out)


DOCS_INTRO = """## Scale-out on PostgreSQL

Produced by `bench/scale.py`. For each size a fresh PostgreSQL database is migrated and loaded
with `COPY` (the cases of `bench/api.py`'s shape: six statuses, 0 to 3 tags, 1 to 5 messages
each; the big tables' secondary indexes built after the load and the database analysed). Two
`caredesk worker` processes run beside `caredesk serve --workers N`, and {clients} client
threads drive each operation in a closed loop for {seconds:g} s after a {warmup:g} s warm-up.
The clients share the machine's two cores with the servers and the workers, so the figures are
a floor and more API processes than cores cannot add throughput here; what the run shows is
that the answers do not slow down as the desk grows."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default=PG_DEFAULT, help="default: %(default)s")
    parser.add_argument(
        "--cases",
        type=int,
        action="append",
        help="repeatable; sizes to load (default: 10000 and 1000000)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        action="append",
        help="repeatable; API process counts (default: 1, 2 and 4)",
    )
    parser.add_argument("--clients", type=int, default=16, help="default: %(default)s")
    parser.add_argument("--seconds", type=float, default=10.0, help="default: %(default)s")
    parser.add_argument("--warmup", type=float, default=1.0, help="default: %(default)s")
    parser.add_argument("--requests", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=42, help="default: %(default)s")
    add_run_arguments(parser)
    args = parser.parse_args()
    args.cases = sorted(args.cases or [10_000, 1_000_000])
    args.processes = args.processes or [1, 2, 4]
    if min(args.cases) < 10 or min(args.processes) < 1 or args.clients < 1 or args.seconds <= 0:
        parser.error("--cases (at least 10), --processes, --clients and --seconds must be positive")
    conditions = Conditions.begin(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sizes = [run_size(cases, args) for cases in args.cases]
    figures = table(sizes)
    if len(sizes) > 1:
        figures += "\n\n" + ratios(sizes[0], sizes[-1])
    figures += "\n\n" + notes(sizes)
    print(figures)
    if args.write_docs:
        intro = DOCS_INTRO.format(clients=args.clients, seconds=args.seconds, warmup=args.warmup)
        write_section("scale", f"{intro}\n\n{figures}\n\nCommand: `{command_line()}`", conditions)
        console.print("wrote the scale section of docs/benchmarks.md")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        console.print("interrupted; the servers are stopped and the databases are dropped")
        sys.exit(130)
