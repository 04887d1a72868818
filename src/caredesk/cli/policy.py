"""`caredesk policy`: check a policy file, put one in force, explain the plan for a case."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from caredesk.cli.common import desk, err, out
from caredesk.domain.agents import SYSTEM, Actor, Role
from caredesk.domain.policy.loading import LoadedPolicy, PolicyInvalid
from caredesk.domain.policy.review import PolicyChange, PolicyChangeStatus, PolicyDiff

if TYPE_CHECKING:
    from caredesk.bootstrap import Container

app = typer.Typer(help="The empowerment policy: what agents may grant.", no_args_is_help=True)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"[red]error[/red]: cannot read {path}: {exc}")
        raise typer.Exit(2) from exc


def _describe(loaded: LoadedPolicy) -> None:
    policy = loaded.policy
    out.print(f"[bold]{policy.name}[/bold]  version {policy.version}  ({len(policy.rules)} rules)")
    remedies = Table("remedy", "kind", "offered", "self-service", "rules", title="Remedies")
    for r in policy.remedies:
        remedies.add_row(
            r.id,
            r.kind.value,
            "yes" if r.offer else "on request",
            "yes" if r.self_service else "",
            ", ".join(r.rules),
        )
    out.print(remedies)
    authority = Table("role", "per grant", "per case", "per day", "remedies", title="Authority")
    for role, limit in policy.authority.items():
        allowed = "all" if limit.remedies is None else ", ".join(limit.remedies) or "none"
        authority.add_row(
            role, str(limit.per_grant), str(limit.per_case), str(limit.per_day), allowed
        )
    out.print(authority)
    guard = policy.guardrails
    out.print(
        f"Guardrails: at most {guard.max_grants_per_customer_90d} grants per customer in 90 days; "
        f"refunds at most {guard.max_refund_ratio:.0%} of a year's spend; "
        f"hard rules: {', '.join(guard.hard_rules) or 'none'}"
    )
    for budget in policy.budgets:
        out.print(f"Budget: {budget.team} {budget.amount} per {budget.period}")


@app.command("check")
def check(path: Annotated[Path, typer.Argument(help="The policy file (YAML).")]) -> None:
    """Validate a policy file and print what it allows. Exit 1 when invalid."""
    from caredesk.bootstrap import text_formats

    try:
        loaded = text_formats().parse_policy(_read(path))
    except PolicyInvalid as exc:
        for problem in exc.problems:
            err.print(f"{path}:{problem.line or 1}: {problem.field or 'policy'}: {problem.message}")
        raise typer.Exit(1) from exc
    _describe(loaded)
    out.print(f"[green]{path} is valid[/green]")


TokenOption = Annotated[
    str | None,
    typer.Option(
        envvar="CAREDESK_TOKEN",
        help="The API token of the admin acting (or CAREDESK_TOKEN).",
        show_envvar=False,
    ),
]


def _actor_of(container: Container, token: str | None) -> Actor:
    """The admin a command acts for: a policy change names who made it, as over HTTP."""
    from caredesk.services.access import auth

    if not token:
        err.print("error: give --token or set CAREDESK_TOKEN (an admin's API token)")
        raise typer.Exit(2)
    return auth.identify_token(container.uow(), token, container.clock.now()).actor


def _differences(diff: PolicyDiff) -> None:
    if not diff.differences:
        out.print("No difference from the policy in force.")
        return
    table = Table("what", "before", "after", "effect", title="Differences")
    for d in diff.differences:
        table.add_row(d.path, d.before or "—", d.after or "—", d.effect.value)
    out.print(table)


def _describe_change(change: PolicyChange) -> None:
    forced = "  [bold]forced: grants nothing[/bold]" if change.forced else ""
    out.print(
        f"change {change.id}: version {change.version} against {change.base_version}, "
        f"{change.status.value}, proposed by {change.proposed_by} at "
        f"{change.proposed_at:%Y-%m-%d %H:%M}{forced}"
    )
    if change.decided_by:
        note = f": {change.note}" if change.note else ""
        out.print(f"{change.status.value} by {change.decided_by}{note}")
    for label, ids in (
        ("Remedies added", change.diff.remedies("added")),
        ("Remedies removed", change.diff.remedies("removed")),
    ):
        if ids:
            out.print(f"{label}: {', '.join(ids)}")
    _differences(change.diff)


@app.command("load")
def load(
    path: Annotated[Path, typer.Argument(help="The policy file (YAML).")],
    token: TokenOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Put in a policy that grants nothing (audited).")
    ] = False,
) -> None:
    """Propose a policy as the token's admin and print what it changes.

    A change that only tightens goes in force at once; one that loosens or removes remedies
    waits for another admin (`caredesk policy confirm ID`). An invalid file changes nothing.
    """
    from caredesk.services.engine import policy

    text = _read(path)
    with desk() as container:
        actor = _actor_of(container, token)
        proposal = policy.propose_policy(
            container.uow(), actor, container.clock.now(), text, force=force
        )
        if proposal.change is not None:
            _describe_change(proposal.change)
            out.print(
                f"policy {proposal.loaded.version} waits for another admin: "
                f"caredesk policy confirm {proposal.change.id} --token TOKEN"
            )
            return
        _differences(proposal.diff)
        out.print(f"policy {proposal.loaded.version} is in force")


@app.command("changes")
def changes(
    status: Annotated[
        str, typer.Option(help="pending, confirmed, rejected or all.")
    ] = PolicyChangeStatus.PENDING.value,
) -> None:
    """List policy changes (pending ones by default), newest first, with their differences."""
    from caredesk.services.engine import policy

    chosen = None if status == "all" else _status(status)
    with desk() as container:
        found = policy.list_policy_changes(container.uow(), SYSTEM, chosen)
        if not found:
            out.print("no policy change" if status == "all" else f"no {status} policy change")
        for change in found:
            _describe_change(change)


def _status(value: str) -> PolicyChangeStatus:
    try:
        return PolicyChangeStatus(value)
    except ValueError as exc:
        err.print("error: --status is pending, confirmed, rejected or all")
        raise typer.Exit(2) from exc


PendingChange = Annotated[int, typer.Argument(help="The pending change.")]
NoteOption = Annotated[str, typer.Option(help="Why (kept in the audit trail).")]


@app.command("confirm")
def confirm(change_id: PendingChange, token: TokenOption = None, note: NoteOption = "") -> None:
    """Put a pending change in force as a second admin: the token must be issued to another
    admin's agent than the proposer's."""
    change = _decide(change_id, token, note, confirm=True)
    out.print(f"change {change.id} confirmed: policy {change.version} is in force")


@app.command("reject")
def reject(change_id: PendingChange, token: TokenOption = None, note: NoteOption = "") -> None:
    """Turn a pending change down; the policy in force stays."""
    change = _decide(change_id, token, note, confirm=False)
    out.print(f"change {change.id} rejected: policy {change.base_version} stays in force")


def _decide(change_id: int, token: str | None, note: str, *, confirm: bool) -> PolicyChange:
    """The token's admin confirms or rejects a pending change: the same check, either way."""
    from caredesk.services.engine import policy

    decide = policy.confirm_policy_change if confirm else policy.reject_policy_change
    with desk() as container:
        actor = _actor_of(container, token)
        return decide(container.uow(), actor, container.clock.now(), change_id, note)


@app.command("show")
def show() -> None:
    """Print the policy in force."""
    from caredesk.services.engine import policy

    with desk() as container:
        _describe(policy.active_policy(container.uow()))


@app.command("explain")
def explain(
    case_id: Annotated[int, typer.Argument(help="The case to plan for.")],
    role: Annotated[Role, typer.Option(help="Plan as this role would see it.")] = Role.AGENT,
) -> None:
    """Print the planner's offers for a case, with their reasons and cited rules."""
    from caredesk.services.engine import grants

    with desk() as container:
        result = grants.plan_case(container.uow(), Actor(role=role), container.clock.now(), case_id)
        p = result.ranking
        out.print(
            f"Case {case_id}: issue [bold]{p.issue_type}[/bold], customer value "
            f"{result.customer_value}, at stake {p.value_at_stake}, "
            f"{p.baseline_retention:.0%} chance of keeping them doing nothing "
            f"(policy {result.policy_version})"
        )
        for rank, offer in enumerate(p.offers, 1):
            verdict = (
                "grant" if offer.decision.may_grant else f"ask a {offer.decision.approver_role}"
            )
            out.print(
                f"\n[bold]{rank}. {' + '.join(offer.remedy_ids)}[/bold]  cost {offer.cost}  "
                f"expected value {offer.expected_value}  level {int(offer.service_level)}  "
                f"→ {verdict}"
            )
            for reason in offer.reasons:
                out.print(f"   - {reason}")
            out.print(f"   rules: {', '.join(offer.rules)}")
        if p.ineligible:
            out.print("\nNot eligible:")
            for remedy_id, refusals in p.ineligible.items():
                out.print(f"   {remedy_id}: {refusals[0].message} ({refusals[0].rule_id})")
