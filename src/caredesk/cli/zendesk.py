"""`caredesk import zendesk`: a Zendesk account's history filed into the desk, resumably."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from caredesk.cli.common import desk, err, out, require_schema

if TYPE_CHECKING:
    from caredesk.bootstrap import Container
    from caredesk.services.zendesk.import_records import Outcome, Skip
    from caredesk.services.zendesk.ports import ZendeskSource

TOKEN_ENV = "CAREDESK_ZENDESK_TOKEN"


class RateColumn(ProgressColumn):
    """Objects a second, as the bar for a stream of unknown length can show its pace."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f}/s" if speed else "", style="progress.data.speed")


class ImportScreen:
    """The progress bars, the counts for the summary, and the report of what was skipped."""

    def __init__(self, progress: Progress, report: TextIO) -> None:
        self.progress = progress
        self.report = report
        self.tasks: dict[str, TaskID] = {}
        self.counts: dict[str, Counter[str]] = {}

    def counted(self, kind: str, outcome: Outcome) -> None:
        if kind not in self.tasks:
            self.tasks[kind] = self.progress.add_task(kind, total=None)
        self.counts.setdefault(kind, Counter())[outcome.value] += 1
        self.progress.advance(self.tasks[kind])

    def skipped(self, skip: Skip) -> None:
        self.report.write(json.dumps(skip.line(), default=str) + "\n")
        self.report.flush()

    def stored(self, kind: str) -> None:
        return None

    def summary(self) -> Table:
        table = Table(title="caredesk import zendesk")
        for column in ("kind", "imported", "updated", "unchanged", "skipped"):
            table.add_column(column, justify="left" if column == "kind" else "right")
        for kind, counts in self.counts.items():
            cells = [str(counts[c]) for c in ("imported", "updated", "unchanged", "skipped")]
            table.add_row(kind, *cells)
        return table


def import_zendesk(
    url: Annotated[str, typer.Option(help="The account, e.g. https://acme.zendesk.com.")],
    email: Annotated[str, typer.Option(help="The email of the Zendesk agent the token is of.")],
    token: Annotated[
        str,
        typer.Option(
            envvar=TOKEN_ENV,
            help=f"The Zendesk API token; better given in {TOKEN_ENV}, out of shell history.",
        ),
    ],
    report: Annotated[
        Path | None,
        typer.Option(help="The JSON Lines file listing what was skipped, and why."),
    ] = None,
) -> None:
    """Import a Zendesk account: users, organisations, groups, ticket fields, tickets with
    every comment and file, and satisfaction ratings (nothing is sent; run again to resume
    or to pick up what changed)."""
    from caredesk.adapters.zendesk_source import ZenpySource
    from caredesk.services.zendesk.ports import SourceRefused

    try:
        # The account and the credential first: a refusal stops before the desk is opened.
        source = ZenpySource(url, email, token)
        source.check()
    except SourceRefused as exc:
        err.print(f"[red]error[/red]: {exc}", highlight=False)
        raise typer.Exit(1) from exc
    with desk() as container:
        require_schema(container)
        stamp = container.clock.now().strftime("%Y%m%dT%H%M%SZ")
        report_path = report or Path(f"zendesk-import-{stamp}.jsonl")
        _run(container, source, report_path)
    out.print(f"skipped records: {report_path}", highlight=False)


def _run(container: Container, source: ZendeskSource, report_path: Path) -> None:
    from caredesk.domain.agents import SYSTEM
    from caredesk.services.zendesk.imports import ZendeskImport
    from caredesk.services.zendesk.ports import SourceRefused

    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}"))
    with report_path.open("a", encoding="utf-8") as lines:
        progress = Progress(*columns, RateColumn(), console=err)
        screen = ImportScreen(progress, lines)
        try:
            run = ZendeskImport(
                source=source,
                new_unit=container.uow,
                actor=SYSTEM,
                now=container.clock.now(),
                observer=screen,
                limits=container.attachment_limits,
                triage=container.triage,
            )
            with progress:
                run.run()
        except SourceRefused as exc:
            err.print(f"[red]error[/red]: {exc}", highlight=False)
            raise typer.Exit(1) from exc
        except KeyboardInterrupt as exc:
            out.print(screen.summary())
            err.print("stopped: run the same command again to go on from here")
            raise typer.Exit(130) from exc
    out.print(screen.summary())
