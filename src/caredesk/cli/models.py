"""`caredesk models`: prepare the files that let processes encode without torch."""

from __future__ import annotations

import typer

from caredesk.cli.common import err, out
from caredesk.domain.errors import DomainError
from caredesk.settings import Settings

app = typer.Typer(help="The sentence encoder's prepared files (docs/knowledge.md).")
app.info.no_args_is_help = True


@app.command("prepare")
def prepare() -> None:
    """Export the sentence encoder to ONNX in CAREDESK_MODEL_DIR, once per model.

    Processes that find the file encode with ONNX Runtime and never import torch; it takes
    torch and a few seconds once, and a model already prepared is left as it is."""
    from caredesk.bootstrap.models import prepare_models

    try:
        file = prepare_models(Settings())
    except DomainError as exc:
        err.print(f"[red]error[/red] ({exc.code.value}): {exc.message}")
        raise typer.Exit(1) from exc
    out.print(f"the sentence encoder is ready in {file}")
