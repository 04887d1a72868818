"""Planning and granting remedies: one transaction per grant, bounded by authority.

The same functions serve the console, the REST API and the tool API for AI agents, so a
human and a machine get exactly the same policy enforcement.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from caredesk.domain.agents import SYSTEM, Actor, Permission
from caredesk.domain.cases import GRANT_NOTICE_SINCE, Case, CaseStatus, Message, MessageKind
from caredesk.domain.customers import Customer
from caredesk.domain.errors import DomainError, ErrorCode, Forbidden, NotFound, ValidationFailed
from caredesk.domain.events import Changed
from caredesk.domain.grants import Approval, ApprovalStatus, Grant, GrantStatus, LedgerEntry
from caredesk.domain.ledger import Posting, check_balanced
from caredesk.domain.money import ZERO
from caredesk.domain.orders import Order
from caredesk.domain.policy import remedies as ops
from caredesk.domain.policy.authority import (
    REFUND_KINDS,
    CapUsage,
    Decision,
    Usage,
    decide,
    hard_limit_refusal,
    outranks,
)
from caredesk.domain.policy.eligibility import PolicyRefused, Refusal, cited_rules, refusals
from caredesk.domain.policy.loading import LoadedPolicy
from caredesk.domain.policy.model import Policy, RemedyDef, RemedyKind
from caredesk.domain.policy.planner import Offer, Plan, PlanContext, plan
from caredesk.services.core import jobs
from caredesk.services.core.commands import command
from caredesk.services.core.ports import UnitOfWork
from caredesk.services.engine.facts import (
    Situation,
    case_facts,
    default_params,
    load_situation,
    order_in_question,
    request_facts,
    situation_facts,
)
from caredesk.services.engine.policy import active_policy, policy_in_force

AGENT, TOOL, PORTAL = "agent", "tool", "portal"
# A grant that stands: money moved, or a lead was asked to move it.
STANDING = frozenset({GrantStatus.EXECUTED, GrantStatus.PENDING_APPROVAL})
# Grants that changed an order are undone by another change to the order, not a reversal.
ORDER_CHANGING = frozenset(
    {
        RemedyKind.CANCEL,
        RemedyKind.MODIFY_ADDRESS,
        RemedyKind.MODIFY_ITEMS,
        RemedyKind.MODIFY_PAYMENT,
        RemedyKind.EXCHANGE,
        RemedyKind.RETURN_LABEL,
        RemedyKind.REPLACEMENT,
        RemedyKind.UPGRADE,
    }
)


@dataclass(frozen=True, slots=True)
class CasePlan:
    case: Case
    plan: Plan
    policy_version: str
    basis: dict[str, int]
    customer_value: Decimal


@dataclass(frozen=True, slots=True)
class GrantOutcome:
    grant: Grant
    approval: Approval | None = None
    postings: list[Posting] = field(default_factory=list)
    customer_note: str = ""
    replayed: bool = False


def _fingerprint(remedy_ids: list[str], params: dict[str, Any], target: str) -> str:
    # A bundle is a set: the same remedies named in another order are the same request.
    body = json.dumps([target, sorted(remedy_ids), params], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _basis_of(customer: Customer, order: Order | None) -> dict[str, int]:
    basis = {"customer_version": customer.version}
    if order is not None:
        basis["order_version"] = order.version
    return basis


def _basis(situation: Situation) -> dict[str, int]:
    return _basis_of(situation.customer, situation.order)


def _issue(situation: Situation) -> str | None:
    if situation.case is None:
        return None
    issue = case_facts(situation.case)["case.issue_type"]
    return str(issue) if issue else None


def _case_grants(uow: UnitOfWork, situation: Situation) -> list[Grant]:
    case = situation.case
    return uow.grants.for_case(case.id) if case is not None and case.id is not None else []


def _standing_for_issue(case_grants: list[Grant], issue: str | None) -> list[Grant]:
    """The grants that stand on a case for one issue; reversed and denied ones do not."""
    return [
        g
        for g in case_grants
        if g.status in STANDING and g.reverses_grant_id is None and g.issue_type == issue
    ]


def _usage(
    uow: UnitOfWork,
    policy: Policy,
    actor: Actor,
    situation: Situation,
    now: datetime,
    case_grants: list[Grant],
) -> Usage:
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    window = uow.grants.spend(
        case_id=situation.case.id if situation.case else None,
        agent_id=actor.agent_id,
        customer_id=situation.customer.id,
        order_id=situation.order.id if situation.order else None,
        day_start=day_start,
        now=now,
    )
    budget_spent = {}
    for index, budget in enumerate(policy.budgets):
        since = _period_start(now, budget.period)
        team = uow.teams.get_by_name(budget.team) if budget.team != "*" else None
        if budget.team != "*" and team is None:
            continue
        budget_spent[index] = uow.grants.team_spend(team.id if team else None, since)
    return Usage(
        case_spent=window.case_spent,
        agent_spent_today=window.agent_spent_today,
        budget_spent=budget_spent,
        customer_grants_90d=window.customer_grants_90d,
        customer_refunds_365d=window.customer_refunds_365d,
        customer_spend_365d=window.customer_spend_365d,
        caps=_caps(uow, situation, window.order_spent, case_grants),
    )


def _caps(
    uow: UnitOfWork, situation: Situation, order_granted: Decimal, case_grants: list[Grant]
) -> tuple[CapUsage, ...]:
    caps = []
    if situation.order is not None:
        order = situation.order
        caps.append(CapUsage("order", f"order {order.id}", order.total, order_granted))
    case = situation.case
    if case is not None:
        issue = _issue(situation)
        granted = sum(
            (
                g.cost
                for g in _standing_for_issue(case_grants, issue)
                if g.status is GrantStatus.EXECUTED
            ),
            ZERO,
        )
        name = f"case {case.id} ({issue or 'no issue type'})"
        caps.append(CapUsage("case_issue", name, _case_value(uow, situation), granted))
    return tuple(caps)


def _case_value(uow: UnitOfWork, situation: Situation) -> Decimal:
    """What the customer paid for the orders the case is about; zero when it names none."""
    orders = {situation.order.id: situation.order} if situation.order else {}
    for order_id in situation.case.order_ids if situation.case else []:
        if order_id not in orders:
            order = uow.orders.get(order_id)
            if order is not None:
                orders[order_id] = order
    return sum((o.total for o in orders.values()), ZERO)


def _period_start(now: datetime, period: str) -> datetime:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day.replace(month=((day.month - 1) // 3) * 3 + 1, day=1)


def _lock_grant_scopes(
    uow: UnitOfWork,
    policy: Policy,
    *,
    agent_id: int | None,
    customer_id: str,
    case_id: int | None,
    order_id: str | None,
    team_id: int | None,
) -> None:
    """Hold every scope whose sums a grant reads and adds to, before they are read.

    Limits, budgets, guardrails and caps are sums of the grants already committed; two grants
    reading them at the same moment would each see room for itself. On one agent, customer,
    case, order or budget, grants therefore run one after the other.
    """
    team = uow.teams.get(team_id) if team_id is not None else None
    scopes = {f"customer:{customer_id}"}
    if agent_id is not None:
        scopes.add(f"agent:{agent_id}")
    if case_id is not None:
        scopes.add(f"case:{case_id}")
    if order_id is not None:
        scopes.add(f"order:{order_id}")
    for budget in policy.budgets:
        if budget.team == "*" or (team is not None and budget.team == team.name):
            scopes.add(f"budget:{budget.team}")
    uow.grants.lock_scopes(scopes)


def _team_name(uow: UnitOfWork, case: Case | None) -> str | None:
    if case is None or case.team_id is None:
        return None
    team = uow.teams.get(case.team_id)
    return team.name if team else None


def _program_variants(policy: Policy) -> list[str]:
    return [str(p.params["upgrade_to"]) for p in policy.programs if "upgrade_to" in p.params]


def _load_case(uow: UnitOfWork, actor: Actor, case_id: int) -> Case:
    """The case, if the actor reaches its customer; to anyone else it does not exist."""
    actor.require_verified()
    case = uow.cases.get(case_id)
    if case is None or not actor.reaches(case.customer_id):
        raise NotFound("case", case_id)
    return case


def _load_customer(uow: UnitOfWork, actor: Actor, customer_id: str) -> Customer:
    actor.require_reach(customer_id)
    customer = uow.customers.get(customer_id)
    if customer is None:
        raise NotFound("customer", customer_id)
    return customer


def _check_order(uow: UnitOfWork, actor: Actor, order_id: str | None, customer_id: str) -> None:
    """An order named for a grant: one the actor reaches, and the grant's customer's own,
    whatever the policy in force says about either."""
    if order_id is None:
        return
    actor.require_verified()
    order = uow.orders.get(order_id)
    if order is None:
        raise NotFound("order", order_id)
    actor.require_reach(order.customer_id)
    if order.customer_id != customer_id:
        raise DomainError(
            f"order {order_id} belongs to another customer",
            code=ErrorCode.NOT_CUSTOMERS,
            details={"order_id": order_id},
        )


def _situation_for_case(
    uow: UnitOfWork, policy: Policy, now: datetime, case: Case, order_id: str | None
) -> Situation:
    customer = uow.customers.get(case.customer_id)
    if customer is None:
        raise NotFound("customer", case.customer_id)
    return load_situation(
        uow,
        policy,
        now,
        customer=customer,
        case=case,
        order_id=order_id,
        extra_variant_ids=_program_variants(policy),
    )


def plan_case(uow: UnitOfWork, actor: Actor, now: datetime, case_id: int) -> CasePlan:
    """The best few bundles the acting agent could grant on this case, with their reasons."""
    actor.require(Permission.READ)
    with uow:
        loaded = policy_in_force(uow)
        policy = loaded.policy
        case = _load_case(uow, actor, case_id)
        situation = _situation_for_case(uow, policy, now, case, None)
        facts = situation_facts(situation, policy, actor, AGENT, now)
        params = default_params(situation, policy, facts)
        case_grants = uow.grants.for_case(case_id)
        standing = _standing_for_issue(case_grants, _issue(situation))
        context = PlanContext(
            policy=policy,
            facts=facts,
            workspace=ops.Workspace(situation.customer, situation.order, situation.variants, now),
            params=params,
            request_facts={
                r.id: request_facts(situation, policy, r, params.get(r.id, {}))
                for r in policy.remedies
            },
            role=actor.role.grants_as.value,
            usage=_usage(uow, policy, actor, situation, now, case_grants),
            team=_team_name(uow, case),
            customer_value=situation.value.lifetime_value,
            already_granted=frozenset(r for g in standing for r in g.remedy_ids),
        )
        return CasePlan(
            case, plan(context), loaded.version, _basis(situation), situation.value.lifetime_value
        )


def _remedies(policy: Policy, remedy_ids: list[str]) -> list[RemedyDef]:
    if not remedy_ids:
        raise ValidationFailed("name at least one remedy", details={"field": "remedies"})
    if len(set(remedy_ids)) != len(remedy_ids):
        raise ValidationFailed("a remedy appears twice", details={"field": "remedies"})
    chosen = []
    for remedy_id in remedy_ids:
        remedy = policy.remedy(remedy_id)
        if remedy is None:
            raise DomainError(
                f"the policy in force has no remedy {remedy_id!r}",
                code=ErrorCode.NOT_ELIGIBLE,
                details={"remedy": remedy_id, "rule": None},
            )
        chosen.append(remedy)
    ids = set(remedy_ids)
    for remedy in chosen:
        clash = ids & set(remedy.excludes)
        if clash:
            raise DomainError(
                f"{remedy.id} cannot be granted together with {', '.join(sorted(clash))}",
                code=ErrorCode.NOT_ELIGIBLE,
                details={"remedy": remedy.id, "rule": f"remedies.{remedy.id}.excludes"},
            )
    return chosen


@dataclass
class _Prepared:
    remedies: list[RemedyDef]
    params: dict[str, dict[str, Any]]
    workspace: ops.Workspace
    effects: list[ops.Effect]
    rules: list[str]
    cost: Decimal
    refunded: Decimal


def _prepare(
    policy: Policy,
    situation: Situation,
    actor: Actor,
    actor_kind: str,
    now: datetime,
    remedy_ids: list[str],
    overrides: dict[str, dict[str, Any]],
    confirmed: bool,
) -> _Prepared:
    """Check every rule and run the remedies on copies. Raises on the first refusal."""
    chosen = _remedies(policy, remedy_ids)
    facts = situation_facts(situation, policy, actor, actor_kind, now)
    defaults = default_params(situation, policy, facts)
    params: dict[str, dict[str, Any]] = {}
    rules: list[str] = []
    for remedy in chosen:
        merged = {**defaults.get(remedy.id, {}), **overrides.get(remedy.id, {})}
        merged["confirmed"] = confirmed
        params[remedy.id] = merged
        remedy_facts = {**facts, **request_facts(situation, policy, remedy, merged)}
        found = refusals(policy, remedy, remedy_facts)
        if found:
            raise PolicyRefused(found[0], remedy.id)
        rules += cited_rules(policy, remedy, remedy_facts)
    ws = ops.Workspace.of(situation.customer, situation.order, situation.variants, now)
    effects = [ops.apply(ws, remedy, params[remedy.id], policy) for remedy in chosen]
    cost = sum((e.cost for e in effects), ZERO)
    refunded = sum((e.cost for e in effects if e.kind in REFUND_KINDS), ZERO)
    postings = [p for e in effects for p in e.postings]
    check_balanced(postings)
    for p in params.values():
        p.pop("confirmed", None)
    return _Prepared(chosen, params, ws, effects, sorted(set(rules)), cost, refunded)


def _commit_effects(
    uow: UnitOfWork,
    actor: Actor,
    now: datetime,
    grant: Grant,
    prepared: _Prepared,
    situation: Situation,
    notice_delay: timedelta | None = None,
) -> GrantOutcome:
    """Write the changes, the ledger, the customer's message and the audit in this unit of work.

    With `notice_delay`, the customer's message waits for the agent's next reply, which
    carries it; a job sends it alone if no reply came within the delay.
    """
    ws = prepared.workspace
    if ws.order is not None and ws.order_changed:
        before = situation.order.status.value if situation.order else None
        uow.orders.save(ws.order)
        uow.publish(
            Changed(
                actor=actor,
                at=now,
                action="order.changed",
                entity_type="order",
                entity_id=ws.order.id,
                case_id=grant.case_id,
                before={"status": before},
                after={"status": ws.order.status.value, "grant_id": grant.id},
            )
        )
    if ws.customer_changed:
        uow.customers.save(ws.customer)
    for new_order in ws.new_orders:
        uow.orders.add(new_order)
    # The facts this grant leaves behind: the same offer asked on them asks for it again.
    left = _basis_of(ws.customer, ws.order)
    if left not in grant.bases:
        grant.bases.append(left)
        uow.grants.save(grant)
    postings = [p for e in prepared.effects for p in e.postings]
    assert grant.id is not None
    uow.ledger.add(
        [
            LedgerEntry(grant.id, p.account, p.amount, p.memo, now, e.remedy_id)
            for e in prepared.effects
            for p in e.postings
        ]
    )
    note = " ".join(e.customer_note for e in prepared.effects)
    if grant.case_id is not None and situation.case is not None:
        case = uow.cases.get(grant.case_id)
        assert case is not None
        if case.status is not CaseStatus.CLOSED and notice_delay is not None and note.strip():
            since = case.defer_grant_notice(note, now)
            case.record_grant_level(grant.service_level)
            uow.cases.save(case)
            jobs.enqueue(
                uow,
                GRANT_NOTICE_JOB,
                {"case_id": case.id, "since": since, "agent_id": actor.agent_id},
                now=now,
                run_at=now + notice_delay,
                key=f"{GRANT_NOTICE_JOB}:{case.id}:{since}",
            )
        elif case.status is not CaseStatus.CLOSED:
            message = Message(
                id=None,
                case_id=case.id or 0,
                kind=MessageKind.OUTBOUND,
                body=note,
                created_at=now,
                author_agent_id=actor.agent_id,
            )
            # The customer is told in the grant's own transaction: by mail on an email case,
            # with the SLA clocks and the trail following from the message's event.
            case.receive_message(message, now, actor)
            case.record_grant_level(grant.service_level)
            uow.cases.add_message(message)
            uow.cases.save(case)
    uow.publish(
        Changed(
            actor=actor,
            at=now,
            action="grant.executed",
            entity_type="grant",
            entity_id=grant.id,
            case_id=grant.case_id,
            after={
                "remedies": grant.remedy_ids,
                "cost": str(grant.cost),
                "policy_version": grant.policy_version,
                "service_level": grant.service_level,
            },
        )
    )
    return GrantOutcome(grant, None, postings, note)


def _replayed(uow: UnitOfWork, grant: Grant) -> GrantOutcome:
    """The first answer again: the grant, its ledger entries and its approval request."""
    assert grant.id is not None
    postings = [Posting(e.account, e.amount, e.memo) for e in uow.ledger.for_grant(grant.id)]
    approval = (
        uow.approvals.for_grant(grant.id) if grant.status is GrantStatus.PENDING_APPROVAL else None
    )
    return GrantOutcome(grant, approval, postings, grant.summary, replayed=True)


def _replay(
    uow: UnitOfWork, actor: Actor, key: str | None, fingerprint: str
) -> GrantOutcome | None:
    if key is None:
        return None
    existing = uow.grants.by_idempotency_key(actor.ref, key)
    if existing is None:
        return None
    if existing.fingerprint != fingerprint:
        raise DomainError(
            "this Idempotency-Key was used for a different grant",
            code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
        )
    return _replayed(uow, existing)


def _repeat(
    uow: UnitOfWork, situation: Situation, fingerprint: str, basis: dict[str, int] | None
) -> GrantOutcome | None:
    """The grant this request repeats: the same bundle on the same case, asked on the facts
    that grant was decided on or left behind (a second click on one page, the same offer
    clicked on the page shown after the grant, a client that sent its request twice)."""
    asked_on = basis if basis is not None else _basis(situation)
    for earlier in _case_grants(uow, situation):
        if (
            earlier.fingerprint == fingerprint
            and earlier.status in STANDING
            and asked_on in earlier.bases
        ):
            return _replayed(uow, earlier)
    return None


def _grant(
    uow: UnitOfWork,
    loaded: LoadedPolicy,
    actor: Actor,
    actor_kind: str,
    now: datetime,
    situation: Situation,
    remedy_ids: list[str],
    overrides: dict[str, dict[str, Any]],
    *,
    confirmed: bool,
    idempotency_key: str | None,
    basis: dict[str, int] | None,
    notice_delay: timedelta | None = None,
) -> GrantOutcome:
    policy = loaded.policy
    target = f"case:{situation.case.id}" if situation.case else f"customer:{situation.customer.id}"
    if situation.order is not None:
        target += f"/order:{situation.order.id}"
    fingerprint = _fingerprint(remedy_ids, overrides, target)
    replay = _replay(uow, actor, idempotency_key, fingerprint) or _repeat(
        uow, situation, fingerprint, basis
    )
    if replay is not None:
        return replay
    if basis is not None:
        current = _basis(situation)
        stale = {k: v for k, v in basis.items() if current.get(k) != v}
        if stale:
            raise DomainError(
                "the order or customer changed since this plan was made; plan again",
                code=ErrorCode.STALE_PLAN,
                details={"plan": basis, "now": current},
            )
    prepared = _prepare(policy, situation, actor, actor_kind, now, remedy_ids, overrides, confirmed)
    usage = _usage(uow, policy, actor, situation, now, _case_grants(uow, situation))
    decision = decide(
        policy,
        actor.role.grants_as.value,
        prepared.remedies,
        prepared.cost,
        usage,
        _team_name(uow, situation.case),
        prepared.refunded,
    )
    if decision.refusal is not None:
        raise PolicyRefused(decision.refusal, remedy_ids[0])
    grant = Grant(
        id=None,
        customer_id=situation.customer.id,
        remedy_ids=list(remedy_ids),
        params=prepared.params,
        status=GrantStatus.EXECUTED if decision.may_grant else GrantStatus.PENDING_APPROVAL,
        cost=prepared.cost,
        refunded=prepared.refunded,
        policy_version=loaded.version,
        service_level=int(max(r.service_level for r in prepared.remedies)),
        actor=actor.ref,
        created_at=now,
        fingerprint=fingerprint,
        case_id=situation.case.id if situation.case else None,
        order_id=situation.order.id if situation.order else None,
        rules=prepared.rules,
        summary="; ".join(e.summary for e in prepared.effects),
        agent_id=actor.agent_id,
        team_id=situation.case.team_id if situation.case else None,
        idempotency_key=idempotency_key,
        executed_at=now if decision.may_grant else None,
        issue_type=_issue(situation),
        bases=[_basis(situation)],
    )
    uow.grants.add(grant)
    if decision.may_grant:
        outcome = _commit_effects(uow, actor, now, grant, prepared, situation, notice_delay)
        uow.commit()
        return outcome
    approval = _request_approval(uow, actor, now, grant, decision)
    uow.commit()
    return GrantOutcome(grant, approval, [], "")


def _request_approval(
    uow: UnitOfWork, actor: Actor, now: datetime, grant: Grant, decision: Decision
) -> Approval:
    assert grant.id is not None
    approval = Approval(
        id=None,
        grant_id=grant.id,
        requested_by=actor.ref,
        requester_role=actor.role.grants_as.value,
        approver_role=decision.approver_role or "admin",
        reasons=list(decision.reasons),
        created_at=now,
        case_id=grant.case_id,
    )
    uow.approvals.add(approval)
    uow.publish(
        Changed(
            actor=actor,
            at=now,
            action="approval.requested",
            entity_type="approval",
            entity_id=approval.id,
            case_id=grant.case_id,
            after={
                "grant_id": grant.id,
                "approver_role": approval.approver_role,
                "reasons": approval.reasons,
            },
        )
    )
    return approval


GRANT_NOTICE_JOB = "grant.notice"


@command
def send_grant_notice(
    uow: UnitOfWork, now: datetime, case_id: int, since: str, agent_id: int | None = None
) -> bool:
    """Send a deferred grant notice on its own: no reply carried it within the delay.

    Does nothing when a reply took it meanwhile (the mark `since` is gone or newer).
    """
    with uow:
        case = uow.cases.get(case_id)
        if case is None or case.custom_fields.get(GRANT_NOTICE_SINCE) != since:
            return False
        note = case.take_grant_notice()
        if note and case.status is not CaseStatus.CLOSED:
            message = Message(
                id=None,
                case_id=case_id,
                kind=MessageKind.OUTBOUND,
                body=note,
                created_at=now,
                author_agent_id=agent_id,
            )
            case.receive_message(message, now, SYSTEM)
            uow.cases.add_message(message)
        uow.cases.save(case)
        uow.commit()
        return True


def register_grant_notices(registry: jobs.HandlerRegistry) -> None:
    registry.register(GRANT_NOTICE_JOB, _send_grant_notice)


def _send_grant_notice(ctx: jobs.JobContext, payload: dict[str, Any]) -> None:
    send_grant_notice(
        ctx.uow(),
        ctx.clock.now(),
        int(payload["case_id"]),
        str(payload["since"]),
        payload.get("agent_id"),
    )


@command
def grant_on_case(
    uow: UnitOfWork,
    actor: Actor,
    now: datetime,
    case_id: int,
    remedy_ids: list[str],
    *,
    params: dict[str, dict[str, Any]] | None = None,
    order_id: str | None = None,
    idempotency_key: str | None = None,
    basis: dict[str, int] | None = None,
    confirmed: bool = True,
    actor_kind: str = AGENT,
    notice_delay: timedelta | None = None,
) -> GrantOutcome:
    """Grant a bundle on a case: executed at once within authority, else sent for approval.

    The customer is told at once, unless `notice_delay` asks to carry the message in the
    agent's next reply (the console's default), sent alone after that delay without one.
    """
    actor.require(Permission.WRITE_CASES)
    loaded = active_policy(uow)
    with uow:
        case = _load_case(uow, actor, case_id)
        _check_order(uow, actor, order_id, case.customer_id)
        order_id = order_in_question(uow, case.customer_id, case, order_id)
        _lock_grant_scopes(
            uow,
            loaded.policy,
            agent_id=actor.agent_id,
            customer_id=case.customer_id,
            case_id=case_id,
            order_id=order_id,
            team_id=case.team_id,
        )
        # Read after the locks: another grant on this case may have committed meanwhile.
        case = _load_case(uow, actor, case_id)
        situation = _situation_for_case(uow, loaded.policy, now, case, order_id)
        return _grant(
            uow,
            loaded,
            actor,
            actor_kind,
            now,
            situation,
            remedy_ids,
            params or {},
            confirmed=confirmed,
            idempotency_key=idempotency_key,
            basis=basis,
            notice_delay=notice_delay,
        )


@command
def grant_for_customer(
    uow: UnitOfWork,
    actor: Actor,
    now: datetime,
    customer_id: str,
    remedy_id: str,
    *,
    params: dict[str, Any],
    order_id: str | None,
    idempotency_key: str | None = None,
    confirmed: bool = False,
    actor_kind: str = TOOL,
    together_with: tuple[str, ...] = (),
) -> GrantOutcome:
    """A customer-requested change without a case (tool API, portal self-service).

    `together_with` names remedies granted in the same bundle with the same parameters,
    such as keep-the-item with the refund of the items kept.
    """
    actor.require(Permission.WRITE_CASES)
    loaded = active_policy(uow)
    with uow:
        _load_customer(uow, actor, customer_id)
        _check_order(uow, actor, order_id, customer_id)
        _lock_grant_scopes(
            uow,
            loaded.policy,
            agent_id=actor.agent_id,
            customer_id=customer_id,
            case_id=None,
            order_id=order_id,
            team_id=None,
        )
        # Read after the locks: another grant for this customer may have committed meanwhile.
        customer = _load_customer(uow, actor, customer_id)
        situation = load_situation(
            uow,
            loaded.policy,
            now,
            customer=customer,
            case=None,
            order_id=order_id,
            extra_variant_ids=[str(v) for v in params.get("new_item_ids", []) or []],
        )
        return _grant(
            uow,
            loaded,
            actor,
            actor_kind,
            now,
            situation,
            [remedy_id, *together_with],
            dict.fromkeys((remedy_id, *together_with), params),
            confirmed=confirmed,
            idempotency_key=idempotency_key,
            basis=None,
        )


@command
def decide_approval(
    uow: UnitOfWork,
    actor: Actor,
    now: datetime,
    approval_id: int,
    *,
    approve: bool,
    note: str = "",
) -> GrantOutcome:
    """Approve (the grant executes now, on current facts) or deny. A second decision is refused."""
    actor.require(Permission.APPROVE)
    loaded = active_policy(uow)
    with uow:
        approval = uow.approvals.get(approval_id)
        if approval is None:
            raise NotFound("approval", approval_id)
        if not outranks(actor.role.grants_as.value, approval.approver_role):
            raise Forbidden(
                f"this approval needs a {approval.approver_role}",
                details={"approver_role": approval.approver_role},
            )
        grant = uow.grants.get(approval.grant_id)
        assert grant is not None
        assert grant.id is not None
        if approve:
            approval.approve_as(actor.ref, actor.agent_id, grant.agent_id)
        _lock_grant_scopes(
            uow,
            loaded.policy,
            agent_id=grant.agent_id,
            customer_id=grant.customer_id,
            case_id=grant.case_id,
            order_id=grant.order_id,
            team_id=grant.team_id,
        )
        approval.decide(
            ApprovalStatus.APPROVED if approve else ApprovalStatus.DENIED, actor.ref, now, note
        )
        uow.approvals.save(approval)
        if not approve:
            grant.status = GrantStatus.DENIED
            uow.grants.save(grant)
            uow.publish(
                Changed(
                    actor=actor,
                    at=now,
                    action="approval.denied",
                    entity_type="approval",
                    entity_id=approval_id,
                    case_id=grant.case_id,
                    after={"grant_id": grant.id, "note": note},
                )
            )
            uow.commit()
            return GrantOutcome(grant, approval)
        customer = uow.customers.get(grant.customer_id)
        assert customer is not None
        case = uow.cases.get(grant.case_id) if grant.case_id else None
        situation = load_situation(
            uow,
            loaded.policy,
            now,
            customer=customer,
            case=case,
            order_id=grant.order_id,
            extra_variant_ids=_program_variants(loaded.policy),
        )
        # The requester's eligibility is re-checked on today's facts; the approval lifts
        # only the authority limits, never a rule or a guardrail.
        requester = Actor(role=_role(approval.requester_role), agent_id=grant.agent_id)
        prepared = _prepare(
            loaded.policy, situation, requester, AGENT, now, grant.remedy_ids, grant.params, True
        )
        usage = _usage(uow, loaded.policy, requester, situation, now, _case_grants(uow, situation))
        refusal = hard_limit_refusal(loaded.policy, prepared.cost, usage, prepared.refunded)
        if refusal is not None:
            raise PolicyRefused(refusal, grant.remedy_ids[0])
        grant.status = GrantStatus.EXECUTED
        grant.executed_at = now
        grant.cost, grant.refunded = prepared.cost, prepared.refunded
        grant.policy_version = loaded.version
        if _basis(situation) not in grant.bases:
            grant.bases.append(_basis(situation))
        uow.grants.save(grant)
        uow.publish(
            Changed(
                actor=actor,
                at=now,
                action="approval.approved",
                entity_type="approval",
                entity_id=approval_id,
                case_id=grant.case_id,
                after={"grant_id": grant.id, "note": note},
            )
        )
        outcome = _commit_effects(uow, actor, now, grant, prepared, situation)
        uow.commit()
        return GrantOutcome(grant, approval, outcome.postings, outcome.customer_note)


def _role(value: str) -> Any:
    from caredesk.domain.agents import Role

    return Role(value)


def list_approvals(
    uow: UnitOfWork, actor: Actor, status: ApprovalStatus | None, limit: int
) -> list[Approval]:
    actor.require(Permission.READ)
    with uow:
        return uow.approvals.find(status, limit)


def get_grant(uow: UnitOfWork, actor: Actor, grant_id: int) -> tuple[Grant, list[LedgerEntry]]:
    actor.require(Permission.READ)
    with uow:
        grant = uow.grants.get(grant_id)
        if grant is None:
            raise NotFound("grant", grant_id)
        return grant, uow.ledger.for_grant(grant_id)


def case_grants(uow: UnitOfWork, actor: Actor, case_id: int) -> list[Grant]:
    actor.require(Permission.READ)
    with uow:
        _load_case(uow, actor, case_id)
        return uow.grants.for_case(case_id)


@command
def reverse_grant(
    uow: UnitOfWork, actor: Actor, now: datetime, grant_id: int, reason: str
) -> Grant:
    """Undo a grant's money by a compensating grant; history is never edited."""
    actor.require(Permission.APPROVE)
    policy = active_policy(uow).policy
    with uow:
        original = uow.grants.get(grant_id)
        if original is None:
            raise NotFound("grant", grant_id)
        _lock_grant_scopes(
            uow,
            policy,
            agent_id=None,
            customer_id=original.customer_id,
            case_id=original.case_id,
            order_id=original.order_id,
            team_id=None,
        )
        # Read again after the locks: a second click may have reversed it meanwhile.
        original = uow.grants.get(grant_id)
        assert original is not None
        if original.status is not GrantStatus.EXECUTED:
            raise DomainError(
                f"grant {grant_id} is {original.status.value}; only an executed grant is reversed",
                code=ErrorCode.CONFLICT,
            )
        kinds = {d.kind for d in map(policy.remedy, original.remedy_ids) if d is not None}
        if kinds & ORDER_CHANGING:
            raise DomainError(
                "a grant that changed an order is undone by a new change to that order, "
                "not by a reversal",
                code=ErrorCode.CONFLICT,
            )
        entries = uow.ledger.for_grant(grant_id)
        reversal = Grant(
            id=None,
            customer_id=original.customer_id,
            remedy_ids=[f"reverse:{r}" for r in original.remedy_ids],
            params={"reason": {"text": reason}},
            status=GrantStatus.EXECUTED,
            cost=-original.cost,
            refunded=-original.refunded,
            policy_version=original.policy_version,
            service_level=original.service_level,
            actor=actor.ref,
            created_at=now,
            fingerprint=_fingerprint(["reverse"], {"grant": grant_id}, str(grant_id)),
            case_id=original.case_id,
            order_id=original.order_id,
            summary=f"reversal of grant {grant_id}: {reason}",
            agent_id=actor.agent_id,
            team_id=original.team_id,
            reverses_grant_id=grant_id,
            executed_at=now,
        )
        _restore_balances(uow, original.customer_id, entries)
        uow.grants.add(reversal)
        assert reversal.id is not None
        uow.ledger.add(
            [
                LedgerEntry(
                    reversal.id, e.account, -e.amount, f"reversal: {e.memo}", now, e.remedy_id
                )
                for e in entries
            ]
        )
        original.status = GrantStatus.REVERSED
        uow.grants.save(original)
        uow.publish(
            Changed(
                actor=actor,
                at=now,
                action="grant.reversed",
                entity_type="grant",
                entity_id=grant_id,
                case_id=original.case_id,
                after={"reversal_id": reversal.id, "reason": reason},
            )
        )
        uow.commit()
        return reversal


def _restore_balances(uow: UnitOfWork, customer_id: str, entries: list[LedgerEntry]) -> None:
    """Take back what a grant put on a gift card or store credit, if it is still there."""
    customer = uow.customers.get(customer_id)
    if customer is None:
        return
    changed = False
    for entry in entries:
        kind, _, method_id = entry.account.partition(":")
        if kind not in ("giftcard", "storecredit"):
            continue
        method = customer.payment_method(method_id)
        if method is None or method.balance is None:
            continue
        # A credit (negative entry) raised the balance; reversing lowers it by as much.
        restored = method.balance + entry.amount
        if restored < ZERO:
            raise DomainError(
                f"{method_id} has only {method.balance} left; the grant was already spent",
                code=ErrorCode.INSUFFICIENT_BALANCE,
            )
        method.balance = restored
        changed = True
    if changed:
        uow.customers.save(customer)


def refusal_of(exc: DomainError) -> Refusal:
    rule = exc.details.get("rule") if exc.details else None
    return Refusal(str(rule) if rule else "", exc.code.value, exc.message)


__all__ = [
    "CasePlan",
    "GrantOutcome",
    "Offer",
    "decide_approval",
    "grant_for_customer",
    "grant_on_case",
    "plan_case",
]
