"""What every command shares: the consoles and the container with clean error exits."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import typer
from rich.console import Console

from caredesk.domain.agents import SYSTEM, Actor
from caredesk.domain.errors import DomainError
from caredesk.logging import configure_logging
from caredesk.settings import Settings, UnsafeSettings

if TYPE_CHECKING:
    from caredesk.bootstrap import Container

P = ParamSpec("P")
T = TypeVar("T")

out = Console()
err = Console(stderr=True, soft_wrap=True)


def build_or_exit(settings: Settings) -> Container:
    """The container, or a one-line message naming the setting to fix and exit 1."""
    from caredesk.bootstrap import bootstrap

    try:
        return bootstrap(settings)
    except UnsafeSettings as exc:
        err.print(f"[red]error[/red]: {exc}")
        raise typer.Exit(1) from exc


def require_schema(container: Container) -> None:
    """Exit 1 with what to run when the database does not stand at this desk's schema: a
    command that writes much (an import) says so before it starts, not in a traceback."""
    from caredesk.adapters.db.migrate import current_heads, script_heads

    if current_heads(container.engine) != script_heads(container.engine):
        err.print(
            "[red]error[/red]: the database is not at this desk's schema: "
            "run `caredesk db upgrade` first"
        )
        raise typer.Exit(1)


def print_rows(
    rows: Iterable[Iterable[object]],
    *,
    soft_wrap: bool = False,
    plain: bool = False,
    empty: str | None = None,
) -> None:
    """A listing: one line per row, its cells tab-separated, for `cut` and `grep` to read.

    `plain` prints cells that may hold brackets as written (no markup, no highlighting);
    `empty` is said when there is no row.
    """
    printed = False
    for row in rows:
        line = "\t".join(str(cell) for cell in row)
        if plain:
            out.print(line, soft_wrap=soft_wrap, highlight=False, markup=False)
        else:
            out.print(line, soft_wrap=soft_wrap)
        printed = True
    if not printed and empty is not None:
        out.print(empty)


@contextmanager
def desk(
    *, models: bool = False, settings: Settings | None = None, policy: bool = True
) -> Iterator[Container]:
    """Build the container for one command, and turn refusals into a message and exit 1.

    The embedding and intent models load only for commands that ask (`models=True`): they
    take seconds and hundreds of megabytes, which a migration or a token does not need.
    `policy=False` leaves a database with no policy without one, for a restore that must find
    it empty.
    """
    # Imported here, not at the top: `caredesk --help` and argument errors stay instant.
    from caredesk.bootstrap import ensure_policy_in_force

    settings = settings or Settings()
    if not models:
        settings = settings.model_copy(update={"semantic_search": False})
    configure_logging(settings.log_level, settings.log_json)
    container = build_or_exit(settings)
    try:
        if policy:
            ensure_policy_in_force(container)
        yield container
    except DomainError as exc:
        err.print(f"[red]error[/red] ({exc.code.value}): {exc.message}")
        raise typer.Exit(1) from exc
    finally:
        container.close()


def as_desk(
    container: Container,
    command: Callable[Concatenate[Any, Actor, datetime, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """A command the desk gives itself from the command line, now, in a unit of work of its
    own: the CLI's counterpart of an agent's `SignedIn.run` on a page."""
    return command(container.uow(), SYSTEM, container.clock.now(), *args, **kwargs)


def run_on_desk(
    command: Callable[Concatenate[Any, Actor, datetime, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """Open the desk for one command given as the desk itself (`as_desk`), then close it."""
    with desk() as container:
        return as_desk(container, command, *args, **kwargs)
