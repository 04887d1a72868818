"""Time the tau-bench retail conformance replay and check it against the reference.

    python bench/conformance.py --data DIR --tasks FILE [--expected FILE] [...] [--write-docs]

Each `--tasks` may be followed by its `--expected` reference; the wall time, tasks per
second and mismatch count are printed per file.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

from _common import Conditions, add_run_arguments, write_section
from caredesk.conformance import tau_retail as replay

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--tasks", type=Path, action="append", required=True)
    parser.add_argument("--expected", type=Path, action="append", default=[])
    add_run_arguments(parser)
    args = parser.parse_args()
    conditions = Conditions.begin(args)
    rows = [
        "| tasks file | tasks | actions done | refused | mismatches | wall time (s) | tasks/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for index, tasks in enumerate(args.tasks):
        expected = args.expected[index] if index < len(args.expected) else None
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.jsonl"
            started = time.perf_counter()
            summary = replay.run(args.data, tasks, out)
            seconds = time.perf_counter() - started
            mismatches: int | str = "n/a"
            if expected is not None:
                ours = [json.loads(x) for x in out.read_text().splitlines()]
                theirs = [json.loads(x) for x in expected.read_text().splitlines()]
                problems = [
                    p for a, b in zip(ours, theirs, strict=True) for p in replay.compare(a, b)
                ]
                mismatches = len(problems)
        rows.append(
            f"| {tasks.name} | {summary.tasks} | {summary.done} | {summary.refused} | "
            f"{mismatches} | {seconds:.1f} | {summary.tasks / seconds:.1f} |"
        )
    body = "\n".join(rows)
    print(body)
    if args.write_docs:
        command = "python bench/conformance.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        write_section(
            "conformance",
            "## tau-bench retail conformance replay\n\n"
            "Each task on a fresh copy of the imported store (500 users, 1,000 orders, 50 "
            "products), every write action through the tool API and the retail policy, "
            "the end state compared with the reference (floats to 1e-6).\n\n"
            f"{body}\n\nCommand: `{command}`",
            conditions,
        )


if __name__ == "__main__":
    main()
