"""Benchmark SLA computation: every open case's clocks worked out again in one scan.

For each backend: a fresh migrated database, a business calendar (Europe/Berlin, weekday
hours, holidays), four SLA policies matched by tier and priority, and N open cases (100,000
by default) with their first-reply and resolution clocks, a third of them with a pause
behind them, bulk-inserted. Then, through the services as the worker runs them:

- recompute: `sla.recompute_open_cases`, which reads every open case, chooses its policy
  and works each clock's due and warning times out again in business hours, and stores
  them (what editing a policy or a calendar triggers);
- scan: `sla.scan`, the worker's timer, recording the warnings and breaches that came due
  (each an audit event) at a moment when many have;
- read: every open clock read as the case page shows it (status, elapsed, remaining).

    python bench/sla.py [--backend sqlite|postgresql ...] [--cases N] [--write-docs]
"""

from __future__ import annotations

import argparse
import platform
import random
import resource
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from _common import PG_DEFAULT, Conditions, add_run_arguments, database, pg_answers, write_section
from caredesk.adapters.db import models as m
from caredesk.adapters.db.migrate import upgrade
from caredesk.bootstrap import bootstrap
from caredesk.domain.agents import SYSTEM
from caredesk.domain.sla import read_clock
from caredesk.services.sla import sla
from caredesk.settings import Settings

CUSTOMERS = 2000
BATCH = 5000
NOW = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)  # the day after Berlin's spring switch


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


@dataclass
class Result:
    backend: str
    cases: int
    clocks: int
    seed_s: float
    recompute_s: float
    scan_s: float
    recorded: int
    read_s: float
    peak_mb: float


def seed(container: Any, cases: int, rng: random.Random) -> int:
    now = NOW
    uow = container.uow
    calendar = sla.create_calendar(
        uow(),
        SYSTEM,
        now,
        name="Berlin office",
        timezone="Europe/Berlin",
        hours={d: ["08:00-12:00", "13:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        holidays=["2026-04-03", "2026-04-06", "2026-05-01"],
    )
    for name, targets, match, position in (
        ("Urgent", {"first_reply": 30, "resolution": 480}, {"priorities": ["urgent"]}, 10),
        (
            "Gold",
            {"first_reply": 60, "next_reply": 120, "resolution": 960},
            {"tiers": ["gold"]},
            20,
        ),
        ("High", {"first_reply": 120, "resolution": 1440}, {"priorities": ["high"]}, 30),
        ("Standard", {"first_reply": 480, "resolution": 2880}, {}, 100),
    ):
        sla.create_policy(
            uow(), SYSTEM, now, name=name, targets=targets, calendar_id=calendar.id,
            match=match, position=position,
        )  # fmt: skip
    with container.engine.begin() as conn:
        conn.execute(
            insert(m.CustomerRow),
            [
                {
                    "id": f"cus{c}", "seq": c, "first_name": "Bench", "last_name": f"C{c}",
                    "name_key": f"bench c{c}", "phones": [], "addresses": [],
                    "tier": "gold" if c % 10 == 0 else "standard", "membership": None,
                    "created_at": now, "updated_at": now, "version": 1,
                }
                for c in range(1, CUSTOMERS + 1)
            ],
        )  # fmt: skip
    clocks = 0
    for first in range(1, cases + 1, BATCH):
        case_rows: list[dict[str, Any]] = []
        clock_rows: list[dict[str, Any]] = []
        for case_id in range(first, min(first + BATCH, cases + 1)):
            created = now - timedelta(minutes=rng.randrange(14 * 24 * 60))
            priority = rng.choices(["low", "normal", "high", "urgent"], [2, 6, 2, 1])[0]
            case_rows.append(
                {
                    "id": case_id, "subject": "Bench case", "status": "open",
                    "customer_id": f"cus{rng.randint(1, CUSTOMERS)}", "priority": priority,
                    "channel": "email", "assignee_id": None, "team_id": None,
                    "order_ids": [], "custom_fields": {}, "created_at": created,
                    "updated_at": created, "solved_at": None, "closed_at": None,
                    "service_level": None, "version": 1,
                }
            )  # fmt: skip
            segments: list[list[str]] = []
            running = created
            if rng.random() < 0.33:
                # Pending on the customer for a while, then answered.
                paused = created + timedelta(minutes=rng.randrange(1, 600))
                resumed = paused + timedelta(minutes=rng.randrange(1, 3000))
                if resumed < now:
                    segments = [[created.isoformat(), paused.isoformat()]]
                    running = resumed
            for metric in ("first_reply", "resolution"):
                clock_rows.append(
                    {
                        "case_id": case_id, "metric": metric, "cycle": 1,
                        "started_at": created, "segments": segments, "running_since": running,
                        "completed_at": None, "policy_id": None, "target_minutes": None,
                        "warn_percent": 75, "elapsed_us": 0, "warn_at": None, "due_at": None,
                        "warned_at": None, "breached_at": None,
                    }
                )  # fmt: skip
        with container.engine.begin() as conn:
            conn.execute(insert(m.CaseRow), case_rows)
            conn.execute(insert(m.SlaClockRow), clock_rows)
        clocks += len(clock_rows)
    return clocks


def run(backend: str, args: argparse.Namespace) -> Result:
    with database(backend, args.pg_url) as url:
        clock = FixedClock(NOW)
        container = bootstrap(
            Settings(database_url=url, semantic_search=False, log_json=False), clock=clock
        )
        try:
            upgrade(container.engine)
            started = time.perf_counter()
            clocks = seed(container, args.cases, random.Random(7))
            seed_s = time.perf_counter() - started
            print(f"{backend}: seeded {args.cases} cases, {clocks} clocks", file=sys.stderr)
            ctx = container.job_context()

            started = time.perf_counter()
            done = sla.recompute_open_cases(ctx)
            recompute_s = time.perf_counter() - started
            assert done == args.cases, done

            # A day later, many more warnings and breaches have come due for the timer.
            clock.current = NOW + timedelta(days=1)
            started = time.perf_counter()
            recorded = sla.scan(ctx)
            scan_s = time.perf_counter() - started

            started = time.perf_counter()
            with container.uow.read_only() as uow:
                resolver_calendar = uow.sla.get_calendar(1)
                assert resolver_calendar is not None
                readings = 0
                for batch in uow.sla.iterate_open_clocks(BATCH):
                    for c in batch:
                        read_clock(c, resolver_calendar, clock.current)
                        readings += 1
            read_s = time.perf_counter() - started
            assert readings == clocks
        finally:
            container.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Result(backend, args.cases, clocks, seed_s, recompute_s, scan_s, recorded, read_s, peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--pg-url", default=PG_DEFAULT)
    add_run_arguments(parser)
    args = parser.parse_args()
    conditions = Conditions.begin(args)
    backends = args.backend or ["sqlite"] + (["postgresql"] if pg_answers() else [])
    results = [run(b, args) for b in backends]
    lines = [
        "| backend | open cases | clocks | recompute all (s) | cases/s | scan (s) "
        "| warnings+breaches recorded | read all clocks (s) | clocks/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.backend} | {r.cases:,} | {r.clocks:,} | {r.recompute_s:.1f} "
            f"| {r.cases / r.recompute_s:,.0f} | {r.scan_s:.1f} | {r.recorded:,} "
            f"| {r.read_s:.1f} | {r.clocks / r.read_s:,.0f} |"
        )
    table = "\n".join(lines)
    print(table)
    for r in results:
        print(f"{r.backend}: seeded in {r.seed_s:.0f} s; peak RSS {r.peak_mb:.0f} MB")
    if args.write_docs:
        command = "python bench/sla.py" + (
            f" --cases {args.cases}" if args.cases != 100_000 else ""
        )
        body = (
            "## SLA clocks\n\n"
            "Open cases, each with a first-reply and a resolution clock (a third paused "
            "once), under four policies counted in a Berlin business calendar (two spans a "
            "weekday, holidays), at noon the day after the spring switch (the scan a day "
            "later). *Recompute all* is "
            "one pass of `sla.recompute_open_cases` (the job a policy or calendar edit "
            "queues): read each case, choose its policy, work out both clocks' due and "
            "warning times, store them. *Scan* is the worker's `sla.scan` timer recording "
            "every warning and breach that came due, each with its audit event. *Read* "
            "works out every open clock as the case page shows it.\n\n"
            f"{table}\n\n"
            + "\n".join(f"- {r.backend}: seeded in {r.seed_s:.0f} s" for r in results)
            + f"\n\nMachine: {_cores()} cores, Python {platform.python_version()}. "
            f"Command: `{command} --write-docs`"
        )
        write_section("sla", body, conditions)


def _cores() -> int:
    import os

    return os.cpu_count() or 1


if __name__ == "__main__":
    main()
