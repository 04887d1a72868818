"""The `caredesk` command line (Typer)."""
