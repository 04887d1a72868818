"""Routing rules: data that sets a case's team, priority, tags and SLA policy; changes audited."""

from __future__ import annotations

from datetime import datetime

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.cases import Channel
from caredesk.domain.errors import DomainError, ErrorCode, ValidationFailed, must_exist
from caredesk.domain.triage import MOMENT_PATTERNS, RoutingRule, RoutingRuleSpec, next_position
from caredesk.services.core.changes import publish_change
from caredesk.services.core.commands import command
from caredesk.services.core.reads import read
from caredesk.services.knowledge.unit import KnowledgeUnit


def list_rules(uow: KnowledgeUnit, actor: Actor) -> list[RoutingRule]:
    return read(uow, actor, Permission.READ, lambda u: u.triage.rules())


def _check_rule_refs(uow: KnowledgeUnit, spec: RoutingRuleSpec) -> None:
    """A rule that names what does not exist (a team nobody created, a moment or channel
    triage never reports) would silently never do what its author meant."""
    when = spec.when
    for field_name, given, known in (
        ("when.moments_any", when.moments_any, sorted(MOMENT_PATTERNS)),
        ("when.channels", when.channels, [c.value for c in Channel]),
    ):
        unknown = sorted(set(given or ()) - set(known))
        if unknown:
            raise ValidationFailed(
                f"{field_name} names what triage never reports: {', '.join(unknown)}",
                details={"field": field_name, "known": known},
            )
    team = spec.then.team
    if team is not None and uow.teams.get_by_name(team) is None:
        raise ValidationFailed(
            f"no team is called {team!r}: create it first, or correct the rule",
            details={"field": "then.team", "teams": sorted(t.name for t in uow.teams.all())},
        )


@command
def create_rule(
    uow: KnowledgeUnit, actor: Actor, now: datetime, spec: RoutingRuleSpec, position: int | None
) -> RoutingRule:
    actor.require(Permission.MANAGE_POLICY)
    with uow:
        _check_rule_refs(uow, spec)
        rules = uow.triage.rules()
        at = position if position is not None else next_position(r.position for r in rules)
        rule = RoutingRule(id=None, position=at, spec=spec)
        uow.triage.add_rule(rule, actor.ref, now)
        publish_change(
            uow,
            actor,
            now,
            "routing_rule.created",
            "routing_rule",
            rule.id,
            after={"position": at, **spec.model_dump(mode="json")},
        )
        uow.commit()
        return rule


@command
def update_rule(
    uow: KnowledgeUnit,
    actor: Actor,
    now: datetime,
    rule_id: int,
    *,
    expected_version: int,
    spec: RoutingRuleSpec,
    position: int | None,
) -> RoutingRule:
    actor.require(Permission.MANAGE_POLICY)
    with uow:
        rule = must_exist(uow.triage.get_rule(rule_id), "routing rule", rule_id)
        if rule.version != expected_version:
            raise DomainError(
                f"routing rule {rule_id} was changed by someone else",
                code=ErrorCode.VERSION_CONFLICT,
                details={"current_version": rule.version, "your_version": expected_version},
            )
        _check_rule_refs(uow, spec)
        before = {"position": rule.position, **rule.spec.model_dump(mode="json")}
        rule.spec = spec
        if position is not None:
            rule.position = position
        uow.triage.save_rule(rule, actor.ref, now)
        publish_change(
            uow,
            actor,
            now,
            "routing_rule.updated",
            "routing_rule",
            rule_id,
            before=before,
            after={"position": rule.position, **spec.model_dump(mode="json")},
        )
        uow.commit()
        return rule


@command
def delete_rule(uow: KnowledgeUnit, actor: Actor, now: datetime, rule_id: int) -> None:
    actor.require(Permission.MANAGE_POLICY)
    with uow:
        rule = must_exist(uow.triage.get_rule(rule_id), "routing rule", rule_id)
        uow.triage.delete_rule(rule_id)
        publish_change(
            uow,
            actor,
            now,
            "routing_rule.deleted",
            "routing_rule",
            rule_id,
            before={"position": rule.position, **rule.spec.model_dump(mode="json")},
        )
        uow.commit()
