"""What an executed grant changes: the order, the customer, the ledger, the message, the trail."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from caredesk.domain.agents import Actor
from caredesk.domain.cases import CaseStatus, Message, MessageKind
from caredesk.domain.grants import Approval, Grant, LedgerEntry
from caredesk.domain.ledger import Posting
from caredesk.domain.policy import remedies as ops
from caredesk.services.core import jobs
from caredesk.services.core.changes import publish_change
from caredesk.services.engine.facts import Situation
from caredesk.services.engine.grants.notices import GRANT_NOTICE_JOB
from caredesk.services.engine.grants.preparation import Prepared
from caredesk.services.engine.grants.situation import basis_of
from caredesk.services.engine.unit import EngineUnit


@dataclass(frozen=True, slots=True)
class GrantOutcome:
    grant: Grant
    approval: Approval | None = None
    postings: list[Posting] = field(default_factory=list)
    customer_note: str = ""
    replayed: bool = False


def commit_effects(
    uow: EngineUnit,
    actor: Actor,
    now: datetime,
    grant: Grant,
    prepared: Prepared,
    situation: Situation,
    notice_delay: timedelta | None = None,
) -> GrantOutcome:
    """Write the changes, the ledger, the customer's message and the audit in this unit of work.

    With `notice_delay`, the customer's message waits for the agent's next reply, which
    carries it; a job sends it alone if no reply came within the delay.
    """
    _save_changes(uow, actor, now, grant, prepared.workspace, situation)
    postings = _post_to_ledger(uow, now, grant, prepared)
    note = " ".join(e.customer_note for e in prepared.effects)
    if grant.case_id is not None and situation.case is not None:
        _tell_customer(uow, actor, now, grant, note, notice_delay)
    publish_change(
        uow,
        actor,
        now,
        "grant.executed",
        "grant",
        grant.id,
        case_id=grant.case_id,
        after={
            "remedies": grant.remedy_ids,
            "cost": str(grant.cost),
            "policy_version": grant.policy_version,
            "service_level": grant.service_level,
        },
    )
    return GrantOutcome(grant, None, postings, note)


def _save_changes(
    uow: EngineUnit,
    actor: Actor,
    now: datetime,
    grant: Grant,
    ws: ops.Workspace,
    situation: Situation,
) -> None:
    """The order, the customer and any new orders as the remedies left them."""
    if ws.order is not None and ws.order_changed:
        before = situation.order.status.value if situation.order else None
        uow.orders.save(ws.order)
        publish_change(
            uow,
            actor,
            now,
            "order.changed",
            "order",
            ws.order.id,
            case_id=grant.case_id,
            before={"status": before},
            after={"status": ws.order.status.value, "grant_id": grant.id},
        )
    if ws.customer_changed:
        uow.customers.save(ws.customer)
    for new_order in ws.new_orders:
        uow.orders.add(new_order)
    # The facts this grant leaves behind: the same offer asked on them asks for it again.
    left = basis_of(ws.customer, ws.order)
    if left not in grant.bases:
        grant.bases.append(left)
        uow.grants.save(grant)


def _post_to_ledger(
    uow: EngineUnit, now: datetime, grant: Grant, prepared: Prepared
) -> list[Posting]:
    postings = [p for e in prepared.effects for p in e.postings]
    assert grant.id is not None
    uow.ledger.add(
        [
            LedgerEntry(grant.id, p.account, p.amount, p.memo, now, e.remedy_id)
            for e in prepared.effects
            for p in e.postings
        ]
    )
    return postings


def _tell_customer(
    uow: EngineUnit,
    actor: Actor,
    now: datetime,
    grant: Grant,
    note: str,
    notice_delay: timedelta | None,
) -> None:
    """The grant's message on its case: now, or deferred to the agent's next reply."""
    assert grant.case_id is not None
    case = uow.cases.get(grant.case_id)
    assert case is not None
    if case.status is CaseStatus.CLOSED:
        return
    if notice_delay is not None and note.strip():
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
        return
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
