"""Benchmark triage: intent predictions per second, and cases opened with and without triage.

On a fresh database (SQLite, and PostgreSQL when it answers) with the demo store loaded,
the desk learns intents from labelled messages (`--train` CSV with text,category, e.g.
Banking77, `--shots` per intent; without it, a small built-in set), trains and puts a model
in force through `services.triage`, then:

- predicts the intents of `--predict` messages in one call (how a retrain re-triages a
  backlog) and one message at a time (how a new case is triaged);
- opens `--cases` cases through `services.cases.create_case`, each with the customer's
  first message: without triage; with triage and the intent left to the worker (sentiment,
  public risk, moments, known issues, routing rules, audit in the case's transaction, the
  intent queued), then the worker reading those intents; and with the intent read inside
  the request (`CAREDESK_INTENT_TRIAGE=inline`).

    python bench/triage.py [--backend sqlite|postgresql ...] [--train FILE.csv]
                           [--shots N] [--predict N] [--cases N] [--write-docs]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shlex
import signal
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from sqlalchemy import select

from _common import (
    PG_DEFAULT,
    Conditions,
    add_run_arguments,
    database,
    percentile,
    pg_answers,
    write_section,
)
from caredesk import demo
from caredesk.adapters.db import models as m
from caredesk.adapters.db.migrate import upgrade
from caredesk.bootstrap import Container, bootstrap, ensure_policy_in_force, wire_events
from caredesk.cli.eval_files import read_labelled_csv
from caredesk.domain.agents import SYSTEM
from caredesk.domain.evaluation import LabelledText, sample_shots
from caredesk.services.cases import cases
from caredesk.services.core.jobs import Worker
from caredesk.services.knowledge import triage
from caredesk.settings import Settings

console = Console(stderr=True)

BUILT_IN = {
    "delivery": [
        "Where is my parcel? It has not arrived yet",
        "My order still has not been delivered",
        "The tracking has not moved for a week",
        "When will my package arrive?",
    ],
    "refund": [
        "I want my money back for this order",
        "Please refund the jacket I returned",
        "How long does a refund take to reach my card?",
        "I returned the shoes but got no refund",
    ],
    "damaged": [
        "The lamp arrived broken",
        "My mug was cracked in the box",
        "The sofa leg snapped on arrival",
        "The screen is scratched out of the box",
    ],
    "account": [
        "I cannot log in to my account",
        "Please change the email on my account",
        "I forgot my password",
        "How do I close my account?",
    ],
}


@dataclass
class Run:
    backend: str
    labels: int
    intents: int
    train_seconds: float
    batch_per_second: float
    single_ms: list[float]
    plain: Opened
    worker: Opened
    inline: Opened
    intents_read: int
    intents_seconds: float


@dataclass
class Opened:
    """Cases opened one after another: each one's latency, and the time for all of them."""

    latencies_ms: list[float]
    seconds: float

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds


def intent_name(label: str) -> str:
    """A data set's category as the desk's intent names go (Banking77 has
    `reverted_card_payment?`): lower case, anything else than a-z, 0-9, _ . - as `_`."""
    return re.sub(r"[^a-z0-9_.-]+", "_", label.lower()).strip("_")


def examples(args: argparse.Namespace) -> list[LabelledText]:
    if args.train is None:
        return [LabelledText(text, label) for label, texts in BUILT_IN.items() for text in texts]
    return sample_shots(read_labelled_csv(args.train), args.shots, args.seed)


def open_cases(container: Container, customers: list[str], texts: list[str], mode: str) -> Opened:
    """`mode`: "off" (no triage), "worker" (the intent queued) or "inline" (in the request)."""
    # Triage runs from the case's event when the desk has an engine: take it away for the
    # plain run, and wire the handlers again either way.
    engine = container.triage
    assert engine is not None
    container.triage = engine if mode != "off" else None
    engine.intent_in_worker = mode == "worker"
    wire_events(container)
    latencies = []
    started = time.perf_counter()
    try:
        for n, text in enumerate(texts):
            began = time.perf_counter()
            cases.create_case(
                container.uow(),
                SYSTEM,
                container.clock.now(),
                customer_id=customers[n % len(customers)],
                subject=text[:80],
                body=text,
            )
            latencies.append((time.perf_counter() - began) * 1000)
    finally:
        container.triage = engine
        wire_events(container)
    return Opened(latencies, time.perf_counter() - started)


def work_off(container: Container) -> int:
    """Run the queued jobs (the intents the worker reads) as `caredesk worker` does."""
    assert container.jobs is not None
    worker = Worker(
        container.job_context(), container.jobs, name="bench", options=container.worker_options
    )
    ran = 0
    while done := worker.run_once():
        ran += done
    return ran


def run(backend: str, args: argparse.Namespace) -> Run:
    rng = random.Random(args.seed)
    labelled = examples(args)
    with database(backend, args.pg_url) as url:
        settings = Settings(
            database_url=url, embed_in_background=False, log_level="warning", log_json=True
        )
        container = bootstrap(settings)
        try:
            upgrade(container.engine)
            ensure_policy_in_force(container)
            now = datetime.now(UTC)
            console.print(f"[bold]{backend}[/bold]: loading the demo store")
            demo.load_demo(
                container.uow,
                container.hasher,
                now,
                seed=7,
                customers=50,
                admin_email=settings.demo_admin_email,
                admin_password=settings.demo_admin_password,
            )
            with container.engine.connect() as conn:
                customers = list(conn.scalars(select(m.CustomerRow.id).order_by(m.CustomerRow.id)))
            assert container.triage is not None and container.triage.intents is not None
            triage.add_labels(
                container.uow(), SYSTEM, now, [(e.text, intent_name(e.label)) for e in labelled]
            )
            console.print(f"{backend}: training on {len(labelled)} labelled messages")
            began = time.perf_counter()
            triage.train_intent_model(
                container.uow, container.triage.intents.trainer, SYSTEM, now, seed=args.seed
            )
            train_seconds = time.perf_counter() - began
            with container.uow() as uow:
                loaded = container.triage.intents.active(uow)
            assert loaded is not None
            classifier = loaded[1]
            pool = [e.text for e in labelled]
            texts = [rng.choice(pool) for _ in range(max(args.predict, args.cases))]
            console.print(f"{backend}: predicting {args.predict} messages")
            began = time.perf_counter()
            classifier.predict(texts[: args.predict])
            batch_per_second = args.predict / (time.perf_counter() - began)
            single = []
            for text in texts[: min(args.predict, 200)]:
                began = time.perf_counter()
                classifier.predict([text])
                single.append((time.perf_counter() - began) * 1000)
            console.print(f"{backend}: opening {args.cases} cases without and with triage")
            work_off(container)  # what the demo store queued is not part of the figures
            plain = open_cases(container, customers, texts[: args.cases], "off")
            work_off(container)
            worker = open_cases(container, customers, texts[: args.cases], "worker")
            began = time.perf_counter()
            intents_read = work_off(container)
            intents_seconds = time.perf_counter() - began
            inline = open_cases(container, customers, texts[: args.cases], "inline")
        finally:
            container.close()
    return Run(
        backend,
        len(labelled),
        len({e.label for e in labelled}),
        train_seconds,
        batch_per_second,
        single,
        plain,
        worker,
        inline,
        intents_read,
        intents_seconds,
    )


def _p50_p99(values: list[float]) -> str:
    return f"{percentile(values, 50):.1f} / {percentile(values, 99):.1f}"


def table(runs: list[Run]) -> str:
    lines = [
        "| backend | labels (intents) | training (s) | predictions/s, one call | "
        "one prediction p50 / p99 (ms) |",
        "|---|---|---:|---:|---:|",
    ]
    for r in runs:
        lines.append(
            f"| {r.backend} | {r.labels} ({r.intents}) | {r.train_seconds:.0f} | "
            f"{r.batch_per_second:.0f} | {_p50_p99(r.single_ms)} |"
        )
    lines += [
        "",
        "| backend | opening a case | p50 / p99 (ms) | cases/s |",
        "|---|---|---:|---:|",
    ]
    for r in runs:
        for name, opened in (
            ("without triage", r.plain),
            ("triaged, the intent queued for the worker (the default)", r.worker),
            ("triaged, the intent read in the request (`inline`)", r.inline),
        ):
            lines.append(
                f"| {r.backend} | {name} | {_p50_p99(opened.latencies_ms)} | "
                f"{opened.per_second:.1f} |"
            )
        lines.append(
            f"| {r.backend} | the worker reading the queued intents ({r.intents_read} jobs) | "
            f"| {r.intents_read / r.intents_seconds:.1f} jobs/s |"
        )
    return "\n".join(lines)


DOCS_INTRO = """## Triage throughput

Produced by `bench/triage.py`. A fresh database with the demo store; the desk learns intents
from labelled messages through `services.triage` (the same path as `caredesk triage train`),
then predicts a batch of messages in one call (a re-triage after retraining), one message at
a time (a new case), and opens cases through `services.cases.create_case` with the
customer's first message: without triage; triaged with the intent queued for the worker (the
default: sentiment, public risk, moments, known issues, routing rules and their audit events
in the case's transaction), then the worker reading those intents; and triaged with the intent
read inside the request (`CAREDESK_INTENT_TRIAGE=inline`). One process, one thread, so the
cases/s are what one core gives."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--pg-url", default=PG_DEFAULT)
    parser.add_argument("--train", type=Path, help="labelled CSV (text,category)")
    parser.add_argument("--shots", type=int, default=10, help="default: %(default)s")
    parser.add_argument("--predict", type=int, default=1000, help="default: %(default)s")
    parser.add_argument("--cases", type=int, default=200, help="default: %(default)s")
    parser.add_argument("--seed", type=int, default=0)
    add_run_arguments(parser)
    args = parser.parse_args()
    conditions = Conditions.begin(args)
    if min(args.shots, args.predict, args.cases) < 1:
        parser.error("--shots, --predict and --cases must be positive")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    backends = args.backend or (["sqlite", "postgresql"] if pg_answers() else ["sqlite"])
    runs = [run(backend, args) for backend in backends]
    figures = table(runs)
    print(figures)
    if args.write_docs:
        command = shlex.join(["python", "bench/triage.py", *sys.argv[1:]])
        write_section(
            "triage",
            f"{DOCS_INTRO}\n\n{figures}\n\nCommand: `{command}`",
            conditions,
        )
        console.print("wrote the triage section of docs/benchmarks.md")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        console.print("interrupted; the databases are dropped")
        sys.exit(130)
