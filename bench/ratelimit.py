"""Benchmark what the rate limiter costs: the API with the limiter off, on, and on Redis.

For each setting: a fresh SQLite database, `caredesk db upgrade`, an admin token, then
`caredesk serve` on a free loopback port. K client threads share N requests to a cheap
authenticated endpoint (`GET /api/v1/me`: the token check, one read) after a short warm-up.
The limits are set far above what the run sends, so the limiter counts every request and
refuses none: the difference is the cost of counting. Prints requests/s, p50/p99 latency
and the server's resident memory (now and peak) for each; everything stops by itself.

    python bench/ratelimit.py [--requests N] [--clients K] [--redis URL] [--write-docs]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx
import redis
from rich.console import Console

from _common import Conditions, add_run_arguments, database, percentile, write_section
from api import caredesk, command_line, proc_status_kb, serve

console = Console(stderr=True)
REQUEST_TIMEOUT = 30.0
# Far above anything this script sends: the limiter counts and never refuses.
UNREACHED_RATE = "999999999/minute"


@dataclass
class Result:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    rss_mb: float = 0.0
    peak_rss_mb: float = 0.0


def drive(base: str, headers: dict[str, str], requests: int, clients: int) -> Result:
    """`clients` threads take requests from one budget until it is spent."""
    result = Result("")
    lock = threading.Lock()
    budget = iter(range(requests))

    def client() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=REQUEST_TIMEOUT) as http:
            while True:
                with lock:
                    if next(budget, None) is None:
                        return
                started = time.perf_counter()
                try:
                    ok = http.get("/api/v1/me").status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    result.latencies_ms.append(elapsed)
                    result.errors += 0 if ok else 1

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=REQUEST_TIMEOUT * (requests // clients + 2))
    result.seconds = time.perf_counter() - started
    return result


def run(name: str, extra_env: dict[str, str], args: argparse.Namespace) -> Result:
    with database("sqlite") as url, tempfile.TemporaryDirectory(prefix="caredesk-rl-") as tmp:
        env = {
            **os.environ,
            "CAREDESK_DATABASE_URL": url,
            "CAREDESK_LOG_LEVEL": "warning",
            "CAREDESK_SEMANTIC_SEARCH": "false",
            "CAREDESK_RATE_LIMIT_PER_CLIENT": UNREACHED_RATE,
            "CAREDESK_RATE_LIMIT_PER_TOKEN": UNREACHED_RATE,
            **extra_env,
        }
        caredesk(env, "db", "upgrade")
        secret = caredesk(env, "tokens", "create", "--role", "admin", "--name", "bench")
        headers = {"Authorization": f"Bearer {secret.strip().splitlines()[-1].strip()}"}
        with serve(env, Path(tmp) / "server.log") as server:
            console.print(f"{name}: {args.requests} requests from {args.clients} clients")
            drive(server.base, headers, args.warmup, args.clients)
            result = drive(server.base, headers, args.requests, args.clients)
            result.rss_mb = proc_status_kb(server.process.pid, "VmRSS") / 1024
            result.peak_rss_mb = proc_status_kb(server.process.pid, "VmHWM") / 1024
    result.name = name
    return result


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def table(results: list[Result]) -> str:
    lines = [
        "| limiter | requests | errors | req/s | p50 (ms) | p99 (ms) | server RSS (MB) "
        "| peak RSS (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rate = len(r.latencies_ms) / r.seconds if r.seconds else 0.0
        lines.append(
            f"| {r.name} | {len(r.latencies_ms)} | {r.errors} | {rate:.0f} | "
            f"{percentile(r.latencies_ms, 50):.1f} | {percentile(r.latencies_ms, 99):.1f} | "
            f"{r.rss_mb:.0f} | {r.peak_rss_mb:.0f} |"
        )
    return "\n".join(lines)


DOCS_INTRO = """## Rate limiter

Produced by `bench/ratelimit.py`. For each setting a fresh SQLite database is migrated,
`caredesk serve` (one process, semantic search off) runs on loopback, and {clients} client
threads share {requests} requests to `GET /api/v1/me` (the token check and one read) after
{warmup} unmeasured ones. With the limiter on, the limits are set far above the load, so
every request is counted (per client address and per token) and none is refused. The
clients share the machine's cores with the server."""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Needs the project installed in the running interpreter (.venv/bin/python).",
    )
    parser.add_argument(
        "--requests", type=int, default=20_000, help="measured requests (default: %(default)s)"
    )
    parser.add_argument(
        "--clients", type=int, default=8, help="concurrent clients (default: %(default)s)"
    )
    parser.add_argument(
        "--warmup", type=int, default=200, help="unmeasured requests first (default: %(default)s)"
    )
    parser.add_argument(
        "--redis",
        metavar="URL",
        help="also measure the limiter counting in this Redis (e.g. redis://127.0.0.1:6379/0)",
    )
    add_run_arguments(parser)
    args = parser.parse_args()
    conditions = Conditions.begin(args)
    if args.requests < 1 or args.clients < 1 or args.warmup < 0:
        parser.error("--requests and --clients must be positive, --warmup not negative")
    # A plain `kill` must clean up as Ctrl-C does: unwind, stop the server, drop the files.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    settings = [
        ("off", {"CAREDESK_RATE_LIMITS": "false"}),
        ("on, in memory", {"CAREDESK_RATE_LIMITS": "true"}),
    ]
    if args.redis and not redis_answers(args.redis):
        console.print(f"no Redis answers at {args.redis}: measuring without it")
    elif args.redis:
        settings.append(
            ("on, Redis", {"CAREDESK_RATE_LIMITS": "true", "CAREDESK_REDIS_URL": args.redis})
        )
    results = [run(name, env, args) for name, env in settings]
    figures = table(results)
    print(figures)
    if args.write_docs:
        intro = DOCS_INTRO.format(clients=args.clients, requests=args.requests, warmup=args.warmup)
        write_section(
            "ratelimit",
            f"{intro}\n\n{figures}\n\nCommand: `{command_line()}`.",
            conditions,
        )


if __name__ == "__main__":
    main()
