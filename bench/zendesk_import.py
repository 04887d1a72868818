"""Benchmark `caredesk import zendesk` end to end: a desk read through its own /api/v2.

A source desk on SQLite with N cases (2,000 and 20,000 by default; one customer per ten
cases, two messages and a tag per case, bulk-inserted as bench/archive.py does) and an admin with an
API token is served by `caredesk serve` on loopback; `caredesk import zendesk` then reads it
through zenpy (users and tickets by the incremental cursor exports, each ticket's comments)
into a fresh database (PostgreSQL when it answers, else SQLite). The import runs as its own
process: its wall time and peak resident memory are its own. A second run, which finds
everything stored, is timed too. Prints objects a second (users, tickets and comments
stored), tickets a second and the importer's peak memory, one row per size: the cost of a
ticket does not grow with the account and the memory stays flat, so the sizes tell how a
larger account goes (at some 35 tickets a second a 100,000-ticket account takes most of an
hour, longer than `make bench` should; pass `--cases 100000` to run it).

    python bench/zendesk_import.py [--cases N ...] [--target sqlite|postgresql] [--write-docs]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from sqlalchemy import func, select

from _common import PG_DEFAULT, Conditions, add_run_arguments, database, pg_answers, write_section
from archive import CAREDESK, Step, seed
from caredesk.adapters.db import models as m
from caredesk.adapters.db.migrate import upgrade
from caredesk.bootstrap import Container, bootstrap
from caredesk.domain.agents import SYSTEM, Role
from caredesk.services.access import auth
from caredesk.settings import Settings

EMAIL = "bench-admin@caredesk.example"
DEFAULT_SIZES = [2_000, 20_000]
START_SECONDS = 120


@dataclass(frozen=True)
class Run:
    step: Step
    users: int
    tickets: int
    comments: int

    @property
    def objects(self) -> int:
        return self.users + self.tickets + self.comments


def _desk(url: str) -> Container:
    return bootstrap(
        Settings(database_url=url, semantic_search=False, embedded_worker=False, log_json=True)
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _admin_token(container: Container) -> str:
    now = container.clock.now()
    agent = auth.create_agent(
        container.uow(), SYSTEM, container.hasher, now,
        email=EMAIL, name="Bench Admin", role=Role.ADMIN, password=None,
    )  # fmt: skip
    issued = auth.create_token(
        container.uow(), SYSTEM, now, name="bench", role=Role.ADMIN, agent_id=agent.id
    )
    return issued.secret


def _serve(database_url: str, port: int, work: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CAREDESK_DATABASE_URL": database_url,
        "CAREDESK_LOG_LEVEL": "warning",
        "CAREDESK_EMBEDDED_WORKER": "false",
        "CAREDESK_RATE_LIMITS": "false",
    }
    log = (work / "serve.log").open("wb")
    server = subprocess.Popen(
        [str(CAREDESK), "serve", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"caredesk serve stopped:\n{(work / 'serve.log').read_text()[-4000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                return server
        except requests.ConnectionError:
            time.sleep(0.2)
    sys.exit("caredesk serve did not start")


def _import(target_url: str, base_url: str, token: str, work: Path) -> Step:
    env = {
        **os.environ,
        "CAREDESK_DATABASE_URL": target_url,
        "CAREDESK_LOG_LEVEL": "warning",
        "CAREDESK_ZENDESK_TOKEN": token,
    }
    log = work / "import.log"
    arguments = ["import", "zendesk", "--url", base_url, "--email", EMAIL]
    with log.open("wb") as output:
        started = time.perf_counter()
        child = subprocess.Popen(
            [str(CAREDESK), *arguments, "--report", str(work / "report.jsonl")],
            env=env, stdout=output, stderr=output,
        )  # fmt: skip
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
    if status != 0:
        sys.exit(f"caredesk import zendesk failed:\n{log.read_text()[-4000:]}")
    return Step(seconds, usage.ru_maxrss / 1024)


def _stored(target: Container) -> tuple[int, int, int]:
    ids = m.ZendeskImportIdRow
    with target.engine.connect() as conn:
        kinds = dict(conn.execute(select(ids.kind, func.count()).group_by(ids.kind)).all())
        messages = conn.execute(select(func.count()).select_from(m.MessageRow)).scalar_one()
    return kinds.get("user", 0), kinds.get("ticket", 0), int(messages)


def run(cases: int, args: argparse.Namespace, work: Path) -> tuple[Run, Step]:
    target_backend = args.target or ("postgresql" if pg_answers() else "sqlite")
    with database("sqlite") as source_url, database(target_backend, args.pg_url) as target_url:
        source = _desk(source_url)
        try:
            started = time.perf_counter()
            seed(source, cases)
            token = _admin_token(source)
            print(f"source: seeded {cases:,} cases in {time.perf_counter() - started:.1f} s")
        finally:
            source.close()
        target = _desk(target_url)
        try:
            upgrade(target.engine)  # `caredesk db upgrade`, as an operator runs it first
        finally:
            target.close()
        port = _free_port()
        server = _serve(source_url, port, work)
        try:
            base = f"http://127.0.0.1:{port}"
            first = _import(target_url, base, token, work)
            target = _desk(target_url)
            try:
                users, tickets, comments = _stored(target)
            finally:
                target.close()
            again = _import(target_url, base, token, work)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return Run(first, users, tickets, comments), again


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, action="append")
    parser.add_argument("--target", choices=["sqlite", "postgresql"])
    parser.add_argument("--pg-url", default=PG_DEFAULT)
    add_run_arguments(parser)
    args = parser.parse_args()
    conditions = Conditions.begin(args)
    sizes = args.cases or DEFAULT_SIZES
    lines = [
        "| cases | users | tickets | comments | import | objects/s | tickets/s "
        "| importer peak RSS | second run (nothing new) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for cases in sizes:
        with tempfile.TemporaryDirectory(prefix="caredesk-zendesk-bench-") as work:
            done, again = run(cases, args, Path(work))
        seconds = done.step.seconds
        lines.append(
            f"| {cases:,} | {done.users:,} | {done.tickets:,} | {done.comments:,} "
            f"| {seconds:,.0f} s | {done.objects / seconds:,.0f} | {done.tickets / seconds:,.0f} "
            f"| {done.step.peak_mb:,.0f} MB | {again.seconds:,.0f} s, {again.peak_mb:,.0f} MB |"
        )
        print(lines[-1])
    table = "\n".join(lines)
    print(table)
    if args.write_docs:
        command = "python bench/zendesk_import.py" + "".join(
            f" --cases {n}" for n in args.cases or ()
        )
        body = (
            "## Import from Zendesk\n\n"
            "`caredesk import zendesk` reading a desk through its own `/api/v2` (zenpy; the "
            "users' and tickets' incremental cursor exports, one comments request a ticket) "
            "served by `caredesk serve` on loopback from SQLite, into an empty database "
            "(PostgreSQL when one answers). Each ticket is stored in its own transaction with "
            "its comments and its id mapping, and triaged. Objects are users, tickets and "
            "comments stored; the second run starts from the checkpoints the first left, finds "
            "nothing new and stores nothing.\n\n"
            f"{table}\n\n"
            f"Command: `{command} --write-docs`"
        )
        write_section("zendesk-import", body, conditions)


if __name__ == "__main__":
    main()
