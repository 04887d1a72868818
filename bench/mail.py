"""Benchmark email in and out, on SQLite and PostgreSQL.

Inbound: `caredesk smtp` runs as a subprocess on a free loopback port against a fresh,
migrated database; several smtplib clients, each on one kept SMTP connection, send
messages as fast as the listener answers: most open new cases (from a pool of senders),
the rest reply to earlier messages by In-Reply-To. Every message goes through parsing,
threading, customer lookup or creation, the case and message rows, triage (sentiment,
risk, moments; the embedding model is off), the audit trail and, for a new case, the
acknowledgement queued as a job. Prints messages/s and p50/p99 of the SMTP transaction,
and checks the database holds every message on the right number of cases.

Bare sink: the same clients send the same messages to an aiosmtpd `Controller`, in a process
of its own as `caredesk smtp` is, whose handler answers `250` once it has read DATA and does
nothing else: what SMTP itself costs on this machine. The inbound table prints both rates and
their ratio.

Outbound: mails queued with `send_customer_mail`, then sent by the job worker through
SmtpMailer into a local aiosmtpd sink; prints mails/s from the first claim to the last
`250`.

    python bench/mail.py [--backend sqlite|postgresql ...] [--messages N] [--clients N]
                         [--outbound N] [--write-docs]
    python bench/mail.py --serve-sink PORT    (the bare sink; the benchmark starts it)
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from rich.console import Console
from sqlalchemy import create_engine, func, select

from _common import (
    PG_DEFAULT,
    Conditions,
    add_run_arguments,
    database,
    percentile,
    pg_answers,
    write_section,
)
from caredesk.adapters.db import models as m
from caredesk.adapters.db.engine import build_engine
from caredesk.adapters.db.migrate import upgrade
from caredesk.adapters.db.uow import SqlAlchemyUnitOfWorkFactory
from caredesk.adapters.mail.smtp_out import SmtpMailer
from caredesk.bootstrap import mail_identity, worker_options
from caredesk.services.channels import mail_out
from caredesk.services.core.jobs import HandlerRegistry, JobContext, Worker
from caredesk.settings import Settings

CAREDESK = [sys.executable, "-m", "caredesk.cli.main"]
SUPPORT = "support@bench.example"
SENDERS = 500
REPLY_SHARE = 0.3
console = Console(stderr=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(
    port: int, process: subprocess.Popen[bytes], name: str, timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{name} did not start listening")


def message(index: int, in_reply_to: str | None) -> EmailMessage:
    mail = EmailMessage(policy=SMTP_POLICY)
    sender = index % SENDERS
    mail["From"] = f"Customer {sender} <customer{sender}@example.net>"
    mail["To"] = SUPPORT
    mail["Message-ID"] = f"<bench-{index}@example.net>"
    if in_reply_to:
        mail["Subject"] = "Re: my order has not arrived"
        mail["In-Reply-To"] = in_reply_to
        mail["References"] = in_reply_to
        body = f"Any news on this? Message {index}.\n\nOn Monday you wrote:\n> We are on it."
    else:
        mail["Subject"] = f"Order {index} has not arrived"
        body = (
            f"Hello, my order {index} was promised for last week and has not arrived. "
            "The tracking page has not moved for days. Could you look into it? Thanks."
        )
    mail.set_content(body)
    return mail


@dataclass
class Inbound:
    backend: str
    messages: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    cases: int = 0
    stored: int = 0
    expected_cases: int = 0
    clients: int = 0
    workers: int = 0
    # What the bare sink accepted from the same clients and messages (msg/s).
    sink_rate: float = 0.0

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    @property
    def share_of_sink(self) -> float:
        return self.rate / self.sink_rate if self.sink_rate else 0.0


@dataclass
class Sent:
    """What the clients got through one listener."""

    messages: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)


def replying(total: int) -> set[int]:
    """Which messages reply: every tenth-ish one answers a message sent well before it, so
    its parent is stored by the time it arrives whichever client sends it."""
    return {i for i in range(total) if i >= 100 and (i * 7919) % 10 < REPLY_SHARE * 10}


def drive(port: int, total: int, clients: int) -> Sent:
    """`clients` smtplib clients, each on one kept connection, send the `total` messages of the
    mix as fast as the listener on `port` answers; the caredesk and the sink phase share it."""
    sent = Sent()
    lock = threading.Lock()
    counter = iter(range(total))
    replies = replying(total)

    def client() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
            while True:
                with lock:
                    index = next(counter, None)
                if index is None:
                    return
                parent = f"<bench-{index - 100}@example.net>" if index in replies else None
                mail = message(index, parent)
                started = time.perf_counter()
                try:
                    smtp.send_message(mail)
                except smtplib.SMTPException:
                    with lock:
                        sent.errors += 1
                    continue
                elapsed = time.perf_counter() - started
                with lock:
                    sent.messages += 1
                    sent.latencies.append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent.seconds = time.perf_counter() - started
    return sent


class _BareSink:
    """Answers `250` once DATA is read, and does nothing else."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


def serve_sink(port: int) -> None:
    """The bare sink's process, until it is terminated."""
    controller = Controller(
        _BareSink(), hostname="127.0.0.1", port=port, server_hostname="sink.bench"
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    controller.start()
    try:
        stop.wait()
    finally:
        controller.stop()


def run_sink(total: int, clients: int) -> Sent:
    """The same clients and messages against the bare sink, in a process of its own."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve-sink", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process, "the bare sink")
        return drive(port, total, clients)
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """End a listener: politely, then for good if it does not stop within 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def run_inbound(backend: str, url: str, total: int, clients: int) -> Inbound:
    env = {
        **os.environ,
        "CAREDESK_DATABASE_URL": url,
        "CAREDESK_SEMANTIC_SEARCH": "false",
        "CAREDESK_MAIL_ADDRESS": SUPPORT,
        "CAREDESK_MAIL_RATE_LIMIT_PER_HOUR": str(total),
        "CAREDESK_LOG_LEVEL": "warning",
        "CAREDESK_EMBEDDED_WORKER": "false",
    }
    subprocess.run([*CAREDESK, "db", "upgrade"], env=env, check=True, capture_output=True)
    port = free_port()
    workers = 1 if backend == "sqlite" else 4
    # The listener's log goes to a file: a pipe nobody reads would fill up and stall it.
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed after the listener stops)
        prefix="caredesk-smtp-", suffix=".log", delete=False
    )
    process = subprocess.Popen(
        [*CAREDESK, "smtp", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    result = Inbound(backend, clients=clients, workers=workers)
    try:
        wait_for_port(port, process, "caredesk smtp")
        result.expected_cases = total - len(replying(total))
        sent = drive(port, total, clients)
        result.messages, result.errors = sent.messages, sent.errors
        result.seconds, result.latencies = sent.seconds, sent.latencies
    finally:
        stop(process)
        log.close()
        if result.errors:
            console.print(f"{backend}: {result.errors} refused; the listener's log: {log.name}")
        else:
            Path(log.name).unlink()
    engine = create_engine(url)
    with engine.connect() as conn:
        result.stored = (
            conn.scalar(
                select(func.count())
                .select_from(m.MailMessageRow)
                .where(m.MailMessageRow.direction == "in")
            )
            or 0
        )
        result.cases = conn.scalar(select(func.count()).select_from(m.CaseRow)) or 0
    engine.dispose()
    return result


@dataclass
class Outbound:
    backend: str
    mails: int = 0
    seconds: float = 0.0
    received: int = 0

    @property
    def rate(self) -> float:
        return self.mails / self.seconds if self.seconds else 0.0


class _Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


class _Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def run_outbound(backend: str, url: str, total: int) -> Outbound:
    sink = _Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, server_hostname="sink.bench")
    controller.start()
    settings = Settings(
        database_url=url,
        semantic_search=False,
        mail_address=SUPPORT,
        smtp_host="127.0.0.1",
        smtp_port=port,
        log_level="warning",
    )
    engine = build_engine(url)
    upgrade(engine)
    uow = SqlAlchemyUnitOfWorkFactory(engine)
    clock = _Clock()
    now = clock.now()
    batch = 200
    for start in range(0, total, batch):
        with uow() as unit:
            for index in range(start, min(total, start + batch)):
                mail_out.send_customer_mail(
                    unit,
                    to=f"customer{index % SENDERS}@example.net",
                    subject=f"About your order {index}",
                    text="Your replacement ships today; the tracking number follows.",
                    now=now,
                    template="notification",
                )
            unit.commit()
    registry = HandlerRegistry()
    mailer = SmtpMailer(settings)
    mail_out.register_mail(registry, mailer, mail_identity(settings))
    worker = Worker(
        JobContext(uow=uow, clock=clock), registry, name="bench", options=worker_options(settings)
    )
    started = time.perf_counter()
    done = worker.run_once()
    seconds = time.perf_counter() - started
    mailer.close()
    controller.stop()
    engine.dispose()
    return Outbound(backend, mails=done, seconds=seconds, received=sink.count)


def inbound_table(results: list[Inbound]) -> str:
    lines = [
        "| backend | clients | storing threads | messages | errors | msg/s | bare sink msg/s "
        "| share of the sink | p50 (ms) | p99 (ms) | cases | stored |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        p50 = percentile(r.latencies, 50) * 1000
        p99 = percentile(r.latencies, 99) * 1000
        lines.append(
            f"| {r.backend} | {r.clients} | {r.workers} | {r.messages} | {r.errors} "
            f"| {r.rate:.0f} | {r.sink_rate:.0f} | {r.share_of_sink:.0%} | {p50:.1f} | {p99:.1f} "
            f"| {r.cases} (expected {r.expected_cases}) "
            f"| {r.stored} |"
        )
    return "\n".join(lines)


def outbound_table(results: list[Outbound]) -> str:
    lines = ["| backend | mails sent | received by the sink | mails/s |", "|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.backend} | {r.mails} | {r.received} | {r.rate:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--pg-url", default=PG_DEFAULT)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--outbound", type=int, default=2000)
    parser.add_argument("--serve-sink", type=int, metavar="PORT", help=argparse.SUPPRESS)
    add_run_arguments(parser)
    args = parser.parse_args()
    if args.serve_sink:
        serve_sink(args.serve_sink)
        return
    conditions = Conditions.begin(args)
    backends = args.backend or (["sqlite", "postgresql"] if pg_answers() else ["sqlite"])
    inbound: list[Inbound] = []
    outbound: list[Outbound] = []
    for backend in backends:
        # The sink runs beside each backend's run, so both meet the machine in the same state.
        console.print(f"bare sink: {args.messages} messages through SMTP")
        sink = run_sink(args.messages, args.clients)
        if sink.errors:
            console.print(f"bare sink: {sink.errors} refused")
        with database(backend, args.pg_url) as url:
            console.print(f"{backend}: {args.messages} messages in through SMTP")
            result = run_inbound(backend, url, args.messages, args.clients)
        result.sink_rate = sink.messages / sink.seconds if sink.seconds else 0.0
        inbound.append(result)
        with database(backend, args.pg_url) as url:
            console.print(f"{backend}: {args.outbound} mails out through the job queue")
            outbound.append(run_outbound(backend, url, args.outbound))
    print(inbound_table(inbound))
    print()
    print(outbound_table(outbound))
    if args.write_docs:
        command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
        write_section(
            "mail",
            "## Email in and out\n\n"
            "Inbound: `caredesk smtp` (one process) on loopback; smtplib clients on kept "
            "connections send messages as fast as the listener answers, 70% opening new cases "
            "from 500 senders and 30% replying to earlier messages by In-Reply-To. Each "
            "message is parsed, threaded, stored with its raw source, triaged (sentiment, "
            "risk, moments; the embedding model off) and audited, and each new case queues "
            "its acknowledgement, all in one transaction before the `250`. The bare sink is an "
            "aiosmtpd `Controller` in a process of its own whose handler answers `250` once it "
            "has read DATA, driven by the same clients with the same messages just before; the "
            "share is caredesk's rate over the sink's.\n\n"
            f"{inbound_table(inbound)}\n\n"
            "Outbound: mails queued with `send_customer_mail` (a template each), then one job "
            "worker renders each MIME message once and sends it through SmtpMailer (one kept "
            "connection) into a local aiosmtpd sink.\n\n"
            f"{outbound_table(outbound)}\n\n"
            f"Command: `{command}`",
            conditions,
        )


if __name__ == "__main__":
    main()
