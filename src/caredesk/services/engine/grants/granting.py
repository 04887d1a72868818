"""Granting a bundle on a case or for a customer, once per request, or asking a lead for it."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.errors import DomainError, ErrorCode, must_exist
from caredesk.domain.grants import Grant, GrantStatus, LedgerEntry
from caredesk.domain.ledger import Posting
from caredesk.domain.policy.authority import Decision, decide
from caredesk.domain.policy.eligibility import PolicyRefused, Refusal
from caredesk.domain.policy.loading import LoadedPolicy
from caredesk.services.core.commands import command
from caredesk.services.engine.facts import Situation, load_situation, order_in_question
from caredesk.services.engine.grants.approvals import request_approval
from caredesk.services.engine.grants.effects import GrantOutcome, commit_effects
from caredesk.services.engine.grants.preparation import Prepared, prepare
from caredesk.services.engine.grants.situation import (
    AGENT,
    TOOL,
    check_order,
    issue_of,
    load_case,
    load_customer,
    situation_basis,
    situation_for_case,
)
from caredesk.services.engine.grants.usage import (
    STANDING,
    case_grants_of,
    lock_grant_scopes,
    measure_usage,
)
from caredesk.services.engine.policy import active_policy
from caredesk.services.engine.unit import EngineUnit


def grant_fingerprint(remedy_ids: list[str], params: dict[str, Any], target: str) -> str:
    # A bundle is a set: the same remedies named in another order are the same request.
    body = json.dumps([target, sorted(remedy_ids), params], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _replayed(uow: EngineUnit, grant: Grant) -> GrantOutcome:
    """The first answer again: the grant, its ledger entries and its approval request."""
    assert grant.id is not None
    postings = [Posting(e.account, e.amount, e.memo) for e in uow.ledger.for_grant(grant.id)]
    approval = (
        uow.approvals.for_grant(grant.id) if grant.status is GrantStatus.PENDING_APPROVAL else None
    )
    return GrantOutcome(grant, approval, postings, grant.summary, replayed=True)


def _replay(
    uow: EngineUnit, actor: Actor, key: str | None, fingerprint: str
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
    uow: EngineUnit, situation: Situation, fingerprint: str, basis: dict[str, int] | None
) -> GrantOutcome | None:
    """The grant this request repeats: the same bundle on the same case, asked on the facts
    that grant was decided on or left behind (a second click on one page, the same offer
    clicked on the page shown after the grant, a client that sent its request twice)."""
    asked_on = basis if basis is not None else situation_basis(situation)
    for earlier in case_grants_of(uow, situation):
        if (
            earlier.fingerprint == fingerprint
            and earlier.status in STANDING
            and asked_on in earlier.bases
        ):
            return _replayed(uow, earlier)
    return None


def _grant(
    uow: EngineUnit,
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
    fingerprint = grant_fingerprint(remedy_ids, overrides, _target(situation))
    replay = _replay(uow, actor, idempotency_key, fingerprint) or _repeat(
        uow, situation, fingerprint, basis
    )
    if replay is not None:
        return replay
    if basis is not None:
        _check_basis(situation, basis)
    prepared = prepare(policy, situation, actor, actor_kind, now, remedy_ids, overrides, confirmed)
    usage = measure_usage(situation, case_grants_of(uow, situation))
    decision = decide(
        policy,
        actor.role.grants_as.value,
        prepared.remedies,
        prepared.cost,
        usage,
        situation.figures.team,
        prepared.refunded,
    )
    if decision.refusal is not None:
        raise PolicyRefused(decision.refusal, remedy_ids[0])
    grant = _new_grant(
        loaded,
        actor,
        now,
        situation,
        remedy_ids,
        prepared,
        decision,
        fingerprint=fingerprint,
        idempotency_key=idempotency_key,
    )
    uow.grants.add(grant)
    if decision.may_grant:
        outcome = commit_effects(uow, actor, now, grant, prepared, situation, notice_delay)
        uow.commit()
        return outcome
    approval = request_approval(uow, actor, now, grant, decision)
    uow.commit()
    return GrantOutcome(grant, approval, [], "")


def _target(situation: Situation) -> str:
    """What a grant is for, as its fingerprint names it: the case or customer, and the order."""
    target = f"case:{situation.case.id}" if situation.case else f"customer:{situation.customer.id}"
    if situation.order is not None:
        target += f"/order:{situation.order.id}"
    return target


def _check_basis(situation: Situation, basis: dict[str, int]) -> None:
    """Refuse a grant asked on a plan made before the order or the customer changed."""
    current = situation_basis(situation)
    stale = {k: v for k, v in basis.items() if current.get(k) != v}
    if stale:
        raise DomainError(
            "the order or customer changed since this plan was made; plan again",
            code=ErrorCode.STALE_PLAN,
            details={"plan": basis, "now": current},
        )


def _new_grant(
    loaded: LoadedPolicy,
    actor: Actor,
    now: datetime,
    situation: Situation,
    remedy_ids: list[str],
    prepared: Prepared,
    decision: Decision,
    *,
    fingerprint: str,
    idempotency_key: str | None,
) -> Grant:
    """The grant as decided: executed now, or waiting for a lead's approval."""
    return Grant(
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
        issue_type=issue_of(situation),
        bases=[situation_basis(situation)],
    )


@command
def grant_on_case(
    uow: EngineUnit,
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
        case = load_case(uow, actor, case_id)
        check_order(uow, actor, order_id, case.customer_id)
        order_id = order_in_question(uow, case.customer_id, case, order_id)
        lock_grant_scopes(
            uow,
            loaded.policy,
            agent_id=actor.agent_id,
            customer_id=case.customer_id,
            case_id=case_id,
            order_id=order_id,
            team_id=case.team_id,
        )
        # Read after the locks: another grant on this case may have committed meanwhile.
        case = load_case(uow, actor, case_id)
        situation = situation_for_case(uow, loaded.policy, now, case, order_id, actor.agent_id)
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
    uow: EngineUnit,
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
        load_customer(uow, actor, customer_id)
        check_order(uow, actor, order_id, customer_id)
        lock_grant_scopes(
            uow,
            loaded.policy,
            agent_id=actor.agent_id,
            customer_id=customer_id,
            case_id=None,
            order_id=order_id,
            team_id=None,
        )
        # Read after the locks: another grant for this customer may have committed meanwhile.
        customer = load_customer(uow, actor, customer_id)
        situation = load_situation(
            uow,
            loaded.policy,
            now,
            customer=customer,
            case=None,
            order_id=order_id,
            agent_id=actor.agent_id,
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


def get_grant(uow: EngineUnit, actor: Actor, grant_id: int) -> tuple[Grant, list[LedgerEntry]]:
    actor.require(Permission.READ)
    with uow:
        grant = must_exist(uow.grants.get(grant_id), "grant", grant_id)
        return grant, uow.ledger.for_grant(grant_id)


def case_grants(uow: EngineUnit, actor: Actor, case_id: int) -> list[Grant]:
    actor.require(Permission.READ)
    with uow:
        load_case(uow, actor, case_id)
        return uow.grants.for_case(case_id)


def refusal_of(exc: DomainError) -> Refusal:
    rule = exc.details.get("rule") if exc.details else None
    return Refusal(str(rule) if rule else "", exc.code.value, exc.message)
