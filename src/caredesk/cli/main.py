"""`caredesk`: serve the desk, migrate, load the demo, manage agents and tokens, import data."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import TaskID

from caredesk.cli import conformance as conformance_cli
from caredesk.cli import knowledge as knowledge_cli
from caredesk.cli import lifecycle as lifecycle_cli
from caredesk.cli import mail as mail_cli
from caredesk.cli import models as models_cli
from caredesk.cli import policy as policy_cli
from caredesk.cli import portal as portal_cli
from caredesk.cli import privacy as privacy_cli
from caredesk.cli import reports as reports_cli
from caredesk.cli import sla as sla_cli
from caredesk.cli import worker as worker_cli
from caredesk.cli import zendesk as zendesk_cli
from caredesk.cli.common import as_desk, desk, err, out, print_rows, run_on_desk
from caredesk.domain.agents import SYSTEM, Role
from caredesk.logging import configure_logging
from caredesk.settings import DEFAULT_BASE_URL, Settings, UnsafeSettings

app = typer.Typer(
    name="caredesk",
    help="caredesk: a customer-service desk that lets the front line say yes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
demo_app = typer.Typer(help="The generated demo store.", no_args_is_help=True)
agents_app = typer.Typer(help="Agents: the people who work cases.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens.", no_args_is_help=True)
import_app = typer.Typer(help="Load data from other systems.", no_args_is_help=True)
export_app = typer.Typer(help="Write data out in other systems' formats.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(agents_app, name="agents")
# `caredesk users …` came first: scripts that call it keep working (docs/glossary.md,
# "Deprecated names").
app.add_typer(agents_app, name="users", hidden=True, deprecated=True)
app.add_typer(tokens_app, name="tokens")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(policy_cli.app, name="policy")
app.add_typer(portal_cli.app, name="portal")
app.add_typer(privacy_cli.customers_app, name="customers")
app.add_typer(privacy_cli.retention_app, name="retention")
app.add_typer(conformance_cli.app, name="conformance")
app.add_typer(lifecycle_cli.cases_app, name="cases")
app.add_typer(lifecycle_cli.commitments_app, name="commitments")
app.add_typer(lifecycle_cli.proactive_app, name="proactive")
app.command("smtp")(mail_cli.smtp)
import_app.command("mbox")(mail_cli.import_mbox)
import_app.command("maildir")(mail_cli.import_maildir)
import_app.command("zendesk")(zendesk_cli.import_zendesk)
app.add_typer(knowledge_cli.kb_app, name="kb")
app.add_typer(knowledge_cli.triage_app, name="triage")
app.add_typer(models_cli.app, name="models")
app.command("worker")(worker_cli.worker)
app.add_typer(sla_cli.app, name="sla")
app.add_typer(reports_cli.app, name="reports")
app.add_typer(sla_cli.webhooks_app, name="webhooks")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only).")] = 1,
) -> None:
    """Serve the console and the API."""
    import uvicorn

    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    try:
        settings.check_production()  # here, before uvicorn, to say it in one line
    except UnsafeSettings as exc:
        err.print(f"[red]error[/red]: {exc}")
        raise typer.Exit(1) from exc
    if workers > 1 and settings.database_url.startswith("sqlite"):
        err.print("[yellow]SQLite serves one process; starting one worker.[/yellow]")
        workers = 1
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each process counts its requests in files here; /metrics from any one sums them.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="caredesk-metrics-")
    base = desk_address(host, port)
    if not (settings.base_url or settings.portal_url) and base != DEFAULT_BASE_URL:
        # Sign-in links take the request's address, but the worker has no request.
        err.print(
            f"[yellow]CAREDESK_BASE_URL is not set: links in mail the worker sends (surveys) "
            f"point at {DEFAULT_BASE_URL}; set it to this server's public address.[/yellow]"
        )
    out.print(f"caredesk on {base}/  (API docs: {base}/api/docs)")
    if settings.outbound_transport == "outbox":
        out.print(
            f"outbound mail is kept, not sent: read it at {base}/admin/outbox "
            "(set CAREDESK_SMTP_HOST to send it)"
        )
    uvicorn.run(
        "caredesk.web.asgi:build",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "heads") -> None:
    """Migrate the database to the latest schema (or REVISION)."""
    from caredesk.bootstrap import upgrade_database

    with desk() as container:
        heads = upgrade_database(container, revision)
        out.print(f"database at revision {', '.join(heads) or 'base'}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()]) -> None:
    """Migrate the database back to REVISION ('base' empties it)."""
    from caredesk.bootstrap import downgrade_database

    with desk() as container:
        heads = downgrade_database(container, revision)
        out.print(f"database at revision {', '.join(heads) or 'base'}")


@demo_app.command("load")
def demo_load(
    customers: Annotated[int, typer.Option(help="How many customers to generate.")] = 300,
    host: Annotated[
        str, typer.Option(help="Host `caredesk serve` listens on (for the printed addresses).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Port `caredesk serve` listens on (for the printed addresses).")
    ] = 8000,
) -> None:
    """Load the generated demo store (idempotent) and print how to sign in."""
    from caredesk import demo
    from caredesk.services.access import auth

    base = desk_address(host, port)

    with desk() as container:
        settings = container.settings
        if settings.production:
            # The demo signs in with a password printed in the README and this output.
            err.print(
                "[red]error[/red]: CAREDESK_ENV=production: the demo store's admin has a "
                "published password; load the demo on a development desk only"
            )
            raise typer.Exit(1)
        now = container.clock.now()
        summary = demo.load_demo(
            container.uow,
            container.hasher,
            now,
            seed=settings.demo_seed,
            customers=customers,
            admin_email=settings.demo_admin_email,
            admin_password=settings.demo_admin_password,
            timezone=settings.desk_timezone,
        )
        auth.revoke_tokens_named(container.uow(), SYSTEM, now, demo.DEMO_TOKEN_NAME)
        issued = auth.create_token(
            container.uow(),
            SYSTEM,
            now,
            name=demo.DEMO_TOKEN_NAME,
            role=Role.ADMIN,
            agent_id=summary.admin_id,
        )
        out.print(summary.describe())
        _print_demo_access(settings, base, issued.secret)


def _print_demo_access(settings: Settings, base: str, token: str) -> None:
    """Where to sign in to the demo, as whom, and the admin's fresh API token."""
    out.print(
        f"Sign in at {base}/ as a story's agent above, or as the admin {settings.demo_admin_email}",
        soft_wrap=True,
    )
    out.print(f"  password (every demo account): {settings.demo_admin_password}")
    out.print(f"Customers' portal: {base}/portal", soft_wrap=True)
    out.print(
        f"  a customer's sign-in link: caredesk portal link EMAIL --url {base}/portal",
        soft_wrap=True,
    )
    out.print(f"API docs: {base}/api/docs", soft_wrap=True)
    if settings.outbound_transport == "outbox":
        out.print(
            f"Mail is kept, not sent: customers sign in at {base}/portal and the link "
            f"they are mailed waits at {base}/admin/outbox",
            soft_wrap=True,
        )
    out.print("API token (admin; shown once, a fresh one each load):")
    out.print(f"  {token}", soft_wrap=True)


def desk_address(host: str, port: int) -> str:
    """The address a browser uses for `caredesk serve --host HOST --port PORT`."""
    # An IPv6 literal goes in brackets in a URL.
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@agents_app.command("create")
def agents_create(
    email: Annotated[str, typer.Option(help="Sign-in email.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[Role, typer.Option(help="admin, lead, editor, agent or viewer.")] = Role.AGENT,
    password: Annotated[
        str | None,
        typer.Option(help="At least 10 characters; asked for when omitted.", hide_input=True),
    ] = None,
    team: Annotated[list[str] | None, typer.Option(help="Team name (repeatable).")] = None,
) -> None:
    """Create an agent who can sign in to the console."""
    from caredesk.services.access import auth

    if password is None:
        if not sys.stdin.isatty():
            err.print("error: give --password when not on a terminal")
            raise typer.Exit(2)
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with desk() as container:
        agent = auth.create_agent(
            container.uow(),
            SYSTEM,
            container.hasher,
            container.clock.now(),
            email=email,
            name=name,
            role=role,
            password=password,
            team_names=team or [],
        )
        out.print(f"agent {agent.id} {agent.email} ({agent.role.value}) created")


@agents_app.command("list")
def agents_list() -> None:
    """List agents."""
    from caredesk.services.access import auth

    with desk() as container:
        print_rows(
            (a.id, a.email, a.role.value, "active" if a.active else "inactive")
            for a in auth.list_agents(container.uow(), SYSTEM)
        )


@agents_app.command("unlock")
def agents_unlock(email: Annotated[str, typer.Argument(help="The agent's sign-in email.")]) -> None:
    """Lift an agent's sign-in lock after too many failed sign-ins (audited)."""
    from caredesk.services.access import auth

    with desk() as container:
        agent = auth.find_agent(container.uow(), SYSTEM, email)
        assert agent.id is not None
        as_desk(container, auth.unlock_agent, agent.id)
        out.print(f"agent {agent.id} {agent.email} unlocked")


@tokens_app.command("create")
def tokens_create(
    role: Annotated[Role, typer.Option(help="admin, lead, editor, agent or viewer.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    agent_email: Annotated[
        str | None, typer.Option(help="Act as this agent (their id is recorded).")
    ] = None,
    customer: Annotated[
        str | None, typer.Option(help="Act only for this verified customer (id).")
    ] = None,
    tool: Annotated[
        list[str] | None, typer.Option(help="Limit the token to this tool (repeatable).")
    ] = None,
    rate_limit: Annotated[
        str | None,
        typer.Option(help="Requests it may make, e.g. 60/minute (else the desk's default)."),
    ] = None,
) -> None:
    """Create an API token. The secret is printed on the last line, once."""
    from caredesk.services.access import auth

    with desk() as container:
        agent_id = None
        if agent_email:
            agent_id = auth.find_agent(container.uow(), SYSTEM, agent_email).id
        issued = as_desk(
            container,
            auth.create_token,
            name=name,
            role=role,
            agent_id=agent_id,
            customer_id=customer,
            tools=tool or None,
            rate_limit=rate_limit,
        )
        err.print(f"token {issued.token.id} ({role.value}) created; it is shown only now:")
        print(issued.secret)


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument()]) -> None:
    """Revoke an API token."""
    from caredesk.services.access import auth

    run_on_desk(auth.revoke_token, token_id)
    out.print(f"token {token_id} revoked")


@app.command("mcp")
def mcp_server(
    token: Annotated[
        str | None,
        typer.Option(envvar="CAREDESK_MCP_TOKEN", help="API token (or CAREDESK_MCP_TOKEN)."),
    ] = None,
) -> None:
    """Serve the tool API to an AI agent over MCP (stdio), with the token's authority."""
    from caredesk.cli import mcp

    if not token:
        err.print("error: give --token or set CAREDESK_MCP_TOKEN")
        raise typer.Exit(2)
    with desk() as container:
        mcp.serve(container, token)


@import_app.command("tau-retail")
def import_tau_retail(
    directory: Annotated[
        Path, typer.Argument(exists=True, file_okay=False, help="Holds users/products/orders.json")
    ],
) -> None:
    """Load users, products and orders in the tau-bench retail JSON format."""
    from rich.progress import Progress

    from caredesk.conformance import tau_files
    from caredesk.conformance import tau_format as tau_retail

    with desk() as container, Progress(console=err, transient=True) as progress:
        data = tau_files.read_dir(directory)
        tasks: dict[str, TaskID] = {}

        def advance(kind: str, done: int, total: int) -> None:
            if kind not in tasks:
                tasks[kind] = progress.add_task(f"importing {kind}", total=total)
            progress.update(tasks[kind], completed=done)

        counts = tau_retail.import_store(container.uow, container.clock.now(), data, advance)
    out.print(
        f"imported {counts.customers} customers, {counts.products} products, {counts.orders} orders"
    )


@export_app.command("tau-retail")
def export_tau_retail(
    directory: Annotated[Path, typer.Argument(file_okay=False, help="Where to write the files.")],
) -> None:
    """Write users, products and orders in the tau-bench retail JSON format."""
    from caredesk.conformance import tau_files
    from caredesk.conformance import tau_format as tau_retail

    with desk() as container:
        data = tau_retail.export_store(container.uow)
        tau_files.write_dir(directory, data)
        out.print(
            f"wrote {len(data.users)} customers, {len(data.products)} products, "
            f"{len(data.orders)} orders to {directory}"
        )


@contextmanager
def _row_progress(verb: str) -> Iterator[Callable[[str, int, int], None]]:
    """A Rich bar per table on stderr, counting its rows (or bytes while checking)."""
    from rich.progress import MofNCompleteColumn, Progress, TextColumn

    bars: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description}"),
        *Progress.get_default_columns()[1:3],
        MofNCompleteColumn(),
        console=err,
        transient=True,
    ) as progress:

        def advance(label: str, done: int, total: int) -> None:
            if label not in bars:
                bars[label] = progress.add_task(f"{verb} {label}".strip(), total=total)
            progress.update(bars[label], completed=done, total=total)

        yield advance


@export_app.command("desk")
def export_desk(
    path: Annotated[
        Path,
        typer.Argument(
            dir_okay=False, help="The archive to write: NAME.tar, or NAME.tar.gz to compress it."
        ),
    ],
) -> None:
    """Write the whole desk to one archive: every table as JSON Lines, with a manifest and
    checksums (a backup, or the way to another database; docs/operations.md)."""
    from caredesk.bootstrap import export_desk as export_archive

    with desk() as container, _row_progress("exporting") as progress:
        manifest = export_archive(container, path, progress)
    out.print(
        f"wrote {manifest.rows:,} rows of {len(manifest.members)} tables to {path} "
        f"(schema {manifest.migration_head}, format {manifest.format_version}): "
        f"{manifest.rows_of('cases'):,} cases, {manifest.rows_of('messages'):,} messages, "
        f"{manifest.rows_of('blobs'):,} stored files",
        soft_wrap=True,
    )


@import_app.command("caredesk")
def import_caredesk(
    path: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help="An archive `caredesk export desk` wrote."
        ),
    ],
) -> None:
    """Restore a desk archive into an empty database (CAREDESK_DATABASE_URL), on either
    backend. The manifest, the target and every checksum are checked before anything is
    written."""
    from caredesk.bootstrap import import_desk

    with desk(policy=False) as container, _row_progress("") as progress:
        manifest = import_desk(container, path, progress)
    out.print(
        f"restored {manifest.rows:,} rows of {len(manifest.members)} tables from {path} "
        f"(written by caredesk {manifest.desk_version} on {manifest.source_backend} at "
        f"{manifest.created_at:%Y-%m-%d %H:%M:%S} UTC): "
        f"{manifest.rows_of('cases'):,} cases, {manifest.rows_of('messages'):,} messages",
        soft_wrap=True,
    )


if __name__ == "__main__":
    app()
