"""Benchmark the desk archive: `caredesk export desk` and `caredesk import caredesk` at size.

For each source backend: a fresh migrated database with N cases (100,000 by default), one
customer per ten cases, two messages and a tag per case, bulk-inserted; then the whole desk
exported to a .tar (and to a .tar.gz with --gzip), and that archive imported into a fresh
database of the other backend (the same one when only SQLite is at hand). It prints rows
per second each way, the archive's bytes, and the process's peak resident memory after each
step (a maximum since the start: flat from step to step means the step held no table).

    python bench/archive.py [--backend sqlite|postgresql ...] [--cases N] [--gzip]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from _common import PG_DEFAULT, Conditions, database, pg_answers
from caredesk.adapters.db import models as m
from caredesk.adapters.db.migrate import upgrade
from caredesk.bootstrap import Container, bootstrap, export_desk, import_desk
from caredesk.settings import Settings

BATCH = 5000
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BODY = "The parcel arrived without the charger; could you send one? " * 4


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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


def run(source: str, target: str, args: argparse.Namespace, work: Path) -> None:
    suffix = ".tar.gz" if args.gzip else ".tar"
    with database(source, args.pg_url) as source_url, database(target, args.pg_url) as target_url:
        origin, restored = _desk(source_url), _desk(target_url)
        try:
            started = time.perf_counter()
            seed(origin, args.cases)
            print(f"{source}: seeded {args.cases:,} cases in {time.perf_counter() - started:.1f} s")
            path = work / f"{source}{suffix}"
            started = time.perf_counter()
            manifest = export_desk(origin, path)
            seconds = time.perf_counter() - started
            print(
                f"{source} export: {manifest.rows:,} rows in {seconds:.1f} s "
                f"({manifest.rows / seconds:,.0f} rows/s), {path.stat().st_size:,} bytes, "
                f"peak RSS {_peak_mb():.0f} MB"
            )
            started = time.perf_counter()
            import_desk(restored, path)
            seconds = time.perf_counter() - started
            print(
                f"{target} import: {manifest.rows:,} rows in {seconds:.1f} s "
                f"({manifest.rows / seconds:,.0f} rows/s, checks and migration included), "
                f"peak RSS {_peak_mb():.0f} MB"
            )
        finally:
            origin.close()
            restored.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--gzip", action="store_true", help="write .tar.gz archives")
    parser.add_argument("--pg-url", default=PG_DEFAULT)
    args = parser.parse_args()
    Conditions.begin(args)
    backends = args.backend or ["sqlite"] + (["postgresql"] if pg_answers() else [])
    both = pg_answers()
    with tempfile.TemporaryDirectory(prefix="caredesk-archive-bench-") as work:
        for source in backends:
            target = ("postgresql" if source == "sqlite" else "sqlite") if both else source
            run(source, target, args, Path(work))
    print(f"peak RSS of the whole run {_peak_mb():.0f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
