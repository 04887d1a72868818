"""`caredesk conformance`: replay public benchmarks through caredesk's services and policy."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from caredesk.cli.common import err, out
from caredesk.domain.errors import DomainError

app = typer.Typer(help="Replay public benchmarks through caredesk.", no_args_is_help=True)


@app.command("tau-retail")
def tau_retail(
    data: Annotated[
        Path, typer.Option(exists=True, file_okay=False, help="users/products/orders.json")
    ],
    tasks: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="A tasks JSON file.")],
    out_file: Annotated[Path, typer.Option("--out", help="Where to write one JSON line per task.")],
    policy_file: Annotated[
        Path | None, typer.Option("--policy", exists=True, help="Policy (default: tau_retail).")
    ] = None,
    expected: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Reference end states to compare with."),
    ] = None,
) -> None:
    """Run each task's write actions as an agent acting for the task's verified customer."""
    from caredesk.conformance import tau_retail as replay

    started = time.perf_counter()
    try:
        with Progress(console=err, transient=True) as progress:
            bar = progress.add_task("replaying tasks", total=None)
            summary = replay.run(
                data,
                tasks,
                out_file,
                policy_file.read_text(encoding="utf-8") if policy_file else None,
                lambda done, total: progress.update(bar, completed=done, total=total),
            )
    except DomainError as exc:
        err.print(f"[red]error[/red] ({exc.code.value}): {exc.message}")
        raise typer.Exit(1) from exc
    seconds = time.perf_counter() - started
    table = Table("tasks", "actions done", "refused", "seconds", title="tau-bench retail replay")
    table.add_row(str(summary.tasks), str(summary.done), str(summary.refused), f"{seconds:.1f}")
    out.print(table)
    for code, count in summary.codes.most_common():
        out.print(f"  refused with {code}: {count}")
    if expected is not None:
        ours = [json.loads(line) for line in out_file.read_text().splitlines()]
        theirs = [json.loads(line) for line in expected.read_text().splitlines()]
        problems = [] if len(ours) == len(theirs) else [f"{len(ours)} tasks vs {len(theirs)}"]
        for a, b in zip(ours, theirs, strict=False):
            problems += replay.compare(a, b)
        for problem in problems[:20]:
            out.print(f"  [red]mismatch[/red] {problem}")
        out.print(f"{len(problems)} mismatches with {expected}")
        if problems:
            raise typer.Exit(1)
