"""Benchmark the desk archive: `caredesk export desk` and `caredesk import caredesk` at size.

For each source backend: a fresh migrated database with N cases (100,000 by default), one
customer per ten cases, two messages and a tag per case, bulk-inserted; then the whole desk
exported to a .tar (and to a .tar.gz with --gzip) by `caredesk export desk`, and that archive
imported into a fresh database of the other backend (the same one when only SQLite is at
hand) by `caredesk import caredesk`. Each step runs as its own process, as an operator runs
it, so that its peak resident memory (from the kernel's accounting of that process) is the
step's alone. It prints rows per second each way, the archive's bytes and each step's peak.

    python bench/archive.py [--backend sqlite|postgresql ...] [--cases N] [--gzip] [--write-docs]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from _common import PG_DEFAULT, Conditions, add_run_arguments, database, pg_answers, write_section
from caredesk.adapters.db import models as m
from caredesk.adapters.db.archive_format import MANIFEST, Manifest
from caredesk.adapters.db.migrate import upgrade
from caredesk.bootstrap import Container, bootstrap
from caredesk.settings import Settings

BATCH = 5000
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BODY = "The parcel arrived without the charger; could you send one? " * 4


CAREDESK = Path(sys.executable).with_name("caredesk")


@dataclass(frozen=True)
class Step:
    seconds: float
    peak_mb: float


@dataclass(frozen=True)
class Result:
    source: str
    target: str
    rows: int
    archive_bytes: int
    export: Step
    restore: Step


def run_step(database_url: str, *arguments: str, work: Path) -> Step:
    """One `caredesk` command as its own process: its wall time and its peak resident memory
    (ru_maxrss of that child alone, from wait4)."""
    env = {**os.environ, "CAREDESK_DATABASE_URL": database_url, "CAREDESK_LOG_LEVEL": "warning"}
    log = work / "step.log"
    with log.open("wb") as output:
        started = time.perf_counter()
        child = subprocess.Popen([str(CAREDESK), *arguments], env=env, stdout=output, stderr=output)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
    if status != 0:
        sys.exit(f"caredesk {' '.join(arguments)} failed:\n{log.read_text()[-4000:]}")
    return Step(seconds, usage.ru_maxrss / 1024)


def archived_rows(path: Path) -> int:
    with tarfile.open(path) as tar:
        member = tar.extractfile(MANIFEST)
        assert member is not None
        return Manifest.parse(member.read()).rows


def _desk(url: str) -> Container:
    return bootstrap(
        Settings(database_url=url, semantic_search=False, embedded_worker=False, log_json=True)
    )


def seed(container: Container, cases: int) -> None:
    upgrade(container.engine)
    customers = max(1, cases // 10)
    with container.engine.begin() as conn:
        for first in range(1, customers + 1, BATCH):
            conn.execute(
                insert(m.CustomerRow),
                [
                    {
                        "id": f"cus{c}", "seq": c, "first_name": "Bench", "last_name": f"C{c}",
                        "name_key": f"bench c{c}", "phones": [], "addresses": [],
                        "tier": "standard", "membership": None, "created_at": NOW,
                        "updated_at": NOW, "version": 1,
                    }
                    for c in range(first, min(first + BATCH, customers + 1))
                ],
            )  # fmt: skip
        for first in range(1, cases + 1, BATCH):
            ids = range(first, min(first + BATCH, cases + 1))
            case_rows: list[dict[str, Any]] = [
                {
                    "id": n, "subject": f"Missing charger {n}",
                    "customer_id": f"cus{n % customers + 1}",
                    "status": "open", "priority": "normal", "channel": "email", "order_ids": [],
                    "custom_fields": {}, "created_at": NOW, "updated_at": NOW, "version": 1,
                }
                for n in ids
            ]  # fmt: skip
            conn.execute(insert(m.CaseRow), case_rows)
            conn.execute(insert(m.CaseTagRow), [{"case_id": n, "tag": "bench"} for n in ids])
            conn.execute(
                insert(m.MessageRow),
                [
                    {
                        "case_id": n, "kind": kind, "body": BODY, "created_at": NOW,
                        "attachments": [],
                    }
                    for n in ids
                    for kind in ("inbound", "outbound")
                ],
            )  # fmt: skip


def run(source: str, target: str, args: argparse.Namespace, work: Path) -> Result:
    suffix = ".tar.gz" if args.gzip else ".tar"
    with database(source, args.pg_url) as source_url, database(target, args.pg_url) as target_url:
        origin = _desk(source_url)
        try:
            started = time.perf_counter()
            seed(origin, args.cases)
            print(f"{source}: seeded {args.cases:,} cases in {time.perf_counter() - started:.1f} s")
        finally:
            origin.close()
        path = work / f"{source}{suffix}"
        exported = run_step(source_url, "export", "desk", str(path), work=work)
        rows = archived_rows(path)
        print(
            f"{source} export: {rows:,} rows in {exported.seconds:.1f} s "
            f"({rows / exported.seconds:,.0f} rows/s), {path.stat().st_size:,} bytes, "
            f"peak RSS {exported.peak_mb:.0f} MB"
        )
        # `import caredesk` migrates the empty target itself and checks every checksum first.
        restored = run_step(target_url, "import", "caredesk", str(path), work=work)
        print(
            f"{target} import: {rows:,} rows in {restored.seconds:.1f} s "
            f"({rows / restored.seconds:,.0f} rows/s, checks and migration included), "
            f"peak RSS {restored.peak_mb:.0f} MB"
        )
        return Result(source, target, rows, path.stat().st_size, exported, restored)


def table(results: list[Result], cases: int) -> str:
    lines = [
        "| from → to | cases | rows | archive | export rows/s | export peak RSS "
        "| import rows/s | import peak RSS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.source} → {r.target} | {cases:,} | {r.rows:,} "
            f"| {r.archive_bytes / 1e6:,.0f} MB "
            f"| {r.rows / r.export.seconds:,.0f} ({r.export.seconds:.0f} s) "
            f"| {r.export.peak_mb:,.0f} MB "
            f"| {r.rows / r.restore.seconds:,.0f} ({r.restore.seconds:.0f} s) "
            f"| {r.restore.peak_mb:,.0f} MB |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--gzip", action="store_true", help="write .tar.gz archives")
    parser.add_argument("--pg-url", default=PG_DEFAULT)
    add_run_arguments(parser)
    args = parser.parse_args()
    conditions = Conditions.begin(args)
    backends = args.backend or ["sqlite"] + (["postgresql"] if pg_answers() else [])
    both = pg_answers()
    results = []
    with tempfile.TemporaryDirectory(prefix="caredesk-archive-bench-") as work:
        for source in backends:
            target = ("postgresql" if source == "sqlite" else "sqlite") if both else source
            results.append(run(source, target, args, Path(work)))
    shown = table(results, args.cases)
    print(shown)
    if args.write_docs:
        command = "python bench/archive.py" + (
            f" --cases {args.cases}" if args.cases != 100_000 else ""
        )
        body = (
            "## Desk archive: export and import\n\n"
            "`caredesk export desk` writes the whole desk as a JSON Lines archive with a "
            "manifest and checksums; `caredesk import caredesk` restores it into an empty "
            "database of the other backend (docs/operations.md). Cases with two messages and a "
            "tag each, one customer per ten cases; rows are every row of every table. Each "
            "step is its own process: its peak resident memory is its own, and it stays flat "
            "as the desk grows because both sides stream in batches.\n\n"
            f"{shown}\n\n"
            f"Command: `{command} --write-docs`"
        )
        write_section("archive", body, conditions)


if __name__ == "__main__":
    main()
