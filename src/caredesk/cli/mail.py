"""`caredesk smtp` (the inbound SMTP listener) and `caredesk import mbox|maildir`."""

from __future__ import annotations

import mailbox
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from caredesk.cli.common import desk, err, out

if TYPE_CHECKING:
    from caredesk.services.channels.mail_in import MailIntake


def smtp(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="TCP port (25 needs privileges; 2525 does not).")
    ] = 2525,
    workers: Annotated[
        int, typer.Option(help="Threads storing mail (PostgreSQL; SQLite uses one).")
    ] = 4,
) -> None:
    """Receive mail over SMTP into cases, until interrupted (Ctrl-C or SIGTERM)."""
    from caredesk.bootstrap import accepted_domains, smtp_listener

    with desk(models=True) as container:
        settings = container.settings
        if container.engine.dialect.name == "sqlite":
            workers = 1
        listener = smtp_listener(container, host=host, port=port, workers=workers)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        listener.start()
        out.print(
            f"caredesk SMTP on {host}:{port} for {', '.join(accepted_domains(settings))} "
            f"(messages up to {settings.mail_max_message_bytes} bytes)"
        )
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            listener.stop()


def _history_intake(intake: MailIntake) -> MailIntake:
    # History is filed, never answered: no acknowledgements go out for imported mail.
    return replace(intake, config=replace(intake.config, acknowledge=False))


def _import(kind: str, messages: Iterator[bytes], total: int) -> None:
    from caredesk.services.channels.mail_in import Envelope

    with desk(models=True) as container:
        intake = _history_intake(container.mail_intake())
        outcomes: Counter[str] = Counter()
        columns = (
            TextColumn("importing {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=err, transient=True) as progress:
            task = progress.add_task(kind, total=total)
            for raw in messages:
                result = intake.deliver(raw, Envelope(source="import"), rate_limit=False)
                outcomes[result.outcome.value] += 1
                progress.advance(task)
    summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
    out.print(f"imported {sum(outcomes.values())} messages: {summary or 'none'}")


def import_mbox(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An mbox file.")],
) -> None:
    """Import the messages of an mbox file into cases (threaded; nothing is sent)."""
    box = mailbox.mbox(path, create=False)
    try:
        keys = list(box.keys())
        _import("mbox", (box.get_bytes(key) for key in keys), len(keys))
    finally:
        box.close()


def import_maildir(
    path: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="A Maildir.")],
) -> None:
    """Import the messages of a Maildir (cur/ and new/) into cases (threaded; nothing is sent)."""
    box = mailbox.Maildir(path, create=False)
    keys = sorted(box.keys())
    _import("maildir", (box.get_bytes(key) for key in keys), len(keys))
