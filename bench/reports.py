"""Reports at scale: every measure of the catalogue, and the retention after a remedy, over a
90-day period of a desk with many cases.

For each backend: a fresh database, the migrations, a business calendar and an SLA policy,
then N cases opened over the last 180 days (default 100,000 on SQLite and 1,000,000 on
PostgreSQL), bulk-inserted through SQLAlchemy Core with what the reports read of them: the
customer's message and the agents' replies (first reply, sometimes a second ask), solving and
reopening (as the audit records them), SLA clocks met or breached, surveys sent and answered,
grants of one or two remedies with each remedy's own ledger postings, approvals asked, granted
and denied, repeat asks, triage intents, and the customers' orders before their cases and
after them (the retention report's returns). The database is analysed, and each report runs
R times through the service a lead's request calls (`services/reports`): every measure
ungrouped, by agent and by team where it allows them, and the retention report over 90 days
of solved cases. Prints p50/p95 per report, the worst, and the process's peak RSS;
`--explain` prints each report statement's plan instead of timing it.

    python bench/reports.py [--backend sqlite|postgresql ...] [--cases N] [--repeat R]
                            [--explain] [--write-docs]
"""

from __future__ import annotations

import argparse
import random
import resource
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, create_engine, event, insert

from _common import (
    PG_DEFAULT,
    Conditions,
    add_run_arguments,
    database,
    percentile,
    pg_answers,
    write_section,
)
from api import AGENTS, BATCH, CUSTOMERS, TEAMS, seed_people
from caredesk.adapters.db import models as m
from caredesk.adapters.db.migrate import fill_case_facts, upgrade
from caredesk.bootstrap import Container, bootstrap
from caredesk.domain.agents import SYSTEM, Actor, Role
from caredesk.services.reports import reports, retention
from caredesk.services.reports.filters import ReportFilter
from caredesk.services.reports.measures import CATALOGUE
from caredesk.services.sla import sla
from caredesk.settings import Settings

DEFAULT_CASES = {"sqlite": 100_000, "postgresql": 1_000_000}
HISTORY_DAYS = 180
PERIOD_DAYS = 90
GROUPINGS = (None, "agent", "team")
# One customer for every this many cases: a customer comes back a few times in six months.
CASES_PER_CUSTOMER = 5
REMEDIES = ("refund_partial", "store_credit", "free_shipping", "replacement")
INTENTS = ("where_is_my_order", "damaged_item", "billing", "return", "account")
GOALS = {"sqlite": 2.0, "postgresql": 1.0}


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


@dataclass
class Counts:
    rows: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, n: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + n


class Batch:
    """The rows of a batch of cases, table by table, inserted parents first."""

    ORDER = (
        "cases", "messages", "audit_events", "sla_clocks", "satisfaction_surveys", "case_triage",
        "repeat_asks", "grants", "approvals", "ledger_entries", "orders", "order_lines",
    )  # fmt: skip

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in self.ORDER}

    def insert(self, conn: Any, counts: Counts) -> None:
        tables = m.Base.metadata.tables
        for name in self.ORDER:
            if self.rows[name]:
                conn.execute(insert(tables[name]), self.rows[name])
                counts.add(name, len(self.rows[name]))


@dataclass
class Ids:
    """The next id of each table whose rows others refer to."""

    message: int = 0
    grant: int = 0
    order: int = 0

    def next(self, name: str) -> int:
        setattr(self, name, getattr(self, name) + 1)
        return int(getattr(self, name))


def _order(batch: Batch, ids: Ids, rng: random.Random, customer: str, at: datetime) -> None:
    seq = ids.next("order")
    order_id = f"ord{seq}"
    batch.rows["orders"].append(
        {"id": order_id, "seq": seq, "customer_id": customer, "status": "delivered",
         "address": {}, "placed_at": at, "details": {}, "version": 1}
    )  # fmt: skip
    for position in range(rng.choice((1, 1, 2))):
        batch.rows["order_lines"].append(
            {"order_id": order_id, "position": position, "variant_id": "var1",
             "product_id": "prod1", "name": "Bench item",
             "price": Decimal(rng.randrange(2_000, 90_000)) / 100, "options": {}}
        )  # fmt: skip


def _grant(batch: Batch, ids: Ids, rng: random.Random, case: dict[str, Any], at: datetime) -> None:
    grant_id = ids.next("grant")
    remedies = rng.sample(REMEDIES, 2 if rng.random() < 0.2 else 1)
    asked = rng.random() < 0.3
    denied = asked and rng.random() < 0.25
    agent = case["assignee_id"] or 1
    batch.rows["grants"].append(
        {"id": grant_id, "case_id": case["id"], "customer_id": case["customer_id"],
         "order_id": None, "remedy_ids": remedies, "params": {},
         "status": "denied" if denied else "executed", "cost": Decimal("0"),
         "refunded": Decimal("0"), "policy_version": "bench", "service_level": rng.randint(1, 3),
         "rules": [], "summary": "", "actor": f"agent:{agent}", "agent_id": agent,
         "team_id": case["team_id"], "idempotency_key": None, "fingerprint": f"g{grant_id}",
         "reverses_grant_id": None, "created_at": at,
         "executed_at": None if denied else at + timedelta(hours=1), "issue_type": None,
         "bases": []}
    )  # fmt: skip
    if asked:
        batch.rows["approvals"].append(
            {"grant_id": grant_id, "case_id": case["id"], "requested_by": f"agent:{agent}",
             "requested_by_role": "agent", "approver_role": "lead", "reasons": ["over limit"],
             "status": "denied" if denied else "approved",
             "decided_by": f"agent:{(agent // 10 + 1) * 10}", "created_at": at,
             "decided_at": at + timedelta(minutes=rng.randrange(5, 600)), "note": ""}
        )  # fmt: skip
    if denied:
        return
    for remedy in remedies:
        amount = Decimal(rng.randrange(500, 20_000)) / 100
        account = "refunds" if remedy == "refund_partial" else f"goodwill:{remedy}"
        for account_, signed in ((account, amount), ("payables", -amount)):
            batch.rows["ledger_entries"].append(
                {"grant_id": grant_id, "account": account_, "amount": signed, "memo": remedy,
                 "created_at": at, "remedy_id": remedy}
            )  # fmt: skip


def _case(
    batch: Batch, ids: Ids, rng: random.Random, case_id: int, now: datetime, customers: int
) -> None:
    created = now - timedelta(seconds=rng.randrange(HISTORY_DAYS * 86400))
    customer = f"cus{rng.randint(1, customers)}"
    reply = created + timedelta(minutes=rng.randrange(5, 3 * 24 * 60))
    solved = reply + timedelta(hours=rng.randrange(1, 240)) if rng.random() < 0.75 else None
    if solved is not None and solved > now:
        solved = None
    assignee = rng.randint(1, AGENTS) if rng.random() < 0.9 else None
    case = {
        "id": case_id, "subject": "Bench case", "customer_id": customer,
        "status": "solved" if solved else "open", "priority": rng.choice(("low", "normal", "high")),
        "channel": rng.choice(("email", "portal", "chat", "phone")), "assignee_id": assignee,
        "team_id": rng.randint(1, TEAMS) if rng.random() < 0.95 else None, "order_ids": [],
        "custom_fields": {}, "created_at": created, "updated_at": solved or reply,
        "solved_at": solved, "closed_at": None,
        "service_level": rng.randint(1, 3) if solved else None, "version": 1,
    }  # fmt: skip
    batch.rows["cases"].append(case)
    thread = [("inbound", created)]
    if reply <= now:
        thread.append(("outbound", reply))
        if rng.random() < 0.3:
            thread += [
                ("inbound", reply + timedelta(hours=2)),
                ("outbound", reply + timedelta(hours=5)),
            ]
    for kind, at in thread:
        batch.rows["messages"].append(
            {"id": ids.next("message"), "case_id": case_id, "kind": kind, "body": "Bench text",
             "author_agent_id": None if kind == "inbound" else assignee,
             "author_customer_id": customer if kind == "inbound" else None,
             "created_at": at, "attachments": []}
        )  # fmt: skip
    for metric, target, done in (("first_reply", 240, reply), ("resolution", 4320, solved)):
        done = done if done is not None and done <= now else None
        due = created + timedelta(minutes=target)
        breached = (
            due if (done is None and due < now) or (done is not None and done > due) else None
        )
        batch.rows["sla_clocks"].append(
            {"case_id": case_id, "metric": metric, "cycle": 1, "started_at": created,
             "segments": [], "running_since": None if done else created, "completed_at": done,
             "policy_id": 1, "target_minutes": target, "warn_percent": 75, "elapsed_us": 0,
             "warn_at": None, "due_at": due, "warned_at": None, "breached_at": breached}
        )  # fmt: skip
    if rng.random() < 0.6:
        batch.rows["case_triage"].append(
            {"case_id": case_id, "message_id": None, "intent": rng.choice(INTENTS),
             "intent_confidence": 0.9, "intent_source": "model", "model_version": None,
             "sentiment": 0.0, "public_risk": False, "public_risk_confidence": 0.0,
             "risk_signals": [], "moments": [], "known_issues": [], "language": "en",
             "rules": [], "suggestions": [], "triaged_at": created}
        )  # fmt: skip
    if rng.random() < 0.05:
        batch.rows["repeat_asks"].append(
            {"case_id": case_id, "message_id": ids.message, "agent_id": assignee,
             "kind": "order_number", "created_at": reply}
        )  # fmt: skip
    if rng.random() < 0.12:
        _grant(batch, ids, rng, case, reply)
    if rng.random() < 0.5:
        _order(batch, ids, rng, customer, created - timedelta(days=rng.randrange(1, 400)))
    if solved is None:
        return
    batch.rows["audit_events"].append(_status_event(case_id, solved, "open", "solved"))
    if rng.random() < 0.06:
        again = solved + timedelta(hours=rng.randrange(1, 72))
        batch.rows["audit_events"].append(_status_event(case_id, again, "solved", "open"))
    if rng.random() < 0.6:
        answered = rng.random() < 0.4
        batch.rows["satisfaction_surveys"].append(
            {"case_id": case_id, "customer_id": customer, "token_hash": f"t{case_id}",
             "sent_at": solved, "expires_at": solved + timedelta(days=14),
             "score": rng.randint(1, 5) if answered else None, "comment": "",
             "answered_at": solved + timedelta(hours=3) if answered else None}
        )  # fmt: skip
    if rng.random() < 0.35:
        back = solved + timedelta(days=rng.randrange(2, 80))
        if back < now:
            _order(batch, ids, rng, customer, back)


def _status_event(case_id: int, at: datetime, before: str, after: str) -> dict[str, Any]:
    return {
        "at": at, "actor": "system", "action": "case.updated", "entity_type": "case",
        "entity_id": str(case_id), "case_id": case_id, "before": {"status": before},
        "after": {"status": after},
    }  # fmt: skip


def seed(container: Container, url: str, cases: int, now: datetime) -> tuple[float, Counts]:
    """The desk's history, bulk-inserted, then analysed; returns the seconds it took."""
    started = time.perf_counter()
    rng, ids, counts = random.Random(19), Ids(), Counts()
    calendar = sla.create_calendar(
        container.uow(), SYSTEM, now - timedelta(days=HISTORY_DAYS + 1), name="Bench hours",
        timezone="UTC", hours={d: ["08:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    )  # fmt: skip
    sla.create_policy(
        container.uow(), SYSTEM, now - timedelta(days=HISTORY_DAYS + 1), name="Bench policy",
        targets={"first_reply": 240, "resolution": 4320}, calendar_id=calendar.id,
    )  # fmt: skip
    customers = max(CUSTOMERS, cases // CASES_PER_CUSTOMER)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            seed_people(conn, now)
            extra = range(CUSTOMERS + 1, customers + 1)
            for first in range(0, len(extra), BATCH):
                conn.execute(
                    insert(m.CustomerRow),
                    [
                        {"id": f"cus{c}", "seq": c, "first_name": "Bench",
                         "last_name": f"Customer{c}", "name_key": f"bench customer{c}",
                         "phones": [], "addresses": [], "tier": "standard", "membership": None,
                         "created_at": now, "updated_at": now, "version": 1}
                        for c in extra[first : first + BATCH]
                    ],
                )  # fmt: skip
        for first in range(1, cases + 1, BATCH):
            batch = Batch()
            for case_id in range(first, min(first + BATCH, cases + 1)):
                _case(batch, ids, rng, case_id, now, customers)
            with engine.begin() as conn:
                batch.insert(conn, counts)
            print(f"\rseeded {min(first + BATCH - 1, cases):,} of {cases:,} cases", end="")
        print()
        analyse(engine)
    finally:
        engine.dispose()
    return time.perf_counter() - started, counts


def analyse(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE")


@dataclass(frozen=True)
class Timed:
    name: str
    seconds: list[float]

    @property
    def p50(self) -> float:
        return percentile(self.seconds, 50)

    @property
    def p95(self) -> float:
        return percentile(self.seconds, 95)


def report_calls(container: Container, now: datetime) -> Iterator[tuple[str, Callable[[], object]]]:
    """Every report a lead can ask for, by name: each measure ungrouped, by agent and by
    team where it allows them, and the retention report."""
    lead = Actor(role=Role.ADMIN)
    today = now.date()
    period = ReportFilter(start=today - timedelta(days=PERIOD_DAYS - 1), end=today)
    for measure in CATALOGUE:
        for group in GROUPINGS:
            if group is not None and group not in measure.group_by:
                continue

            def call(name: str = measure.name, group_by: str | None = group) -> object:
                return reports.report(container.uow(), lead, now, name, period, group_by)

            yield f"{measure.name}{f' by {group}' if group else ''}", call
    # Cases solved from 150 to 60 days ago: their 30- and 60-day windows have elapsed.
    solved_from = datetime.combine(today - timedelta(days=150), day_time.min, tzinfo=UTC)

    def retained() -> object:
        end = solved_from + timedelta(days=PERIOD_DAYS)
        return retention.retention(container.uow(), lead, now, solved_from, end)

    yield "retention after a remedy", retained


@contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def explain(engine: Engine, statement: str, parameters: Any) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return "\n".join(str(row[-1]) for row in rows)
        rows = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
        return "\n".join(str(row[0]) for row in rows)


def print_plans(engine: Engine, backend: str, name: str, call: Callable[[], object]) -> None:
    with statements(engine) as sent:
        call()
    for statement, parameters in sent:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            print(f"--- {backend} {name}\n{statement}\n{explain(engine, statement, parameters)}")


@dataclass
class Run:
    backend: str
    cases: int
    seed_seconds: float
    counts: Counts
    # How long working out every case's report facts took (what `caredesk migrate` does for
    # a desk older than them, and `caredesk reports refresh`).
    facts_seconds: float = 0.0
    timed: list[Timed] = field(default_factory=list)


def run(backend: str, args: argparse.Namespace) -> Run:
    cases = args.cases or DEFAULT_CASES[backend]
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    with database(backend, args.pg_url) as url:
        engine = create_engine(url)
        upgrade(engine)
        engine.dispose()
        settings = Settings(
            database_url=url, log_level="warning", embedded_worker=False, embed_in_background=False
        )
        container = bootstrap(settings, clock=FixedClock(now))
        try:
            seconds, counts = seed(container, url, cases, now)
            print(f"{backend}: {cases:,} cases seeded in {seconds:.0f} s: {counts.rows}")
            started = time.perf_counter()
            fill_case_facts(container.engine, only_missing=True)
            analyse(container.engine)
            facts = time.perf_counter() - started
            print(f"{backend}: each case's facts worked out in {facts:.0f} s")
            result = Run(backend, cases, seconds, counts, facts)
            for name, call in report_calls(container, now):
                if args.explain:
                    print_plans(container.engine, backend, name, call)
                else:
                    result.timed.append(timed(name, call, args.repeat))
                    t = result.timed[-1]
                    print(f"{backend} {name}: p50 {t.p50 * 1000:.0f} ms, p95 {t.p95 * 1000:.0f} ms")
        finally:
            container.close()
    return result


def timed(name: str, call: Callable[[], object], repeat: int) -> Timed:
    call()  # warm the caches: the figures are of a desk that has been running
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return Timed(name, seconds)


def table(runs: list[Run]) -> str:
    lines = ["| backend | cases | report | p50 (ms) | p95 (ms) |", "|---|---:|---|---:|---:|"]
    for r in runs:
        for t in r.timed:
            ms = f"{t.p50 * 1000:.0f} | {t.p95 * 1000:.0f}"
            lines.append(f"| {r.backend} | {r.cases:,} | {t.name} | {ms} |")
    return "\n".join(lines)


def summary(runs: list[Run]) -> str:
    out = []
    for r in runs:
        if not r.timed:
            continue
        worst = max(r.timed, key=lambda t: t.p95)
        goal = GOALS[r.backend]
        slow = [t.name for t in r.timed if t.p95 > goal]
        rows = ", ".join(f"{n:,} {t}" for t, n in r.counts.rows.items())
        out.append(
            f"- {r.backend}, {r.cases:,} cases (seeded in {r.seed_seconds:.0f} s: {rows}; "
            f"each case's report facts worked out in {r.facts_seconds:.0f} s, "
            f"{r.cases / max(r.facts_seconds, 1e-9):,.0f} cases/s): the "
            f"worst p95 {worst.p95 * 1000:.0f} ms ({worst.name}); goal p95 < {goal:g} s: "
            + (f"missed by {', '.join(slow)}" if slow else "met by every report")
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.append(f"- Peak RSS of the process (seeding included): {rss:.0f} MB")
    return "\n".join(out)


DOCS_INTRO = """## Reports

Produced by `bench/reports.py`. A fresh database per backend, migrated, with a business
calendar and an SLA policy, and the cases of the last 180 days bulk-inserted with what the
reports read: messages (the first reply, sometimes a second ask), SLA clocks, solving and
reopening in the audit, surveys, triage intents, grants of one or two remedies with their
ledger postings, approvals, repeat asks and the customers' orders before and after their
cases; then each case's report facts worked out from those rows, as `caredesk migrate` does
for a desk older than them (timed apart). Each report runs through the service a lead's
request calls, over the last 90 days (the retention report: cases solved 150 to 60 days ago),
once to warm up and then {repeat} times; figures are wall-clock seconds in one process, the
database on the same machine."""


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--pg-url", default=PG_DEFAULT)
    parser.add_argument(
        "--cases", type=int, help="default: 100,000 on SQLite and 1,000,000 on PostgreSQL"
    )
    parser.add_argument("--repeat", type=int, default=5, help="default: %(default)s")
    parser.add_argument(
        "--explain", action="store_true", help="print each report statement's plan, no timings"
    )
    add_run_arguments(parser)
    args = parser.parse_args()
    if (args.cases is not None and args.cases < 100) or args.repeat < 1:
        parser.error("--cases is at least 100 and --repeat at least 1")
    conditions = Conditions.begin(args)
    backends = args.backend or (["sqlite", "postgresql"] if pg_answers() else ["sqlite"])
    runs = [run(backend, args) for backend in backends]
    if args.explain:
        return
    figures = f"{table(runs)}\n\n{summary(runs)}"
    print(figures)
    if args.write_docs:
        command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
        body = f"{DOCS_INTRO.format(repeat=args.repeat)}\n\n{figures}\n\nCommand: `{command}`"
        write_section("reports", body, conditions)
        print("wrote the reports section of docs/benchmarks.md")


if __name__ == "__main__":
    main()
