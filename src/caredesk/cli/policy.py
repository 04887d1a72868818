"""`caredesk policy`: check a policy file, put one in force, explain the plan for a case."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from caredesk.cli.common import desk, err, out
from caredesk.domain.agents import SYSTEM, Actor, Role
from caredesk.domain.policy.loading import LoadedPolicy, PolicyInvalid, parse_policy

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
    try:
        loaded = parse_policy(_read(path))
    except PolicyInvalid as exc:
        for problem in exc.problems:
            err.print(f"{path}:{problem.line or 1}: {problem.field or 'policy'}: {problem.message}")
        raise typer.Exit(1) from exc
    _describe(loaded)
    out.print(f"[green]{path} is valid[/green]")


@app.command("load")
def load(path: Annotated[Path, typer.Argument(help="The policy file (YAML).")]) -> None:
    """Put a policy in force (audited). An invalid file changes nothing."""
    from caredesk.services import policy

    text = _read(path)
    with desk() as container:
        loaded = policy.load_policy(container.uow(), SYSTEM, container.clock.now(), text)
        out.print(f"policy {loaded.version} is in force")


@app.command("show")
def show() -> None:
    """Print the policy in force."""
    from caredesk.services import policy

    with desk() as container:
        _describe(policy.active_policy(container.uow()))


@app.command("explain")
def explain(
    case_id: Annotated[int, typer.Argument(help="The case to plan for.")],
    role: Annotated[Role, typer.Option(help="Plan as this role would see it.")] = Role.AGENT,
) -> None:
    """Print the planner's offers for a case, with their reasons and cited rules."""
    from caredesk.services import grants

    with desk() as container:
        result = grants.plan_case(container.uow(), Actor(role=role), container.clock.now(), case_id)
        p = result.plan
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
