"""`caredesk customers erase` and `caredesk retention run`: personal data, erased or aged out."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from caredesk.cli.common import as_desk, desk, err, out

customers_app = typer.Typer(help="Customers: erase a person's data.", no_args_is_help=True)
retention_app = typer.Typer(help="Retention: age out old personal data.", no_args_is_help=True)


def _counts_table(title: str, counts: dict[str, int]) -> Table:
    table = Table(title=title)
    table.add_column("kind")
    table.add_column("records", justify="right")
    for kind, n in counts.items():
        table.add_row(kind.replace("_", " "), str(n))
    if not counts:
        table.add_row("(nothing)", "0")
    return table


@customers_app.command("erase")
def erase(
    customer_id: Annotated[str, typer.Argument(help="The customer's id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a customer's personal data everywhere (admin; audited; cannot be undone).

    Names, addresses, phone numbers, their words in cases and mail, attachments and raw
    mail are replaced or removed; orders, amounts, the ledger and who-did-what stay."""
    from caredesk.services.privacy import erasure

    if not yes:
        if not sys.stdin.isatty():
            err.print("error: give --yes when not on a terminal")
            raise typer.Exit(2)
        typer.confirm(
            f"Erase customer {customer_id}'s personal data for good?", abort=True, err=True
        )
    with desk() as container:
        report = as_desk(
            container,
            erasure.erase_customer,
            customer_id,
            compactor=container.storage,
        )
    if report.already_erased:
        out.print(
            f"customer {customer_id} was erased already, at {report.erased_at:%Y-%m-%d %H:%M}"
        )
        return
    out.print(_counts_table(f"customer {customer_id} erased", report.counts))


@retention_app.command("run")
def run(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go; change nothing.")
    ] = False,
) -> None:
    """Apply the retention rules (CAREDESK_RETENTION_*) now and say what was removed."""
    from caredesk.services.privacy import erasure

    with desk() as container:
        rules = container.retention
        if not rules.active:
            out.print("no retention rule is set (CAREDESK_RETENTION_*): everything is kept")
            return
        report = as_desk(
            container,
            erasure.run_retention,
            rules,
            dry_run=dry_run,
            compactor=container.storage,
        )
    title = "retention (dry run): would remove" if dry_run else "retention: removed"
    out.print(_counts_table(title, report.counts))
