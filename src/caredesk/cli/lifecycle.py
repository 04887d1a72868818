"""`caredesk cases|commitments|proactive`: escalate, merge, split and undo; keep promises;
scan orders and shipments for what customers will complain about."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from caredesk.cli.common import as_desk, desk, out, print_rows, run_on_desk
from caredesk.domain.agents import SYSTEM, Actor
from caredesk.domain.errors import ValidationFailed
from caredesk.domain.lifecycle import CommitmentKind, CommitmentStatus

if TYPE_CHECKING:
    from caredesk.services.lifecycle.commitments import SweepReport
    from caredesk.services.lifecycle.options import LifecycleOptions
    from caredesk.services.lifecycle.proactive import ScanReport

R = TypeVar("R")

cases_app = typer.Typer(help="Escalate, merge, split and undo cases.", no_args_is_help=True)
commitments_app = typer.Typer(help="Promises made to customers.", no_args_is_help=True)
proactive_app = typer.Typer(
    help="Cases the desk opens before the customer complains.", no_args_is_help=True
)


@cases_app.command("escalate")
def escalate(
    case_id: Annotated[int, typer.Argument(help="The case to hand off.")],
    team: Annotated[str | None, typer.Option(help="Team name to hand it to.")] = None,
    lead: Annotated[str | None, typer.Option(help="Email of the lead to hand it to.")] = None,
    summary: Annotated[
        str | None, typer.Option(help="The handoff summary (default: accept the draft).")
    ] = None,
    question: Annotated[str, typer.Option(help="The open question for the receiver.")] = "",
) -> None:
    """Hand a case to a team or a lead with a summary, so nobody asks the customer again."""
    from caredesk.services.access import auth
    from caredesk.services.lifecycle import lifecycle

    with desk() as container:
        team_id = auth.find_team(container.uow(), SYSTEM, team).id if team else None
        lead_id = auth.find_agent(container.uow(), SYSTEM, lead).id if lead else None
        handoff = as_desk(
            container,
            lifecycle.escalate,
            case_id,
            team_id=team_id,
            lead_id=lead_id,
            summary=summary,
            open_question=question,
        )
        out.print(f"case {case_id} escalated (handoff {handoff.id}):")
        out.print(handoff.summary)


@cases_app.command("handoffs")
def handoffs(case_id: Annotated[int, typer.Argument()]) -> None:
    """Show a case's handoffs: summary, facts and open question."""
    from caredesk.services.lifecycle import lifecycle

    with desk() as container:
        for handoff in lifecycle.case_handoffs(container.uow(), SYSTEM, case_id):
            out.print(f"[bold]handoff {handoff.id}[/bold] {handoff.created_at:%Y-%m-%d %H:%M}")
            out.print(handoff.summary)
            if handoff.open_question:
                out.print(f"open question: {handoff.open_question}")


@cases_app.command("merge")
def merge(
    target: Annotated[int, typer.Argument(help="The case that stays.")],
    sources: Annotated[list[int], typer.Argument(help="The cases merged into it.")],
    force: Annotated[
        bool, typer.Option("--force", help="Merge even cases of different customers.")
    ] = False,
) -> None:
    """Merge cases of one customer into one; undo with `caredesk cases undo LINK`."""
    from caredesk.services.lifecycle import lifecycle

    result = run_on_desk(lifecycle.merge_cases, target, sources, force=force)
    for link in result.links:
        out.print(f"case {link.case_id} merged into {target} (link {link.id})")


@cases_app.command("split")
def split(
    case_id: Annotated[int, typer.Argument()],
    message: Annotated[list[int], typer.Option(help="A message to move (repeatable).")],
    subject: Annotated[str | None, typer.Option(help="The new case's subject.")] = None,
) -> None:
    """Move messages of a case into a new case; undo with `caredesk cases undo LINK`."""
    from caredesk.services.lifecycle import lifecycle

    result = run_on_desk(lifecycle.split_case, case_id, message, subject=subject)
    out.print(f"case {result.case.id} split from {case_id} (link {result.link.id})")


@cases_app.command("undo")
def undo(link_id: Annotated[int, typer.Argument(help="The merge or split link.")]) -> None:
    """Undo a merge (unmerge) or a split (unsplit)."""
    from caredesk.services.lifecycle import lifecycle

    result = run_on_desk(lifecycle.undo_link, link_id)
    out.print(f"{result.link.kind.value} link {link_id} undone")


@cases_app.command("links")
def links(case_id: Annotated[int, typer.Argument()]) -> None:
    """Merges, splits and follow-ups of a case."""
    from caredesk.services.lifecycle import lifecycle

    with desk() as container:
        print_rows(
            (
                link.id,
                f"{link.case_id} {link.kind.value} {link.other_case_id}",
                f"undone {link.undone_at:%Y-%m-%d %H:%M}" if link.undone_at else "in force",
            )
            for link in lifecycle.case_links(container.uow(), SYSTEM, case_id)
        )


@cases_app.command("repeat-asks")
def repeat_asks(
    by: Annotated[str, typer.Option(help="'agent' or 'case'.")] = "agent",
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
) -> None:
    """Asks for something the desk already had, counted per agent or per case."""
    from caredesk.services.lifecycle import lifecycle

    with desk() as container:
        for count in lifecycle.repeat_ask_counts(container.uow(), SYSTEM, by=by, limit=limit):
            kinds = ", ".join(f"{k} {n}" for k, n in count.by_kind.items())
            key = count.key if count.key is not None else "-"
            out.print(f"{by} {key}\t{count.total}\t{kinds}", soft_wrap=True)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@commitments_app.command("add")
def add_commitment(
    case_id: Annotated[int, typer.Argument()],
    kind: Annotated[CommitmentKind, typer.Option(help="callback, refund, delivery, reply…")],
    description: Annotated[str, typer.Option(help="What was promised.")],
    due: Annotated[datetime, typer.Option(help="When it is due (UTC unless an offset).")],
    owner: Annotated[str | None, typer.Option(help="Email of the agent who owns it.")] = None,
) -> None:
    """Record a promise made to the customer of a case."""
    from caredesk.services.access import auth
    from caredesk.services.lifecycle import lifecycle

    with desk() as container:
        owner_id = auth.find_agent(container.uow(), SYSTEM, owner).id if owner else None
        commitment = as_desk(
            container,
            lifecycle.record_commitment,
            case_id,
            kind=kind,
            description=description,
            due_at=_aware(due),
            owner_agent_id=owner_id,
        )
        out.print(f"commitment {commitment.id} due {commitment.due_at:%Y-%m-%d %H:%M} UTC")


def _resolve(commitment_id: int, status: CommitmentStatus) -> None:
    from caredesk.services.lifecycle import lifecycle

    run_on_desk(lifecycle.resolve_commitment, commitment_id, status)
    out.print(f"commitment {commitment_id} {status.value}")


@commitments_app.command("keep")
def keep(commitment_id: Annotated[int, typer.Argument()]) -> None:
    """Mark a promise kept."""
    _resolve(commitment_id, CommitmentStatus.KEPT)


@commitments_app.command("cancel")
def cancel(commitment_id: Annotated[int, typer.Argument()]) -> None:
    """Cancel a promise (it no longer applies)."""
    _resolve(commitment_id, CommitmentStatus.CANCELLED)


@commitments_app.command("list")
def list_commitments(
    status: Annotated[CommitmentStatus | None, typer.Option()] = CommitmentStatus.OPEN,
    case: Annotated[int | None, typer.Option(help="Only this case's.")] = None,
) -> None:
    """Commitments by due time."""
    from caredesk.services.lifecycle import lifecycle
    from caredesk.services.lifecycle.ports import CommitmentFilter

    with desk() as container:
        found = lifecycle.list_commitments(
            container.uow(), SYSTEM, CommitmentFilter(case_id=case, status=status), limit=500
        )
        print_rows(
            (
                (
                    c.id,
                    f"case {c.case_id}",
                    c.kind.value,
                    c.status.value,
                    f"{c.due_at:%Y-%m-%d %H:%M} UTC",
                    f"owner {c.owner_agent_id or '-'}",
                    c.description,
                )
                for c in found
            ),
            soft_wrap=True,
        )


@commitments_app.command("sweep")
def sweep() -> None:
    """Alert owners of promises about to be missed; mark missed ones (the worker does this)."""
    from caredesk.services.lifecycle import lifecycle

    _run_job(lifecycle.sweep_commitments, _say_swept)


@proactive_app.command("scan")
def scan() -> None:
    """Scan orders and shipments; open one case per finding with the recommended remedy."""
    from caredesk.services.lifecycle import lifecycle

    _run_job(lifecycle.proactive_scan, _say_scanned)


def _run_job(
    job: Callable[[Any, Actor, datetime, LifecycleOptions], R], say: Callable[[R], None]
) -> None:
    """A lifecycle job run now, as the worker runs it, its report said before the desk closes
    so that a refusal `say` raises exits 1 like the job's own."""
    with desk() as container:
        say(job(container.uow, SYSTEM, container.clock.now(), container.lifecycle))


def _say_swept(report: SweepReport) -> None:
    out.print(
        f"{len(report.alerted)} alerted, {len(report.missed)} missed, "
        f"{len(report.reopened)} case(s) reopened"
    )


def _say_scanned(report: ScanReport) -> None:
    out.print(
        f"{report.found} finding(s): {len(report.opened)} case(s) opened, "
        f"{report.already_known} known already, {report.recommended} recommendation(s)"
    )
    for case_id in report.opened:
        out.print(f"  case {case_id}")
    for error in report.errors:
        out.print(f"[yellow]{error}[/yellow]")
    if report.errors and not report.opened and report.found:
        raise ValidationFailed("the scan opened no case; see the errors above")


@proactive_app.command("findings")
def findings(limit: Annotated[int, typer.Option(min=1, max=500)] = 50) -> None:
    """The latest findings and the cases they opened."""
    from caredesk.services.lifecycle import lifecycle

    with desk() as container:
        print_rows(
            (
                (f.id, f.key, f"case {f.case_id}", f"recommended: {_remedies(f.recommendation)}")
                for f in lifecycle.list_findings(container.uow(), SYSTEM, limit)
            ),
            soft_wrap=True,
        )


def _remedies(recommendation: dict[str, Any] | None) -> str:
    if not recommendation:
        return "-"
    return ", ".join(recommendation["remedies"]) or "none"
