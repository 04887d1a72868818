"""Benchmark the REST API over real HTTP on loopback, on SQLite and PostgreSQL.

For each backend: a fresh database, `caredesk db upgrade`, then 100,000 cases with their
messages, tags and a few thousand customers bulk-inserted through SQLAlchemy Core (the
migrations' full-text triggers and indexes index them; the script checks that search finds
them). `caredesk serve` then runs as a subprocess on a free loopback port and several
concurrent clients drive it in a closed loop, one operation at a time, each for a fixed
time: create case, add message, get case, filtered lists and full-text search. Prints
requests, errors, throughput and p50/p99 latency per operation, the server's CPU per
request and peak memory, and the seed time. Everything stops and cleans up by itself.

    python bench/api.py [--backend sqlite|postgresql ...] [--cases N] [--clients N]
                        [--seconds S] [--requests N] [--write-docs]
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import os
import random
import re
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy import Connection, create_engine, insert, text

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
from caredesk.adapters.db import models as m

ROOT = Path(__file__).resolve().parent.parent
CAREDESK = [sys.executable, "-m", "caredesk.cli.main"]
console = Console(stderr=True)

CUSTOMERS, AGENTS, TEAMS = 4000, 40, 8
BATCH = 5000
REQUEST_TIMEOUT = 30.0

# Weighted the way a busy desk looks: most history is closed, the live queue is smaller.
STATUSES = {"new": 8, "open": 25, "pending": 12, "on-hold": 5, "solved": 15, "closed": 35}
PRIORITIES = {"low": 15, "normal": 60, "high": 20, "urgent": 5}
CHANNELS = {"email": 50, "portal": 15, "chat": 15, "phone": 10, "api": 10}
# Tags from common to rare (Zipf-like weights), so filters meet both kinds.
TAGS = [
    "refund",
    "late-delivery",
    "damaged",
    "wrong-item",
    "billing",
    "return",
    "exchange",
    "warranty",
    "address-change",
    "cancel",
    "vip",
    "feedback",
    "review-threat",
    "chargeback-risk",
]
TAG_WEIGHTS = [1 / (rank + 1) for rank in range(len(TAGS))]
TAGS_PER_CASE = {0: 40, 1: 35, 2: 20, 3: 5}
MESSAGES_PER_CASE = {1: 35, 2: 30, 3: 20, 4: 10, 5: 5}
_WORDS = """
order parcel refund delivery item package return charge late broken received still
shipping tracking address payment card account week days replacement damaged wrong
size colour email number help please thanks missing arrived box label courier store
credit invoice price discount code subscription cancel exchange warranty battery screen
cable charger printer laptop phone headphones speaker camera watch jacket shoes shirt
dress table chair lamp blender kettle mattress pillow stroller toy gift birthday wedding
baby holiday weekend morning yesterday today tomorrow month again already never still
waiting asked called chat told promised expected supposed ordered paid twice double
missing cracked scratched leaking noisy faulty stopped working dead unusable smell stain
torn loose bent melted frozen slow fast quick urgent disappointed frustrated happy
loyal customer years review post manager supervisor complaint bank dispute chargeback
membership gold premium points voucher coupon promotion sale clearance stock backorder
preorder reserve pickup locker neighbour porch doorstep signature driver van depot
customs duty tax import abroad overseas international express standard tracking number
"""
# Most common first: the weights below fall with rank.
VOCABULARY = list(dict.fromkeys(_WORDS.split()))
WORD_WEIGHTS = list(itertools.accumulate(1 / (rank + 1) ** 0.9 for rank in range(len(VOCABULARY))))
# Two words that occur once each, to prove that search sees bulk-inserted rows.
SUBJECT_MARK, BODY_MARK = "zqxsubjectmark", "zqxbodymark"


def weighted(options: dict[Any, int]) -> tuple[list[Any], list[int]]:
    return list(options), list(itertools.accumulate(options.values()))


STATUS_PICK, PRIORITY_PICK, CHANNEL_PICK = (
    weighted(STATUSES),
    weighted(PRIORITIES),
    weighted(CHANNELS),
)
TAG_COUNT_PICK, MESSAGE_COUNT_PICK = weighted(TAGS_PER_CASE), weighted(MESSAGES_PER_CASE)


def pick(rng: random.Random, choice: tuple[list[Any], list[int]]) -> Any:
    values, cumulative = choice
    return values[bisect.bisect(cumulative, rng.random() * cumulative[-1])]


def words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choices(VOCABULARY, cum_weights=WORD_WEIGHTS, k=rng.randint(low, high)))


# --- seeding -------------------------------------------------------------------------------


@dataclass
class Seeded:
    cases: int = 0
    messages: int = 0
    tags: int = 0
    customers: int = CUSTOMERS
    seconds: float = 0.0
    # Cases that still take replies (a closed case refuses them).
    open_ids: list[int] = field(default_factory=list)
    subject_mark_case: int = 0
    body_mark_case: int = 0
    server_version: str = ""


def seed_people(conn: Connection, now: datetime) -> None:
    conn.execute(insert(m.TeamRow), [{"id": t, "name": f"Team {t}"} for t in range(1, TEAMS + 1)])
    conn.execute(
        insert(m.AgentRow),
        [
            {
                "id": a,
                "email": f"agent{a}@bench.example",
                "name": f"Agent {a}",
                "role": "lead" if a % 10 == 0 else "agent",
                "password_hash": None,
                "active": True,
                "created_at": now,
            }
            for a in range(1, AGENTS + 1)
        ],
    )
    conn.execute(
        insert(m.AgentTeamRow),
        [{"agent_id": a, "team_id": (a - 1) % TEAMS + 1} for a in range(1, AGENTS + 1)],
    )
    conn.execute(
        insert(m.CustomerRow),
        [
            {
                "id": f"cus{c}",
                "seq": c,
                "first_name": "Bench",
                "last_name": f"Customer{c}",
                "name_key": f"bench customer{c}",
                "phones": [],
                "addresses": [],
                "tier": "gold" if c % 20 == 0 else "standard",
                "membership": None,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
            for c in range(1, CUSTOMERS + 1)
        ],
    )
    conn.execute(
        insert(m.CustomerEmailRow),
        [
            {"email": f"customer{c}@bench.example", "customer_id": f"cus{c}", "position": 0}
            for c in range(1, CUSTOMERS + 1)
        ],
    )


def case_batch(
    rng: random.Random, first: int, last: int, now: datetime, seeded: Seeded
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    cases: list[dict[str, Any]] = []
    tags: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for case_id in range(first, last + 1):
        created = now - timedelta(seconds=rng.randrange(365 * 86400))
        updated = min(now, created + timedelta(seconds=rng.randrange(14 * 86400)))
        status = pick(rng, STATUS_PICK)
        subject = words(rng, 3, 8)
        if case_id == seeded.subject_mark_case:
            subject += f" {SUBJECT_MARK}"
        customer = f"cus{rng.randint(1, CUSTOMERS)}"
        cases.append(
            {
                "id": case_id,
                "subject": subject,
                "customer_id": customer,
                "status": status,
                "priority": pick(rng, PRIORITY_PICK),
                "channel": pick(rng, CHANNEL_PICK),
                "assignee_id": (
                    rng.randint(1, AGENTS) if status != "new" and rng.random() < 0.85 else None
                ),
                "team_id": rng.randint(1, TEAMS) if rng.random() < 0.95 else None,
                "order_ids": [],
                "custom_fields": {},
                "created_at": created,
                "updated_at": updated,
                "solved_at": updated if status in ("solved", "closed") else None,
                "closed_at": updated if status == "closed" else None,
                "version": 1,
            }
        )
        if status != "closed":
            seeded.open_ids.append(case_id)
        chosen = {
            TAGS[i]
            for i in rng.choices(range(len(TAGS)), weights=TAG_WEIGHTS, k=pick(rng, TAG_COUNT_PICK))
        }
        tags.extend({"case_id": case_id, "tag": tag} for tag in sorted(chosen))
        count = pick(rng, MESSAGE_COUNT_PICK)
        step = (updated - created) / count
        for k in range(count):
            seeded.messages += 1
            kind = "inbound" if k % 2 == 0 else ("note" if rng.random() < 0.15 else "outbound")
            body = words(rng, 15, 80)
            if case_id == seeded.body_mark_case and k == 0:
                body += f" {BODY_MARK}"
            messages.append(
                {
                    "id": seeded.messages,
                    "case_id": case_id,
                    "kind": kind,
                    "body": body,
                    "author_agent_id": None if kind == "inbound" else rng.randint(1, AGENTS),
                    "author_customer_id": customer if kind == "inbound" else None,
                    "created_at": created + step * k,
                    "attachments": [],
                }
            )
    seeded.tags += len(tags)
    return cases, tags, messages


def seed(url: str, cases: int, rng: random.Random) -> Seeded:
    """Bulk-insert people, then `cases` cases with their tags and messages, in batches."""
    seeded = Seeded(subject_mark_case=cases // 2 + 1, body_mark_case=cases // 3 + 1)
    now = datetime.now(UTC)
    engine = create_engine(url)
    started = time.perf_counter()
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                seeded.server_version = f"SQLite {sqlite3.sqlite_version}"
            else:
                seeded.server_version = "PostgreSQL " + str(
                    conn.execute(text("SHOW server_version")).scalar()
                )
            seed_people(conn, now)
        columns = [
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("cases, {task.fields[messages]:,} messages"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        ]
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task(f"seeding {engine.dialect.name}", total=cases, messages=0)
            for first in range(1, cases + 1, BATCH):
                last = min(first + BATCH - 1, cases)
                case_rows, tag_rows, message_rows = case_batch(rng, first, last, now, seeded)
                with engine.begin() as conn:
                    conn.execute(insert(m.CaseRow), case_rows)
                    if tag_rows:
                        conn.execute(insert(m.CaseTagRow), tag_rows)
                    conn.execute(insert(m.MessageRow), message_rows)
                progress.update(task, completed=last, messages=seeded.messages)
        seeded.cases = cases
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                # Rows came with explicit ids and numbers; move each sequence past them.
                for statement in MOVE_SEQUENCES:
                    conn.execute(text(statement))
            # Autovacuum would analyse these tables within a minute of such a load anyway.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
    finally:
        engine.dispose()
    seeded.seconds = time.perf_counter() - started
    return seeded


# --- the server ----------------------------------------------------------------------------


def caredesk(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([*CAREDESK, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"caredesk {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _stat(pid: int) -> list[str]:
    """The fields of /proc/pid/stat after the command name (field 3 onwards)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def family(pid: int) -> list[int]:
    """The process and its descendants (a server's worker processes)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            parents[int(entry.name)] = int(fields[1])
    found, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time so far (fields 14 and 15 of /proc/pid/stat) of the process
    and its descendants."""
    ticks = 0
    for member in family(pid):
        fields = _stat(member)
        if fields:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """The largest peak resident set of the process and its descendants, in MB."""
    return max(proc_status_kb(member, "VmHWM") for member in family(pid)) / 1024


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    log: Path


@contextmanager
def serve(env: dict[str, str], log: Path, workers: int = 1) -> Iterator[Server]:
    port = free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*CAREDESK, "serve", "--host", "127.0.0.1", "--port", str(port)]
            + (["--workers", str(workers)] if workers > 1 else []),
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C reaches the benchmark, which then stops the server.
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the server exited ({process.returncode}):\n{log.read_text()}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not answer /healthz in 60 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield Server(process, base, log)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def log_findings(log: Path) -> list[str]:
    """What the server said under load: tracebacks, lock waits, error lines."""
    lines = log.read_text(errors="replace").splitlines()
    found = []
    tracebacks = sum(1 for line in lines if line.startswith("Traceback"))
    if tracebacks:
        found.append(f"{tracebacks} tracebacks in the server log")
    locked = sum(1 for line in lines if "database is locked" in line)
    if locked:
        found.append(f"{locked} 'database is locked' lines in the server log")
    errors = [line for line in lines if re.search(r"\b(error|critical)\b", line, re.I)]
    if errors:
        found.append(f"{len(errors)} error lines in the server log, first: {errors[0][:300]}")
    return found


# --- the load ------------------------------------------------------------------------------


Call = Callable[[httpx.Client, random.Random], httpx.Response]


@dataclass
class Outcome:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    server_cpu: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def errors(self) -> int:
        return sum(self.failures.values())

    def cells(self) -> str:
        """Its table cells: requests, errors, req/s, p50 and p99 (ms)."""
        return (
            f"{self.requests} | {self.errors} | {self.requests / self.seconds:.0f} | "
            f"{percentile(self.latencies_ms, 50):.1f} | {percentile(self.latencies_ms, 99):.1f}"
        )

    def failure_notes(self) -> list[str]:
        """One note per kind of failure, with a sample of what the server answered."""
        return [
            f"  - {self.name}: {count} x {failure}: `{self.samples[failure][:200]}`"
            for failure, count in self.failures.most_common()
        ]


def drive(
    name: str, call: Call, server: Server, headers: dict[str, str], args: argparse.Namespace
) -> Outcome:
    """`args.clients` threads, each sending its next request as soon as the last one returns."""
    outcome = Outcome(name)
    lock = threading.Lock()
    stop = threading.Event()
    budget = itertools.count()
    window: dict[str, float] = {}
    pid = server.process.pid

    def open_window() -> None:
        window["start"] = time.perf_counter()
        window["deadline"] = window["start"] + args.seconds
        window["cpu"] = cpu_seconds(pid)

    ready = threading.Barrier(args.clients + 1, action=open_window)

    def client(index: int) -> None:
        rng = random.Random(f"{args.seed}:{name}:{index}")
        with httpx.Client(base_url=server.base, headers=headers, timeout=REQUEST_TIMEOUT) as http:
            warm_until = time.perf_counter() + args.warmup
            while time.perf_counter() < warm_until and not stop.is_set():
                with suppress(httpx.HTTPError):
                    call(http, rng)
            try:
                ready.wait(timeout=args.warmup + 2 * REQUEST_TIMEOUT)
            except threading.BrokenBarrierError:
                return
            while not stop.is_set() and time.perf_counter() < window["deadline"]:
                if args.requests and next(budget) >= args.requests:
                    break
                failure = detail = ""
                started = time.perf_counter()
                try:
                    response = call(http, rng)
                    if not 200 <= response.status_code < 300:
                        failure, detail = str(response.status_code), response.text[:300]
                except httpx.HTTPError as exc:
                    failure, detail = type(exc).__name__, str(exc)[:300]
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    outcome.latencies_ms.append(elapsed)
                    if failure:
                        outcome.failures[failure] += 1
                        outcome.samples.setdefault(failure, detail)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(args.clients)]
    for thread in threads:
        thread.start()
    try:
        ready.wait(timeout=args.warmup + 2 * REQUEST_TIMEOUT)
        for thread in threads:
            thread.join()
    except BaseException:
        stop.set()
        ready.abort()
        for thread in threads:
            thread.join(timeout=REQUEST_TIMEOUT)
        raise
    outcome.seconds = time.perf_counter() - window["start"]
    outcome.server_cpu = cpu_seconds(pid) - window["cpu"]
    return outcome


def operations(seeded: Seeded) -> list[tuple[str, Call]]:
    rare_tag = TAGS[-1]

    def create_case(c: httpx.Client, r: random.Random) -> httpx.Response:
        return c.post(
            "/api/v1/cases",
            json={
                "customer_id": f"cus{r.randint(1, CUSTOMERS)}",
                "subject": words(r, 3, 8),
                "body": words(r, 15, 80),
                "channel": pick(r, CHANNEL_PICK),
                "priority": pick(r, PRIORITY_PICK),
                "team_id": r.randint(1, TEAMS),
                "assignee_id": r.randint(1, AGENTS),
                "tags": sorted({TAGS[i] for i in r.choices(range(len(TAGS)), k=2)}),
            },
        )

    def add_message(c: httpx.Client, r: random.Random) -> httpx.Response:
        return c.post(
            f"/api/v1/cases/{r.choice(seeded.open_ids)}/messages",
            json={"kind": r.choice(["outbound", "inbound"]), "body": words(r, 15, 80)},
        )

    def get_case(c: httpx.Client, r: random.Random) -> httpx.Response:
        return c.get(f"/api/v1/cases/{r.randint(1, seeded.cases)}")

    def list_status_team(c: httpx.Client, r: random.Random) -> httpx.Response:
        return c.get(
            "/api/v1/cases", params={"status": "open", "team_id": r.randint(1, TEAMS), "limit": 50}
        )

    def list_tag(c: httpx.Client, r: random.Random) -> httpx.Response:
        return c.get("/api/v1/cases", params={"tag": r.choice(TAGS), "limit": 50})

    def list_rare_tag(c: httpx.Client, r: random.Random) -> httpx.Response:
        return c.get("/api/v1/cases", params={"tag": rare_tag, "status": "open", "limit": 50})

    def search(c: httpx.Client, r: random.Random) -> httpx.Response:
        return c.get("/api/v1/cases", params={"q": r.choice(VOCABULARY), "limit": 20})

    return [
        ("create case", create_case),
        ("add message", add_message),
        ("get case", get_case),
        ("list status=open&team_id", list_status_team),
        ("list tag (any of 14)", list_tag),
        (f"list tag={rare_tag}&status=open", list_rare_tag),
        ("full-text search (1 word)", search),
    ]


def check_search(server: Server, headers: dict[str, str], seeded: Seeded) -> None:
    """Bulk-inserted rows must be searchable: the FTS triggers or GIN indexes saw them."""
    for mark, case_id in (
        (SUBJECT_MARK, seeded.subject_mark_case),
        (BODY_MARK, seeded.body_mark_case),
    ):
        response = httpx.get(
            f"{server.base}/api/v1/cases", params={"q": mark}, headers=headers, timeout=60
        )
        found = [item["id"] for item in response.json().get("items", [])]
        if response.status_code != 200 or found != [case_id]:
            raise SystemExit(
                f"search for {mark!r} should find case {case_id}, got "
                f"{response.status_code} {found}"
            )


# --- one backend ---------------------------------------------------------------------------


@dataclass
class Run:
    backend: str
    seeded: Seeded
    outcomes: list[Outcome]
    peak_rss_mb: float
    client_cpu: float
    wall: float
    log_findings: list[str]
    workers: int


UNLIMITED = "1000000/minute"


def server_env(url: str) -> dict[str, str]:
    """The environment of the desk's processes in a run against the database at `url`."""
    return {
        **os.environ,
        "CAREDESK_DATABASE_URL": url,
        "CAREDESK_LOG_LEVEL": "warning",
        # The limiter stays on (its cost is part of every call) with room for the load:
        # the benchmark measures the desk, not the limits (bench/ratelimit.py does).
        "CAREDESK_RATE_LIMIT_PER_CLIENT": UNLIMITED,
    }


def admin_headers(env: dict[str, str]) -> dict[str, str]:
    """A fresh admin token with room for the load, as the clients' Authorization header."""
    secret = caredesk(
        env, "tokens", "create", "--role", "admin", "--name", "bench", "--rate-limit", UNLIMITED
    )
    return {"Authorization": f"Bearer {secret.strip().splitlines()[-1].strip()}"}


def workers_for(backend: str, args: argparse.Namespace) -> int:
    """SQLite serves from one process (one writer); PostgreSQL from --pg-workers."""
    return args.pg_workers if backend == "postgresql" else 1


def run(backend: str, args: argparse.Namespace) -> Run:
    rng = random.Random(args.seed)
    with (
        database(backend, args.pg_url) as url,
        tempfile.TemporaryDirectory(prefix="caredesk-bench-api-") as tmp,
    ):
        env = server_env(url)
        console.print(f"[bold]{backend}[/bold]: migrating")
        caredesk(env, "db", "upgrade")
        seeded = seed(url, args.cases, rng)
        console.print(
            f"{backend}: seeded {seeded.cases:,} cases, {seeded.messages:,} messages, "
            f"{seeded.tags:,} tags in {seeded.seconds:.1f} s"
        )
        headers = admin_headers(env)
        workers = workers_for(backend, args)
        with serve(env, Path(tmp) / "server.log", workers) as server:
            check_search(server, headers, seeded)
            console.print(f"{backend}: search finds bulk-inserted subjects and messages")
            outcomes = []
            cpu_before, wall_before = time.process_time(), time.perf_counter()
            for name, call in operations(seeded):
                console.print(f"{backend}: {name} ({args.clients} clients, {args.seconds:g} s)")
                outcomes.append(drive(name, call, server, headers, args))
            client_cpu = time.process_time() - cpu_before
            wall = time.perf_counter() - wall_before
            peak = peak_rss_mb(server.process.pid)
        findings = log_findings(server.log)
    return Run(backend, seeded, outcomes, peak, client_cpu, wall, findings, workers)


# --- report --------------------------------------------------------------------------------


def table(runs: list[Run]) -> str:
    lines = [
        "| backend | operation | requests | errors | req/s | p50 (ms) | p99 (ms) "
        "| server CPU (ms/req) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        for o in r.outcomes:
            cpu = o.server_cpu * 1000 / o.requests if o.requests else 0.0
            lines.append(f"| {r.backend} | {o.name} | {o.cells()} | {cpu:.1f} |")
    return "\n".join(lines)


def notes(runs: list[Run]) -> str:
    out = []
    for r in runs:
        s = r.seeded
        out.append(
            f"- {r.backend} ({s.server_version}): seeded {s.cases:,} cases, {s.messages:,} "
            f"messages, {s.tags:,} tags, {s.customers:,} customers in {s.seconds:.1f} s; "
            f"{r.workers} serving process{'es' if r.workers > 1 else ''}; server peak RSS "
            f"{r.peak_rss_mb:.0f} MB{' (the largest)' if r.workers > 1 else ''}; "
            "the load generator used "
            f"{r.client_cpu / r.wall:.0%} of a core"
        )
        for o in r.outcomes:
            out.extend(o.failure_notes())
        out.extend(f"  - {finding}" for finding in r.log_findings)
    return "\n".join(out)


def command_line() -> str:
    python = Path(sys.executable)
    try:
        shown = str(python.relative_to(ROOT))
    except ValueError:
        shown = "python"
    script = Path(sys.argv[0]).resolve()
    try:
        script_shown = str(script.relative_to(ROOT))
    except ValueError:
        script_shown = sys.argv[0]
    return shlex.join([shown, script_shown, *sys.argv[1:]])


DOCS_INTRO = """## REST API over HTTP

Produced by `bench/api.py`. For each backend a fresh database is migrated with `caredesk db
upgrade` and seeded by bulk inserts: a few thousand customers, {teams} teams, {agents} agents,
the cases below spread over six statuses (a third closed), priorities, channels, assignees,
teams and 0 to 3 of 14 tags (Zipf-weighted), each with 1 to 5 messages drawn from a
{vocabulary}-word Zipf-weighted vocabulary. The migrations' own full-text triggers (SQLite
FTS5) and generated tsvector columns with GIN indexes (PostgreSQL, analysed after the load)
index them. `caredesk
serve` (one process on SQLite, `--pg-workers` processes on PostgreSQL) then runs on loopback
and {clients} client threads drive it in a closed loop, one operation at a time, for
{seconds:g} s each after a {warmup:g} s warm-up, through authentication, routing, the service
layer and the database. Add message posts an inbound or outbound message to a random case that
is not closed; get case reads a random case; full-text search asks for one random word of the
vocabulary. Any non-2xx answer counts as an error. The clients share the machine's cores with
the server, so the figures are a floor; server CPU per request is the CPU time of the serving
processes (all of them) over the operation, divided by its requests."""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Needs the project installed in the running interpreter (.venv/bin/python).",
    )
    parser.add_argument(
        "--backend",
        action="append",
        choices=["sqlite", "postgresql"],
        help="repeatable; default: both when PostgreSQL answers on 127.0.0.1:5432, else sqlite",
    )
    parser.add_argument(
        "--pg-url",
        default=PG_DEFAULT,
        help="server to create the throw-away database on (default: %(default)s)",
    )
    parser.add_argument(
        "--cases", type=int, default=100_000, help="cases to seed (default: %(default)s)"
    )
    parser.add_argument(
        "--clients", type=int, default=16, help="concurrent clients (default: %(default)s)"
    )
    parser.add_argument(
        "--pg-workers",
        type=int,
        default=2,
        help="serving processes on PostgreSQL (default: %(default)s; SQLite always one)",
    )
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="time per operation (default: %(default)s)"
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=0,
        help="also stop an operation after this many requests (default: time only)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=1.0,
        help="unmeasured seconds before each operation (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed (default: %(default)s)")
    add_run_arguments(parser)
    args = parser.parse_args()
    conditions = Conditions.begin(args)
    if args.cases < 1 or args.clients < 1 or args.pg_workers < 1 or args.seconds <= 0:
        parser.error("--cases, --clients, --pg-workers and --seconds must be positive")
    # A plain `kill` must clean up as Ctrl-C does: unwind, stop the server, drop the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    backends = args.backend or (["sqlite", "postgresql"] if pg_answers() else ["sqlite"])
    runs = [run(backend, args) for backend in backends]
    figures = table(runs) + "\n\n" + notes(runs)
    print(figures)
    if args.write_docs:
        intro = DOCS_INTRO.format(
            teams=TEAMS,
            agents=AGENTS,
            vocabulary=len(VOCABULARY),
            clients=args.clients,
            seconds=args.seconds,
            warmup=args.warmup,
        )
        write_section(
            "api",
            f"{intro}\n\n{figures}\n\nCommand: `{command_line()}`",
            conditions,
        )
        console.print("wrote the api section of docs/benchmarks.md")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        console.print("interrupted; the server is stopped and the databases are dropped")
        sys.exit(130)
