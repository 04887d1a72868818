"""Benchmark the agent console: time to render its main pages, and the SQL queries each costs.

For each backend: a fresh database, the migrations, then 100,000 open cases (with a message
and tags each, spread over 40 agents and 8 teams) bulk-inserted through SQLAlchemy Core, and
a gold customer with 200 orders and 50 past cases created through the services (the same
generator as bench/policy.py). A lead signs in to the console in process (the ASGI app under
a test client, so the figures are the server's render time without a network), and each page
is drawn again and again: the case page of that customer's newest case (story, customer
panel, orders, past cases, knowledge suggestions, the planner's offers), the queues over
the 100,000 open cases and the approvals page. Prints p50/p99 per page and the SQL
statements one render sends. The lead's dashboard (/reports) is timed report by report in
bench/reports.py.

    python bench/console.py [--backend sqlite|postgresql ...] [--renders N] [--cases N]
                            [--write-docs]
"""

from __future__ import annotations

import argparse
import random
import re
import shlex
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, insert, text

from _common import (
    MOVE_SEQUENCES,
    PG_DEFAULT,
    Conditions,
    add_run_arguments,
    database,
    percentile,
    pg_answers,
    write_section,
)
from api import AGENTS, BATCH, TAGS, TEAMS, seed_people, words
from caredesk.adapters.db import models as m
from caredesk.adapters.db.migrate import upgrade
from caredesk.bootstrap import bootstrap
from caredesk.domain.agents import SYSTEM, Role
from caredesk.services.access import auth
from caredesk.settings import Settings
from caredesk.web.app import create_app
from policy import NOW, FixedClock
from policy import seed as seed_rich_customer

PASSWORD = "bench-console-password"
OPEN = ["new", "open", "open", "open", "pending", "on-hold"]
LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')


def seed_open_cases(url: str, count: int, rng: random.Random) -> float:
    """`count` open cases for bench customers, bulk-inserted; returns the seconds it took."""
    started = time.perf_counter()
    now = NOW
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            seed_people(conn, now)
        for first in range(1, count + 1, BATCH):
            last = min(first + BATCH - 1, count)
            cases: list[dict[str, Any]] = []
            tags: list[dict[str, Any]] = []
            messages: list[dict[str, Any]] = []
            for case_id in range(first, last + 1):
                created = now - timedelta(seconds=rng.randrange(60 * 86400))
                status = rng.choice(OPEN)
                customer = f"cus{rng.randint(1, 4000)}"
                cases.append(
                    {
                        "id": case_id,
                        "subject": words(rng, 3, 8),
                        "customer_id": customer,
                        "status": status,
                        "priority": rng.choice(["low", "normal", "normal", "high", "urgent"]),
                        "channel": "email",
                        "assignee_id": rng.randint(1, AGENTS) if status != "new" else None,
                        "team_id": rng.randint(1, TEAMS),
                        "order_ids": [],
                        "custom_fields": {},
                        "created_at": created,
                        "updated_at": created + timedelta(seconds=rng.randrange(86400)),
                        "solved_at": None,
                        "closed_at": None,
                        "version": 1,
                    }
                )
                tags.extend(
                    {"case_id": case_id, "tag": tag} for tag in sorted(set(rng.sample(TAGS, 2)))
                )
                messages.append(
                    {
                        "id": case_id,
                        "case_id": case_id,
                        "kind": "inbound",
                        "body": words(rng, 15, 60),
                        "author_agent_id": None,
                        "author_customer_id": customer,
                        "created_at": created,
                        "attachments": [],
                    }
                )
            with engine.begin() as conn:
                conn.execute(insert(m.CaseRow), cases)
                conn.execute(insert(m.CaseTagRow), tags)
                conn.execute(insert(m.MessageRow), messages)
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                # Rows came with explicit ids and numbers; move each sequence past them.
                for statement in MOVE_SEQUENCES:
                    conn.execute(text(statement))
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
    finally:
        engine.dispose()
    return time.perf_counter() - started


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def sign_in(client: TestClient, email: str) -> None:
    token = LOGIN_CSRF.search(client.get("/login").text)
    assert token is not None
    response = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "login_csrf": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def run(backend: str, pg_url: str, renders: int, open_cases: int) -> list[dict[str, Any]]:
    rng = random.Random(8)
    with database(backend, pg_url) as url:
        engine = create_engine(url)
        upgrade(engine)
        engine.dispose()
        seed_s = seed_open_cases(url, open_cases, rng)
        settings = Settings(
            database_url=url,
            log_level="warning",
            embedded_worker=False,
            embed_in_background=False,
        )
        container = bootstrap(settings, clock=FixedClock())
        started = time.perf_counter()
        _, case_ids = seed_rich_customer(container, orders=200, past_cases=50)
        seed_s += time.perf_counter() - started
        auth.create_agent(
            container.uow(),
            SYSTEM,
            container.hasher,
            NOW,
            email="lead@bench.example",
            name="Bench Lead",
            role=Role.LEAD,
            password=PASSWORD,
            team_names=["Team 1"],
        )
        pages = {
            "case page (200 orders, 50 past cases)": f"/cases/{case_ids[-1]}",
            "queue: all open": "/queue?view=open",
            "queue: my team": "/queue?view=team",
            "queue: unassigned": "/queue?view=unassigned",
            "queue: tag filter": "/queue?view=open&tag=refund",
            "approvals": "/approvals",
        }
        results = []
        with TestClient(create_app(container=container)) as client:
            sign_in(client, "lead@bench.example")
            for name, path in pages.items():
                for _ in range(3):  # warm the caches a first render fills
                    assert client.get(path).status_code == 200
                with counting(container.engine) as statements:
                    client.get(path)
                queries = len([s for s in statements if s.strip().upper() != "BEGIN"])
                times = []
                for _ in range(renders):
                    begun = time.perf_counter()
                    response = client.get(path)
                    times.append((time.perf_counter() - begun) * 1000)
                    assert response.status_code == 200
                results.append(
                    {
                        "backend": backend,
                        "page": name,
                        "renders": renders,
                        "p50": percentile(times, 50),
                        "p99": percentile(times, 99),
                        "queries": queries,
                        "bytes": len(response.content),
                        "seed_s": seed_s,
                        "cases": open_cases,
                    }
                )
                print(
                    f"{backend:10} {name:40} p50 {results[-1]['p50']:7.1f} ms  "
                    f"p99 {results[-1]['p99']:7.1f} ms  {queries:3} queries",
                    file=sys.stderr,
                )
        container.close()
    return results


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        "| backend | page | renders | p50 (ms) | p99 (ms) | SQL queries | HTML (KB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rows.append(
            f"| {r['backend']} | {r['page']} | {r['renders']} | {r['p50']:.1f} | "
            f"{r['p99']:.1f} | {r['queries']} | {r['bytes'] / 1024:.0f} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--pg-url", default=PG_DEFAULT)
    parser.add_argument("--renders", type=int, default=100)
    parser.add_argument("--cases", type=int, default=100_000)
    add_run_arguments(parser)
    args = parser.parse_args()
    conditions = Conditions.begin(args)
    backends = args.backend or (["sqlite", "postgresql"] if pg_answers() else ["sqlite"])
    results = [r for b in backends for r in run(b, args.pg_url, args.renders, args.cases)]
    print(table(results))
    if args.write_docs:
        command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
        seeded = ", ".join(
            f"{b} {next(r['seed_s'] for r in results if r['backend'] == b):.0f} s" for b in backends
        )
        write_section(
            "console",
            "## Agent console: page render time and SQL queries\n\n"
            f"{args.cases:,} open cases over 40 agents and 8 teams, plus a gold customer "
            "with 200 orders and 50 past cases. A lead's session draws each page in process "
            "(the ASGI app, no network): the case page with the story, the customer panel, "
            "knowledge suggestions (full-text and semantic) and the planner's offers; the "
            "queues over every open case with their live counts; approvals. "
            "SQL queries are the statements one render sends, the check of the session "
            "included, all in one read-only transaction (a test pins them, so a page cannot "
            "grow an N+1); configuration comes from each process's memory under its change "
            "stamps, and the queues' counts read only the index on (status, assignee, team) "
            "(docs/console.md, *What a page costs*).\n\n"
            f"{table(results)}\n\n"
            f"Seeding: {seeded}. "
            f"Command: `{command}`",
            conditions,
        )


if __name__ == "__main__":
    main()
