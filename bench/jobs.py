"""Benchmark the durable job queue: jobs/s with 1, 2 and 4 worker processes on PostgreSQL.

For each worker count: a fresh migrated database, N jobs bulk-inserted as queued, then that
many `caredesk worker` processes started at once. Each job's handler (registered through
CAREDESK_JOB_PLUGINS from this file) writes one row in its own transaction; the workers
claim jobs in batches (CAREDESK_JOB_BATCH_SIZE, FOR UPDATE SKIP LOCKED) and record a batch's
outcomes with the claim of the next, so a batch of N costs N + 1 transactions. Throughput is
taken from the database's own timestamps, from the first job finished to the last, so process
start-up does not count. Checks that every job ran exactly once (one row each, every job
done, none dead).

    python bench/jobs.py [--jobs N] [--workers 1 --workers 2 ...] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from _common import PG_DEFAULT, Conditions, add_run_arguments, database, pg_answers, write_section
from caredesk.adapters.db import models as m
from caredesk.adapters.db.engine import build_engine
from caredesk.adapters.db.migrate import upgrade
from caredesk.bootstrap import bootstrap, ensure_policy_in_force
from caredesk.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
KIND = "bench.touch"


def register(registry: Any) -> None:
    """The benchmark's handler, loaded by the workers (CAREDESK_JOB_PLUGINS=["jobs:register"])."""
    from caredesk.domain.agents import SYSTEM
    from caredesk.domain.events import Changed

    def touch(ctx: Any, payload: dict[str, Any]) -> None:
        with ctx.uow() as uow:
            # Idempotent like every handler: the row is keyed by the job's number.
            if not uow.audit.for_entity("bench", str(payload["n"])):
                uow.publish(
                    Changed(
                        actor=SYSTEM,
                        at=ctx.clock.now(),
                        action="bench.touched",
                        entity_type="bench",
                        entity_id=payload["n"],
                    )
                )
                uow.commit()

    registry.register(KIND, touch)


@dataclass
class Result:
    workers: int
    jobs: int
    seconds: float
    done: int
    dead: int
    effects: int


def run(workers: int, jobs: int, pg_url: str) -> Result:
    with database("postgresql", pg_url) as url:
        engine = build_engine(url)
        upgrade(engine)
        # Put the policy in force once, as `caredesk db upgrade` and a first start would:
        # workers starting together on an empty database would race to do it.
        container = bootstrap(Settings(database_url=url, semantic_search=False))
        ensure_policy_in_force(container)
        container.close()
        now = datetime.now(UTC)
        with engine.begin() as conn:
            conn.execute(
                insert(m.JobRow),
                [
                    {
                        "kind": KIND, "payload": {"n": n}, "state": "queued", "attempts": 0,
                        "run_at": now, "key": None, "created_at": now, "updated_at": now,
                    }
                    for n in range(jobs)
                ],
            )  # fmt: skip
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "bench"), str(ROOT / "src")]),
            "CAREDESK_DATABASE_URL": url,
            "CAREDESK_JOB_PLUGINS": json.dumps(["jobs:register"]),
            "CAREDESK_WORKER_POLL_SECONDS": "0.05",
            "CAREDESK_SEMANTIC_SEARCH": "false",
            "CAREDESK_LOG_LEVEL": "warning",
            "CAREDESK_DATABASE_POOL_SIZE": "2",
        }
        command = [sys.executable, "-m", "caredesk.cli.main", "worker"]
        processes = [
            subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
            for _ in range(workers)
        ]
        try:
            while True:
                with engine.connect() as conn:
                    left = conn.scalar(
                        select(func.count()).where(m.JobRow.state.in_(["queued", "running"]))
                    )
                if not left:
                    break
                time.sleep(0.5)
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=60)
        with engine.connect() as conn:
            first, last = conn.execute(
                select(func.min(m.JobRow.finished_at), func.max(m.JobRow.finished_at))
            ).one()
            done = conn.scalar(select(func.count()).where(m.JobRow.state == "done")) or 0
            dead = conn.scalar(select(func.count()).where(m.JobRow.state == "dead")) or 0
            effects = (
                conn.scalar(
                    select(func.count(func.distinct(m.AuditEventRow.entity_id))).where(
                        m.AuditEventRow.action == "bench.touched"
                    )
                )
                or 0
            )
            total = conn.scalar(
                select(func.count()).where(m.AuditEventRow.action == "bench.touched")
            )
        engine.dispose()
        assert total == effects == jobs, (total, effects, jobs)
        seconds = (last - first).total_seconds() * jobs / max(jobs - 1, 1)
        return Result(workers, jobs, seconds, done, dead, effects)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--workers", type=int, action="append")
    parser.add_argument("--pg-url", default=PG_DEFAULT)
    add_run_arguments(parser)
    args = parser.parse_args()
    conditions = Conditions.begin(args)
    if not pg_answers():
        sys.exit("bench/jobs.py needs PostgreSQL on 127.0.0.1:5432")
    results = []
    for workers in args.workers or [1, 2, 4]:
        result = run(workers, args.jobs, args.pg_url)
        print(
            f"{workers} worker(s): {result.jobs} jobs in {result.seconds:.1f} s "
            f"= {result.jobs / result.seconds:.0f} jobs/s",
            file=sys.stderr,
        )
        results.append(result)
    lines = [
        "| worker processes | jobs | seconds | jobs/s | done | dead | effects (once each) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.workers} | {r.jobs:,} | {r.seconds:.1f} | {r.jobs / r.seconds:,.0f} "
            f"| {r.done:,} | {r.dead} | {r.effects:,} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.write_docs:
        command = "python bench/jobs.py" + (f" --jobs {args.jobs}" if args.jobs != 5000 else "")
        body = (
            "## Job queue\n\n"
            "`caredesk worker` processes on PostgreSQL claiming from one queue in batches "
            "with `FOR UPDATE SKIP LOCKED` (the default batch size); each job's handler "
            "writes one row in its own transaction, and each batch's outcomes are recorded "
            "with the next batch's claim (N + 1 transactions a batch of N). Jobs/s from "
            "the first job finished to the last.\n\n"
            f"{table}\n\n"
            f"Command: `{command} --write-docs`"
        )
        write_section("jobs", body, conditions)


if __name__ == "__main__":
    main()
