"""What every command shares: the consoles and the container with clean error exits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from caredesk.bootstrap import Container, bootstrap, ensure_policy_in_force
from caredesk.domain.errors import DomainError
from caredesk.logging import configure_logging
from caredesk.settings import Settings

out = Console()
err = Console(stderr=True, soft_wrap=True)


@contextmanager
def desk() -> Iterator[Container]:
    """Build the container for one command, and turn refusals into a message and exit 1."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    container = bootstrap(settings)
    try:
        ensure_policy_in_force(container)
        yield container
    except DomainError as exc:
        err.print(f"[red]error[/red] ({exc.code.value}): {exc.message}")
        raise typer.Exit(1) from exc
    finally:
        container.close()
